// The receiver's disk writer, in a dedicated worker so that writing and hashing never block
// the page. One instance serves all files of a transfer; operations run strictly in order.
//
// Storage: the Origin Private File System through a synchronous access handle (in-place,
// durable writes: a partial file survives a reload and is resumed); where OPFS is missing
// (insecure contexts), an in-memory fallback that collects Blobs (capped by the page).
//
// Every block is checked against the SHA-256 the sender announced before it is written and
// fed to the whole-file hash; a bad block is dropped and reported, nothing else changes.
//
// Why this module is over 300 lines: a worker's whole job (open, resume, blocks in and out of
// order, finish) shares one file table; apart, each half would need the other's.
//
// Requests (postMessage {op, id, seq, ...}) and replies ({op, id, seq, ...}); `seq` numbers
// the page's opens of a file, so that replies to an open it has since replaced are dropped:
//   open     {id, dir, name, size, mode: 'opfs'|'memory', from, state, chain}
//            -> opened {id, from, chain}      from: verified bytes kept (may be less than asked)
//   block    {id, index, len, expected}       announce a block (at or past `from`)
//   write    {id, index, bytes}               bytes of that announced block, in order
//            -> verified {id, index, durable, from, state, chain}   or  bad-block {id, index}
//
// Blocks may come out of order (a receiver with lanes: several announced at once, each one
// whole). One past `from` is verified and written in place at once, and its hash kept; the
// whole-file hash and the chain take blocks in order, so when the gap before it fills, it is
// read back from disk (OPFS: one extra read, no memory held) or taken from memory (the
// in-memory fallback keeps it until then). `from`, what a resume keeps, only ever covers
// blocks in order: a reload loses at most the blocks ahead of it.
//   drop     {id, index}                      forget what came of an announced block (it comes again)
//   finish   {id, expected} -> finished {id, ok, sha256, blob?}
//   close    {id, remove}   -> closed {id}
//   any      -> error {id, kind: 'disk-full'|'write-error'|'state', message}

import { createFileHasher, digest } from './hashing.js';
import { AHEAD_BLOCKS, BLOCK_SIZE, CHAIN_START, MAX_LANES, chainNext } from './wire.js';
import { fromHex, toHex } from './util.js';

const FLUSH_EVERY_BLOCKS = 1; // every verified block is durable: a reload loses at most the window in flight
const MEMORY_PART_BYTES = 16 << 20;
/** Blocks past `from` a file may have filling or verified at once (the page's window, and a
 * block per lane in progress): more is a bug or a hostile page, refused. */
const MAX_AHEAD_BLOCKS = AHEAD_BLOCKS + MAX_LANES;

/** @type {Map<number, any>} */
const files = new Map();
let queue = Promise.resolve();

/** The `seq` of the request being handled (requests run one at a time), echoed in replies. */
let currentSeq = 0;

/** Every reply carries the `seq` of the open it belongs to: the page drops a closed one's. */
function reply(message) {
  self.postMessage({ ...message, seq: currentSeq });
}

self.onmessage = (event) => {
  const request = event.data;
  queue = queue
    .then(() => {
      currentSeq = request.seq ?? 0;
      return handle(request);
    })
    .catch((error) => {
      const kind = error?.name === 'QuotaExceededError' ? 'disk-full' : error?.kind ?? 'write-error';
      reply({ op: 'error', id: request.id, kind, message: String(error?.message ?? error) });
    });
};

async function handle(request) {
  switch (request.op) {
    case 'open':
      return open(request);
    case 'block':
      return announce(request);
    case 'write':
      return write(request);
    case 'drop':
      return drop(request);
    case 'finish':
      return finish(request);
    case 'close':
      return close(request);
    default:
      throw Object.assign(new Error(`unknown op ${request.op}`), { kind: 'state' });
  }
}

