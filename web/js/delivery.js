// Handing verified files to the person: into the folder they picked (relative paths kept), or
// to the browser's downloads; again on request ("Save"); or all at once as one ZIP. A text
// item is shown instead (text-view.js): its bytes are read back and decoded, never saved.
//
// Only verified files come here (ReceiverController calls it after the whole-file check).
// Bytes stay on disk: a file is a disk-backed Blob from OPFS (or the in-memory fallback's
// Blob), and the ZIP is assembled from those Blobs without reading them into memory.

import { LocalizedError, errorMessage, msg } from './i18n.js';
import { downloadBlob, opfsFile, saveToFolder } from './sink.js';
import { decodeText, isTextItem } from './text-items.js';

/**
 * @typedef {object} DeliveryTarget
 * @property {FileSystemDirectoryHandle|null} folder  picked folder, or null for downloads
 * @property {string} folderName
 * @property {string[]} dir   the room's OPFS directory
 * @property {(name: string) => void} removeStored  drop a file's OPFS copy (after a folder save)
 */

/** The last part of a relative path: what a download is called. */
export const downloadName = (path) => path.split('/').pop();

/** A verified file's bytes: the in-memory Blob, or disk-backed from OPFS. */
export async function fileBlob(file, dir) {
  return file.blob ?? (await opfsFile(dir, file.name));
}

/**
 * Hand `file` over once: into the folder (then its OPFS copy goes), or to the downloads.
 * Throws (with a message for people) when the folder can no longer be written.
 * @param {any} file an IncomingFile @param {DeliveryTarget} target
 */
export async function deliverFile(file, { folder, folderName, dir, removeStored }) {
  if (file.delivered) return;
  if (isTextItem(file.info)) {
    await readText(file, dir); // shown on the page: its copy stays where it is, for a reload
    file.delivered = true;
    return;
  }
  const source = await fileBlob(file, dir);
  if (folder) {
    if ((await folder.queryPermission?.({ mode: 'readwrite' })) !== 'granted') {
      throw new LocalizedError(msg('receive.fileError.noPermission', { folder: folderName }), `no permission to write into ${folderName}`);
    }
    await saveToFolder(folder, file.info.path, source);
    removeStored(file.name);
    file.savedToFolder = true;
  } else {
    downloadBlob(source, downloadName(file.info.path));
  }
  file.delivered = true;
}

/**
 * A verified text item's text, read back from OPFS (or the in-memory fallback's Blob) and
 * decoded as strict UTF-8 into `file.shown`: {text, bidi} or {error}. At most MAX_TEXT_BYTES.
 */
export async function readText(file, dir) {
  try {
    file.shown = decodeText(await (await fileBlob(file, dir)).arrayBuffer());
  } catch (error) {
    file.shown = { error: msg('text.unreadable', { error: errorMessage(error) }) };
  }
  return file.shown;
}

/** Verified files that are files, not texts: what Save, a folder and the ZIP take. */
export const savedFiles = (files) => files.filter((f) => !isTextItem(f.info));

/** The ZIP's name: the one top folder all paths share ("album.zip"), or a generic one. */
export function zipName(paths) {
  const top = new Set(paths.map((p) => p.split('/')[0]));
  return top.size === 1 && paths[0].includes('/') ? `${[...top][0]}.zip` : 'p2pshare-files.zip';
}

/**
 * Every file of `files` (verified ones) in one stored ZIP, folders kept, to the downloads.
 * Nothing is read into memory but the CRC-32 pass; `onProgress(fraction)` reports it.
 */
export async function saveZip(files, dir, onProgress = () => {}) {
  const { crc32OfBlob, zipParts } = await import('./zip.js');
  const total = files.reduce((n, f) => n + f.info.size, 0) || 1;
  let done = 0;
  const entries = [];
  for (const file of files) {
    const data = await fileBlob(file, dir);
    const crc = await crc32OfBlob(data, (n) => onProgress((done + n) / total));
    done += file.info.size;
    entries.push({ path: file.info.path, data, crc, mtime: file.info.mtime });
  }
  const name = zipName(files.map((f) => f.info.path));
  downloadBlob(new Blob(zipParts(entries), { type: 'application/zip' }), name);
}
