// The sender's files: what it offers (the manifest and its id), the digests every receiver's
// send loop reads from, and, after a reload of its page, the files still to be added again.

import { FileDigest } from './file-digest.js';
import { digest } from './hashing.js';
import { isTextFile } from './text-items.js';
import { portablePath } from './transfer/paths.js';
import { toHex } from './util.js';
import { BLOCK_SIZE, fileKey } from './wire.js';

/**
 * @typedef {import('./wire.js').FileInfo} FileInfo
 * @typedef {{info: FileInfo, file: File|null}} SharedFile  file is null until re-added after a reload
 */

export class SharedFiles {
  /** @param {SharedFile[]} files */
  constructor(files) {
    this.files = files;
    this.digests = files.map((shared) => new FileDigest(shared));
    /** each file's size, by index: read for every block and ack, so kept, not recomputed */
    this.sizesBytes = files.map((s) => s.info.size);
    this.manifestId = '';
  }

  get totalBytes() {
    return this.files.reduce((n, s) => n + s.info.size, 0);
  }

  /** Files still missing after a reload (to be added again by the user). */
  get missingFiles() {
    return this.files.filter((s) => !s.file);
  }

  /** The manifest id: SHA-256 over the file keys, so receivers can tell a changed offer. */
  async init() {
    const keys = this.files.map((s) => fileKey(s.info)).join('\n');
    this.manifestId = toHex(await digest(new TextEncoder().encode(keys))).slice(0, 32);
    return this;
  }

  /** Offer more files (at the end: the files offered keep their places). Returns how many. */
  async add(list) {
    const known = new Set(this.files.map((s) => fileKey(s.info)));
    const added = list.map((file) => ({ info: fileInfo(file), file })).filter((s) => !known.has(fileKey(s.info)));
    if (!added.length) return 0;
    this.files.push(...added);
    this.digests.push(...added.map((shared) => new FileDigest(shared)));
    this.sizesBytes.push(...added.map((s) => s.info.size));
    await this.init();
    return added.length;
  }

  /** Re-attach File objects after a reload, matched by relative path, size and mtime. */
  reattach(candidates) {
    let matched = 0;
    for (const shared of this.files) {
      if (shared.file) continue;
      const found = candidates.find(
        (f) =>
          (relativePath(f) === shared.info.path || portablePath(relativePath(f)) === shared.info.path) &&
          f.size === shared.info.size &&
          f.lastModified === shared.info.mtime,
      );
      if (found) {
        shared.file = found;
        matched++;
      }
    }
    return matched;
  }

  /** The `manifest` control message. */
  manifest() {
    return {
      t: 'manifest',
      id: this.manifestId,
      blockSize: BLOCK_SIZE,
      missing: this.missingFiles.length,
      files: this.files.map((s) => s.info),
    };
  }
}

/** The path a File was chosen under: its folder-relative path, or just its name. */
export function relativePath(file) {
  return file.relativePath || file.webkitRelativePath || file.name;
}

/** @param {File} file @returns {FileInfo} a text item's (text-items.js) says `text: true` */
export function fileInfo(file) {
  const info = { path: relativePath(file), size: file.size, mtime: file.lastModified, type: file.type || '' };
  return isTextFile(file) ? { ...info, text: true } : info;
}