async function openHandle(dirPath, name) {
  let dir = await navigator.storage.getDirectory();
  for (const part of dirPath) dir = await dir.getDirectoryHandle(part, { create: true });
  const fileHandle = await dir.getFileHandle(name, { create: true });
  // A reloaded page may still hold the lock for a moment: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      return await fileHandle.createSyncAccessHandle();
    } catch (error) {
      if (attempt >= 20 || error?.name !== 'NoModificationAllowedError') throw error;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

async function open({ id, dir, name, size, mode, from = 0, state = null, chain = null }) {
  const file = {
    size,
    mode,
    handle: null,
    parts: [],
    pending: [],
    pendingBytes: 0,
    from: 0,
    hasher: null,
    chain: chain ? fromHex(chain) : CHAIN_START,
    /** @type {Map<number, {index: number, len: number, expected: string, buffer: Uint8Array, filled: number}>} announced, filling */
    blocks: new Map(),
    /** @type {Map<number, {hash: Uint8Array, buffer: Uint8Array|null}>} verified blocks past `from` */
    ahead: new Map(),
    /** @type {Uint8Array[]} block buffers to reuse (OPFS mode) */
    free: [],
    blocksSinceFlush: 0,
  };
  if (mode === 'opfs') {
    file.handle = await openHandle(dir, name);
    // Trust only whole blocks that were verified and persisted, and that are on disk.
    const keep = Math.floor(Math.min(from, file.handle.getSize()) / BLOCK_SIZE) * BLOCK_SIZE;
    let resumed = false;
    if (keep > 0 && keep === from && state && chain) {
      try {
        file.hasher = await createFileHasher(state);
        resumed = true;
      } catch {
        // saved by another hash-wasm build: re-hash below
      }
    }
    if (keep > 0 && !resumed) resumed = await rehashPrefix(file, keep);
    if (resumed) {
      file.from = keep;
    } else {
      file.hasher = await createFileHasher();
      file.chain = CHAIN_START;
      file.from = 0;
    }
    file.handle.truncate(file.from);
    file.handle.flush();
  } else {
    file.hasher = await createFileHasher();
    file.chain = CHAIN_START;
  }
  files.set(id, file);
  reply({ op: 'opened', id, from: file.from, chain: toHex(file.chain), state: file.hasher.save() });
}

/** Rebuild the whole-file hash and the block chain from the first `keep` bytes on disk. */
async function rehashPrefix(file, keep) {
  file.hasher = await createFileHasher();
  file.chain = CHAIN_START;
  const buffer = new Uint8Array(BLOCK_SIZE);
  for (let offset = 0; offset < keep; offset += BLOCK_SIZE) {
    if (file.handle.read(buffer, { at: offset }) !== BLOCK_SIZE) return false;
    file.hasher.update(buffer);
    file.chain = await chainNext(file.chain, await digest(buffer), digest);
  }
  return true;
}

function fileOf(id) {
  const file = files.get(id);
  if (!file) throw Object.assign(new Error(`file ${id} is not open`), { kind: 'state' });
  return file;
}

function announce({ id, index, len, expected }) {
  const file = fileOf(id);
  if (index * BLOCK_SIZE < file.from) {
    // A copy of a block verified already (the page had not seen that reply yet): its bytes
    // are counted, not kept, and it is reported verified again (the sender waits for an ack).
    file.blocks.set(index, { index, len, expected, buffer: null, filled: 0 });
    return;
  }
  // A copy of one announced before (its channel died mid-block, or the page resynced and
  // the sender sends it again): this one replaces it.
  for (const [other, block] of file.blocks) {
    if (!block.buffer || (other !== index && other * BLOCK_SIZE >= file.from)) continue;
    file.blocks.delete(other);
    release(file, block.buffer);
  }
  file.ahead.delete(index);
  if (file.blocks.size + file.ahead.size >= MAX_AHEAD_BLOCKS) {
    throw Object.assign(new Error(`over ${MAX_AHEAD_BLOCKS} blocks past offset ${file.from}`), { kind: 'state' });
  }
  // OPFS mode copies each block out once verified: its buffer serves the next one. The
  // memory fallback keeps its blocks.
  const buffer = file.mode === 'opfs' ? (file.free.pop() ?? new Uint8Array(BLOCK_SIZE)).subarray(0, len) : new Uint8Array(len);
  file.blocks.set(index, { index, len, expected, buffer, filled: 0 });
}

function drop({ id, index }) {
  const file = files.get(id);
  const block = file?.blocks.get(index);
  if (!block) return;
  file.blocks.delete(index);
  if (block.buffer) release(file, block.buffer);
}

function release(file, buffer) {
  if (file.mode === 'opfs') file.free.push(new Uint8Array(buffer.buffer));
}

async function write({ id, index, bytes }) {
  const file = fileOf(id);
  const block = file.blocks.get(index);
  const data = new Uint8Array(bytes);
  if (!block || block.filled + data.length > block.len) {
    throw Object.assign(new Error('bytes outside an announced block'), { kind: 'state' });
  }
  block.buffer?.set(data, block.filled);
  block.filled += data.length;
  if (block.filled < block.len) return;
  file.blocks.delete(index);
  if (!block.buffer) {
    reply({ op: 'verified', id, index, durable: false, from: file.from, state: file.hasher.save(), chain: toHex(file.chain) });
    return;
  }
  const hash = await digest(block.buffer);
  if (toHex(hash) !== block.expected) {
    release(file, block.buffer);
    reply({ op: 'bad-block', id, index });
    return;
  }
  const offset = index * BLOCK_SIZE;
  if (file.mode === 'opfs') {
    const written = file.handle.write(block.buffer, { at: offset });
    if (written !== block.len) {
      throw Object.assign(new Error('the disk is full'), { kind: 'disk-full' });
    }
  }
  const before = file.from;
  if (offset === file.from) {
    await takeInOrder(file, block.buffer, hash);
    release(file, block.buffer);
    await takeAhead(file);
  } else {
    file.ahead.set(index, { hash, buffer: file.mode === 'opfs' ? null : block.buffer });
    if (file.mode === 'opfs') release(file, block.buffer);
  }
  let durable = false;
  if (file.from > before) file.blocksSinceFlush++;
  if (file.mode === 'opfs' && file.blocksSinceFlush >= FLUSH_EVERY_BLOCKS) {
    file.handle.flush();
    file.blocksSinceFlush = 0;
    durable = true;
  }
  reply({
    op: 'verified',
    id,
    index,
    durable,
    from: file.from,
    state: file.hasher.save(),
    chain: toHex(file.chain),
  });
}

/** The block at `from` (verified, written): into the whole-file hash and the chain. */
async function takeInOrder(file, buffer, hash) {
  if (file.mode !== 'opfs') {
    file.pending.push(buffer);
    file.pendingBytes += buffer.length;
    if (file.pendingBytes >= MEMORY_PART_BYTES) flushMemory(file);
  }
  file.hasher.update(buffer);
  file.chain = await chainNext(file.chain, hash, digest);
  file.from += buffer.length;
}

/** Blocks that came ahead and are next now: read back (OPFS) or from memory, in order. */
async function takeAhead(file) {
  for (let next = file.ahead.get(file.from / BLOCK_SIZE); next; next = file.ahead.get(file.from / BLOCK_SIZE)) {
    file.ahead.delete(file.from / BLOCK_SIZE);
    let buffer = next.buffer;
    if (!buffer) {
      const len = Math.min(BLOCK_SIZE, file.size - file.from);
      buffer = (file.free.pop() ?? new Uint8Array(BLOCK_SIZE)).subarray(0, len);
      if (file.handle.read(buffer, { at: file.from }) !== len) {
        throw Object.assign(new Error(`block at ${file.from} could not be read back`), { kind: 'write-error' });
      }
    }
    await takeInOrder(file, buffer, next.hash);
    if (!next.buffer) release(file, buffer);
  }
}

function flushMemory(file) {
  if (file.pending.length) file.parts.push(new Blob(file.pending));
  file.pending = [];
  file.pendingBytes = 0;
}

async function finish({ id, expected }) {
  const file = fileOf(id);
  if (file.from !== file.size) {
    throw Object.assign(new Error(`finish at ${file.from} of ${file.size} bytes`), { kind: 'state' });
  }
  const sha256 = file.hasher.digestHex();
  const ok = sha256 === expected;
  let blob;
  if (file.mode === 'opfs') {
    file.handle.flush();
    file.handle.close();
    file.handle = null;
  } else {
    flushMemory(file);
    blob = ok ? new Blob(file.parts) : undefined;
    file.parts = [];
  }
  files.delete(id);
  reply({ op: 'finished', id, ok, sha256, blob });
}

async function close({ id, remove = false, dir = [], name = '' }) {
  const file = files.get(id);
  if (file?.handle) file.handle.close();
  files.delete(id);
  if (remove && name) {
    try {
      let handle = await navigator.storage.getDirectory();
      for (const part of dir) handle = await handle.getDirectoryHandle(part);
      await handle.removeEntry(name);
    } catch {
      // already gone
    }
  }
  reply({ op: 'closed', id });
}
