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
// Requests (postMessage {op, id, seq, ...}) and replies ({op, id, seq, ...}); `seq` numbers
// the page's opens of a file, so that replies to an open it has since replaced are dropped:
//   open     {id, dir, name, size, mode: 'opfs'|'memory', from, state, chain}
//            -> opened {id, from, chain}      from: verified bytes kept (may be less than asked)
//   block    {id, index, len, expected}       announce the next block
//   write    {id, bytes}                      bytes of the announced block, in order
//            -> verified {id, index, durable, from, state, chain}   or  bad-block {id, index}
//   finish   {id, expected} -> finished {id, ok, sha256, blob?}
//   close    {id, remove}   -> closed {id}
//   any      -> error {id, kind: 'disk-full'|'write-error'|'state', message}

import { createFileHasher, digest } from './hashing.js';
import { BLOCK_SIZE, CHAIN_START, chainNext } from './wire.js';
import { fromHex, toHex } from './util.js';

const FLUSH_EVERY_BLOCKS = 1; // every verified block is durable: a reload loses at most the window in flight
const MEMORY_PART_BYTES = 16 << 20;

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
    block: null,
    /** @type {Uint8Array|null} the block buffer, reused (OPFS mode) */
    scratch: null,
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
  if (index * BLOCK_SIZE !== file.from) {
    throw Object.assign(new Error(`block ${index} announced at offset ${file.from}`), { kind: 'state' });
  }
  // OPFS mode copies each block out before the next is announced (requests run in order):
  // one buffer per file serves every block. The memory fallback keeps its blocks.
  let buffer;
  if (file.mode === 'opfs') {
    file.scratch ??= new Uint8Array(BLOCK_SIZE);
    buffer = file.scratch.subarray(0, len);
  } else {
    buffer = new Uint8Array(len);
  }
  file.block = { index, len, expected, buffer, filled: 0 };
}

async function write({ id, bytes }) {
  const file = fileOf(id);
  const block = file.block;
  const data = new Uint8Array(bytes);
  if (!block || block.filled + data.length > block.len) {
    throw Object.assign(new Error('bytes outside an announced block'), { kind: 'state' });
  }
  block.buffer.set(data, block.filled);
  block.filled += data.length;
  if (block.filled < block.len) return;
  file.block = null;
  const actual = toHex(await digest(block.buffer));
  if (actual !== block.expected) {
    reply({ op: 'bad-block', id, index: block.index });
    return;
  }
  const offset = block.index * BLOCK_SIZE;
  if (file.mode === 'opfs') {
    const written = file.handle.write(block.buffer, { at: offset });
    if (written !== block.len) {
      throw Object.assign(new Error('the disk is full'), { kind: 'disk-full' });
    }
  } else {
    file.pending.push(block.buffer);
    file.pendingBytes += block.len;
    if (file.pendingBytes >= MEMORY_PART_BYTES) flushMemory(file);
  }
  file.hasher.update(block.buffer);
  file.chain = await chainNext(file.chain, fromHex(block.expected), digest);
  file.from = offset + block.len;
  file.blocksSinceFlush++;
  let durable = false;
  if (file.mode === 'opfs' && file.blocksSinceFlush >= FLUSH_EVERY_BLOCKS) {
    file.handle.flush();
    file.blocksSinceFlush = 0;
    durable = true;
  }
  reply({
    op: 'verified',
    id,
    index: block.index,
    durable,
    from: file.from,
    state: file.hasher.save(),
    chain: toHex(file.chain),
  });
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
