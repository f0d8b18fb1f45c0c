// Where received files go: the page side of the disk writer (sink-worker.js), and the hand-off
// of finished files to the user (a folder they picked, or the browser's downloads).

export const MEMORY_CAP_BYTES = 2 * 1000 ** 3; // in-memory fallback limit (insecure contexts)

/** What this browser, on this page, can do for storage. */
export function storageCapabilities() {
  return {
    opfs: Boolean(globalThis.isSecureContext && navigator.storage?.getDirectory),
    pickFolder: typeof globalThis.showDirectoryPicker === 'function',
  };
}

/**
 * The worker that writes and verifies incoming blocks. Requests are fire-and-forget in
 * order; replies come back as events (`verified`, `bad-block`, `opened`, `finished`, `error`,
 * `closed`) with the reply as `detail`.
 */
export class SinkClient extends EventTarget {
  constructor() {
    super();
    this.worker = new Worker(new URL('./sink-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = (event) => {
      this.dispatchEvent(new CustomEvent(event.data.op, { detail: event.data }));
    };
    this.worker.onerror = (event) => {
      this.dispatchEvent(new CustomEvent('error', { detail: { id: -1, kind: 'worker', message: event.message } }));
    };
  }

  /** @param {object} request @param {Transferable[]} [transfer] */
  post(request, transfer = []) {
    this.worker.postMessage(request, transfer);
  }

  /** Wait for the reply `op` for file `id`. */
  reply(op, id) {
    return new Promise((resolve, reject) => {
      const onReply = (event) => {
        if (event.detail.id !== id) return;
        cleanup();
        resolve(event.detail);
      };
      const onError = (event) => {
        if (event.detail.id !== id && event.detail.id !== -1) return;
        cleanup();
        reject(Object.assign(new Error(event.detail.message), { kind: event.detail.kind }));
      };
      const cleanup = () => {
        this.removeEventListener(op, onReply);
        this.removeEventListener('error', onError);
      };
      this.addEventListener(op, onReply);
      this.addEventListener('error', onError);
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

/** The OPFS file behind a finished download (disk-backed, never read into memory). */
export async function opfsFile(dir, name) {
  let handle = await navigator.storage.getDirectory();
  for (const part of dir) handle = await handle.getDirectoryHandle(part);
  return (await handle.getFileHandle(name)).getFile();
}

/** Remove a directory of OPFS (a finished or abandoned room). */
export async function removeOpfsDir(dir) {
  if (!storageCapabilities().opfs || !dir.length) return;
  try {
    let parent = await navigator.storage.getDirectory();
    for (const part of dir.slice(0, -1)) parent = await parent.getDirectoryHandle(part);
    await parent.removeEntry(dir[dir.length - 1], { recursive: true });
  } catch {
    // not there
  }
}

/** Names of the room directories kept in OPFS under `root`. */
export async function listOpfsRooms(root) {
  if (!storageCapabilities().opfs) return [];
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(root);
    const names = [];
    for await (const [name, handle] of dir.entries()) if (handle.kind === 'directory') names.push(name);
    return names;
  } catch {
    return [];
  }
}

/**
 * Hand a finished file to the browser's downloads under its own base name.
 * @param {Blob} blob a disk-backed File from OPFS, or an in-memory Blob
 */
export function downloadBlob(blob, name) {
  downloads = downloads.then(() => startDownload(blob, name)).then(() => new Promise((r) => setTimeout(r, DOWNLOAD_GAP_MS)));
  return downloads;
}

// Chromium drops automatic downloads that come in a burst (more than about ten at once), so a
// folder of many small files is handed over one download at a time, a little apart.
const DOWNLOAD_GAP_MS = 250;
let downloads = Promise.resolve();

function startDownload(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL; keep it a while for slow starts, then free it.
  setTimeout(() => URL.revokeObjectURL(url), 120_000);
}

/**
 * Copy a finished file into the folder the receiver picked, under its relative path,
 * without overwriting anything already there ("name (1).ext").
 * @param {FileSystemDirectoryHandle} root @param {string} path @param {Blob} blob
 * @returns {Promise<string>} the path written
 */
export async function saveToFolder(root, path, blob) {
  const parts = path.split('/');
  const base = parts.pop();
  let dir = root;
  for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
  const name = await freeName(dir, base);
  const handle = await dir.getFileHandle(name, { create: true });
  const writable = await handle.createWritable();
  await blob.stream().pipeTo(writable);
  return [...parts, name].join('/');
}

async function freeName(dir, base) {
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const ext = dot > 0 ? base.slice(dot) : '';
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? base : `${stem} (${n})${ext}`;
    try {
      await dir.getFileHandle(candidate);
    } catch (error) {
      if (error?.name === 'NotFoundError') return candidate;
      throw error;
    }
  }
  throw new Error(`no free name for ${base}`);
}
