// SHA-256 for file integrity: incremental whole-file hashing whose state can be saved and
// restored (so an interrupted download resumes without re-reading what it has), and fast
// one-shot block digests.
//
// Incremental hashing uses the vendored hash-wasm (WebAssembly, ~280 MB/s here); if
// WebAssembly is unavailable it falls back to noble's pure-JS SHA-256 (~70 MB/s), whose
// state cannot be saved (a resume then re-hashes the kept prefix from disk). Block digests
// use crypto.subtle where the page is a secure context (~1 GB/s), else hash-wasm.

import { createSHA256 } from '../vendor/hash-wasm/sha256.mjs';
import { sha256 as nobleSha256 } from '../vendor/noble-hashes/sha2.js';
import { toHex } from './util.js';

/**
 * @typedef {object} FileHasher
 * @property {(bytes: Uint8Array) => void} update
 * @property {() => Uint8Array|null} save   the state to persist, or null if unsupported
 * @property {() => string} digestHex       finishes the hash
 */

let wasmUsable = typeof WebAssembly === 'object';

/**
 * A new incremental SHA-256, resumed from `state` (from `save()`) when given.
 * @param {Uint8Array|null} [state]
 * @returns {Promise<FileHasher>}
 * @throws {Error} if `state` cannot be loaded (another hash-wasm build): start over then
 */
export async function createFileHasher(state = null) {
  if (wasmUsable) {
    try {
      const h = await createSHA256();
      if (state) h.load(state);
      return {
        update: (bytes) => void h.update(bytes),
        save: () => h.save(),
        digestHex: () => h.digest('hex'),
      };
    } catch (error) {
      if (state) throw error;
      wasmUsable = false; // e.g. CSP without 'wasm-unsafe-eval', or a jitless browser
    }
  }
  if (state) throw new Error('saved hash state needs WebAssembly');
  const h = nobleSha256.create();
  return {
    update: (bytes) => void h.update(bytes),
    save: () => null,
    digestHex: () => toHex(h.digest()),
  };
}

/** One-shot SHA-256 of `bytes` (a block): Uint8Array(32). */
export async function digest(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes));
  if (wasmUsable) {
    const h = await createFileHasher();
    h.update(bytes);
    const hex = h.digestHex();
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  return nobleSha256(bytes);
}

/** SHA-256 of the empty string, hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
