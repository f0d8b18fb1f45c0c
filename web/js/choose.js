// Choosing files to share: the file inputs, the folder input, drag and drop, and — where the
// browser has the File System Access API — pickers whose handles can be kept (in IndexedDB),
// so that after a reload the sender gets its files back with one click instead of choosing
// them again.
//
// Every chosen File carries `relativePath` ("folder/sub/a.txt" for folders, the name otherwise).
// Files that came with a handle also carry `source`: the handle to keep ({kind, handle}).

/** @typedef {{kind: 'file'|'directory', handle: FileSystemHandle}} Source */

const canPick = () => Boolean(globalThis.isSecureContext && globalThis.showOpenFilePicker);

function withPath(file, path, source) {
  Object.defineProperty(file, 'relativePath', { value: path, configurable: true });
  if (source) Object.defineProperty(file, 'source', { value: source, configurable: true });
  return file;
}

/** Every file under a directory handle, with paths relative to its parent ("dir/…"). */
async function walkDirectory(handle, prefix, source, out) {
  for await (const entry of handle.values()) {
    if (entry.kind === 'file') out.push(withPath(await entry.getFile(), `${prefix}${handle.name}/${entry.name}`, source));
    else await walkDirectory(entry, `${prefix}${handle.name}/`, source, out);
  }
  return out;
}

/** Files from kept sources (after asking for permission again if needed). */
export async function filesFromSources(sources) {
  const out = [];
  for (const source of sources) {
    const handle = source.handle;
    if ((await handle.queryPermission?.({ mode: 'read' })) !== 'granted') {
      if ((await handle.requestPermission?.({ mode: 'read' })) !== 'granted') continue;
    }
    if (source.kind === 'file') out.push(withPath(await handle.getFile(), handle.name, source));
    else await walkDirectory(handle, '', source, out);
  }
  return out;
}

/** The distinct sources behind a list of chosen files (what to keep for a later reload). */
export function sourcesOf(files) {
  const seen = new Set();
  const sources = [];
  for (const file of files) {
    if (file.source && !seen.has(file.source)) {
      seen.add(file.source);
      sources.push(file.source);
    }
  }
  return sources;
}

/** Files from a drop: folders are walked, keeping each file's relative path. */
async function filesFromDrop(dataTransfer) {
  const items = [...dataTransfer.items].filter((item) => item.kind === 'file');
  // Both must be asked for synchronously, while the drop event is being handled.
  const handles = items.map((item) => item.getAsFileSystemHandle?.() ?? null);
  const entries = items.map((item) => item.webkitGetAsEntry?.() ?? null);
  if (canPick() && handles.every(Boolean)) {
    try {
      const resolved = await Promise.all(handles);
      return filesFromSources(resolved.filter(Boolean).map((handle) => ({ kind: handle.kind, handle })));
    } catch {
      // fall back to entries
    }
  }
  if (!entries.some(Boolean)) return [...dataTransfer.files];
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push(withPath(file, prefix + file.name));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) if (entry) await walk(entry, '');
  return out;
}

/**
 * Wire the choosers once; `deliver` gets every non-empty choice.
 * @param {{fileInput: HTMLInputElement, folderInput: HTMLInputElement, dropTarget: HTMLElement,
 *          dropZone: HTMLElement, fileButtons: HTMLElement[], folderButtons: HTMLElement[]}} parts
 * @param {(files: File[]) => void} deliver
 */
export function wireChoosers({ fileInput, folderInput, dropTarget, dropZone, fileButtons, folderButtons }, deliver) {
  const take = (input) => {
    const files = [...(input.files ?? [])].map((file) => withPath(file, file.webkitRelativePath || file.name));
    input.value = '';
    if (files.length) deliver(files);
  };
  fileInput.addEventListener('change', () => take(fileInput));
  folderInput.addEventListener('change', () => take(folderInput));

  const pick = async (kind) => {
    if (!canPick()) {
      (kind === 'file' ? fileInput : folderInput).click();
      return;
    }
    try {
      if (kind === 'file') {
        const handles = await globalThis.showOpenFilePicker({ multiple: true, id: 'p2pshare-send' });
        deliver(await filesFromSources(handles.map((handle) => ({ kind: 'file', handle }))));
      } else {
        const handle = await globalThis.showDirectoryPicker({ id: 'p2pshare-send', mode: 'read' });
        deliver(await filesFromSources([{ kind: 'directory', handle }]));
      }
    } catch (error) {
      if (error?.name !== 'AbortError') (kind === 'file' ? fileInput : folderInput).click();
    }
  };
  for (const button of fileButtons) button.addEventListener('click', () => pick('file'));
  for (const button of folderButtons) button.addEventListener('click', () => pick('directory'));

  dropTarget.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropZone.classList.add('over');
  });
  dropTarget.addEventListener('dragleave', (event) => {
    if (!dropTarget.contains(event.relatedTarget)) dropZone.classList.remove('over');
  });
  dropTarget.addEventListener('drop', async (event) => {
    event.preventDefault();
    dropZone.classList.remove('over');
    const files = await filesFromDrop(event.dataTransfer);
    if (files.length) deliver(files);
  });
}
