// What the sender reads from one shared file: its blocks, their SHA-256 (computed once for
// every receiver), the whole-file SHA-256 fed in block order, and the block chain a resuming
// receiver's claim is checked against. Reads of one block by several send loops are shared.

import { createFileHasher, digest, EMPTY_SHA256 } from './hashing.js';
import { toHex } from './util.js';
import { BLOCK_SIZE, CHAIN_START, blockLength, chainNext } from './wire.js';

/**
 * @typedef {import('./wire.js').FileInfo} FileInfo
 * @typedef {{info: FileInfo, file: File|null}} SharedFile  file is null until re-added after a reload
 */

/** Block hashes and the whole-file SHA-256 of one shared file, computed once for everyone. */
export class FileDigest {
  /** @param {SharedFile} shared */
  constructor(shared) {
    this.shared = shared;
    /** @type {(Uint8Array|undefined)[]} */
    this.blocks = [];
    /** @type {Promise<import('./hashing.js').FileHasher>|null} one hasher, however many loops feed it */
    this.hasher = null;
    this.hashedUpTo = 0;
    /** @type {string|null} */
    this.sha256 = shared.info.size === 0 ? EMPTY_SHA256 : null;
    this.finishing = null;
  }

  /** Block `index`'s bytes; concurrent reads of one block (several loops) share one. */
  read(index) {
    this.reading ??= new Map();
    let pending = this.reading.get(index);
    if (!pending) {
      pending = this.readNow(index).finally(() => this.reading.delete(index));
      this.reading.set(index, pending);
    }
    return pending;
  }

  async readNow(index) {
    const { file, info } = this.shared;
    if (!file) throw new Error(`${info.path} has not been added again`);
    const start = index * BLOCK_SIZE;
    const buffer = await file.slice(start, start + blockLength(info.size, index)).arrayBuffer();
    const bytes = new Uint8Array(buffer);
    if (bytes.length !== blockLength(info.size, index)) {
      throw new Error(`${info.path} changed on disk while being sent`);
    }
    return bytes;
  }

  /** @param {number} index @param {Uint8Array} [bytes] the block, if already read */
  async blockHash(index, bytes) {
    let hash = this.blocks[index];
    if (!hash) {
      hash = await digest(bytes ?? (await this.read(index)));
      this.blocks[index] = hash;
    }
    return hash;
  }

  /** Feed block `index` to the whole-file hash if it is the next one in order. */
  async feed(index, bytes) {
    if (this.sha256 || index * BLOCK_SIZE !== this.hashedUpTo) return;
    // The promise, not the hasher, is shared: two loops starting at once must not each make one.
    this.hasher ??= createFileHasher();
    const hasher = await this.hasher;
    if (this.sha256 || index * BLOCK_SIZE !== this.hashedUpTo) return; // another loop fed it meanwhile
    hasher.update(bytes);
    this.hashedUpTo += bytes.length;
    if (this.hashedUpTo === this.shared.info.size) this.sha256 = hasher.digestHex();
  }

  /** The whole-file SHA-256, reading whatever no send loop has hashed yet. */
  async finalHash() {
    if (this.sha256) return this.sha256;
    this.finishing ??= (async () => {
      while (!this.sha256) {
        const index = this.hashedUpTo / BLOCK_SIZE;
        const bytes = await this.read(index);
        await this.blockHash(index, bytes);
        await this.feed(index, bytes);
      }
      return this.sha256;
    })().finally(() => {
      this.finishing = null;
    });
    return this.finishing;
  }

  /** The block chain after the first `count` blocks (see wire.js chainNext). */
  async chainAt(count) {
    let chain = CHAIN_START;
    for (let i = 0; i < count; i++) chain = await chainNext(chain, await this.blockHash(i), digest);
    return toHex(chain);
  }
}

/**
 * Start reading block `index` of a file, hashing it and feeding the whole-file hash, in the
 * background. A failure surfaces when `ready` is awaited (never, if the loop moved on).
 * @param {FileDigest} fd @param {number} f @param {number} index
 */
export function prepareBlock(fd, f, index) {
  const ready = (async () => {
    const bytes = await fd.read(index);
    const hash = await fd.blockHash(index, bytes);
    await fd.feed(index, bytes);
    return { bytes, hash };
  })();
  ready.catch(() => {});
  return { f, index, ready };
}
