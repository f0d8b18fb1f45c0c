// The transfer protocol on the data channel (layer 3 in docs/protocol.md). Pure.
//
// One ordered, reliable data channel per sender-receiver pair. Control messages are JSON
// text frames with a `t` field; file bytes are binary frames that follow a `block` header.
// Files are cut into fixed-size blocks; each block's SHA-256 travels in its header, so the
// receiver verifies every block as it lands and can resume from the last verified one.

import { ProtocolError, parseSealedBody } from './protocol.js';
import { MAX_FILES, PathError, checkOfferPaths, pathProblem } from './transfer/paths.js';

export const PROTOCOL = 'p2pshare-transfer/1';
/** Bytes per block: the unit of hashing, acknowledgement and resume. */
export const BLOCK_SIZE = 1 << 20;
/** Bytes per binary frame (under Chromium's 256 KiB message limit, with room to spare). */
export const CHUNK_SIZE = 128 << 10;
/** Unacknowledged blocks a sender may have in flight to one receiver (flow control). */
export const WINDOW_BLOCKS = 4;
/**
 * Peer connections ("lanes") one receiver takes from the sender, the first one included: on
 * a long link each has its own congestion window (docs/protocol.md: Lanes).
 */
export const MAX_LANES = 6;
/**
 * How far past its verified prefix a receiver that takes lanes accepts blocks (they arrive
 * out of order across lanes); the sender never sends further ahead of its lowest
 * unacknowledged block. It bounds what the receiver holds out of order.
 */
export const AHEAD_BLOCKS = WINDOW_BLOCKS * MAX_LANES;
/**
 * Bytes of one text item (a manifest entry with `text: true`): one block, so a text is hashed,
 * acknowledged and verified in one piece, and small enough to be shown whole.
 */
export const MAX_TEXT_BYTES = BLOCK_SIZE;
/** Text items in one manifest: each is shown inline on the receiving page. */
export const MAX_TEXT_ITEMS = 16;
/** What a lane's `s` may carry: its negotiation, as in sealed signaling. */
const LANE_KINDS = ['offer', 'answer', 'cand'];
export { MAX_FILES };

export class WireError extends Error {
  /** @param {string} message @param {string} [frameType] the `t` of the refused frame, if known */
  constructor(message, frameType = '') {
    super(message);
    this.name = 'WireError';
    this.frameType = frameType;
  }
}

/**
 * @typedef {object} FileInfo
 * @property {string} path   relative path with '/' separators ("folder/a.txt")
 * @property {number} size   bytes
 * @property {number} mtime  last modified, ms since 1970
 * @property {string} type   MIME type as the sender's browser reported it ('' if unknown)
 * @property {true} [text]   a text item (UTF-8, at most MAX_TEXT_BYTES), shown, not saved
 */

const isInt = (v, min = 0, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;
const isHex = (v, n) => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v);

/** Is `path` a safe relative path on every receiver's system (transfer/paths.js says why not)? */
export function isSafePath(path) {
  return pathProblem(path) === null;
}

/** Number of blocks of a file of `size` bytes (0 for an empty file). */
export function blockCount(size) {
  return Math.ceil(size / BLOCK_SIZE);
}

/** Length of block `index` of a file of `size` bytes. */
export function blockLength(size, index) {
  return Math.max(0, Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE));
}

/** The key that identifies a file across reloads: path, size and mtime. */
export function fileKey(info) {
  return `${info.path}\u0000${info.size}\u0000${info.mtime}`;
}

const VALIDATORS = {
  // sender -> receiver
  manifest: (m) =>
    typeof m.id === 'string' &&
    m.id.length <= 64 &&
    m.blockSize === BLOCK_SIZE &&
    Array.isArray(m.files) &&
    m.files.length <= MAX_FILES &&
    m.files.every(
      (f) =>
        f &&
        typeof f.path === 'string' &&
        isInt(f.size) &&
        isInt(f.mtime) &&
        typeof f.type === 'string' &&
        f.type.length < 256 &&
        (f.text === undefined || f.text === true),
    ) &&
    checkOfferPaths(m.files) === undefined && // throws PathError, with the reason
    checkTextItems(m.files) === undefined, // throws WireError, with the reason
  start: (m) => isInt(m.f) && isInt(m.from),
  block: (m) => isInt(m.f) && isInt(m.i) && isInt(m.len, 1, BLOCK_SIZE) && isHex(m.h, 64),
  eof: (m) => isInt(m.f) && isHex(m.sha256, 64),
  cancel: (m) => typeof (m.reason ?? '') === 'string',
  // receiver -> sender
  want: (m) =>
    Array.isArray(m.files) &&
    m.files.length <= MAX_FILES &&
    m.files.every((w) => w && isInt(w.f) && isInt(w.from) && (w.chain === null || isHex(w.chain, 64))) &&
    (m.lanes === undefined || isInt(m.lanes, 1, MAX_LANES)),
  ack: (m) => isInt(m.f) && isInt(m.i),
  fail: (m) => isInt(m.f) && typeof m.reason === 'string' && m.reason.length < 200,
  done: () => true,
  hello: (m) => m.protocol === PROTOCOL,
  // both ways, on the first lane: the negotiation of lane `n` (sender: offer; receiver: answer)
  lane: (m) => isInt(m.n, 1, MAX_LANES - 1) && isInt(m.sid, 1) && isLaneSignal(m.s),
};

/**
 * A manifest's text items keep to their limits: each at most MAX_TEXT_BYTES, at most
 * MAX_TEXT_ITEMS of them. Throws WireError (a manifest's), naming the limit.
 * @param {FileInfo[]} files
 */
export function checkTextItems(files) {
  let count = 0;
  for (const f of files) {
    if (f.text !== true) continue;
    if (f.size > MAX_TEXT_BYTES) throw new WireError(`a text item is over ${MAX_TEXT_BYTES / BLOCK_SIZE} MiB, the limit for text`, 'manifest');
    count++;
  }
  if (count > MAX_TEXT_ITEMS) throw new WireError(`more than ${MAX_TEXT_ITEMS} text items`, 'manifest');
}

function isLaneSignal(s) {
  if (!s || typeof s !== 'object' || !LANE_KINDS.includes(s.k)) return false;
  try {
    parseSealedBody(s);
    return true;
  } catch (error) {
    if (error instanceof ProtocolError) return false;
    throw error;
  }
}

/**
 * Decode and validate one control frame.
 * @param {string} text
 * @returns {{t: string} & Record<string, any>}
 * @throws {WireError}
 */
export function parseControl(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    throw new WireError('control frame is not JSON');
  }
  if (!message || typeof message !== 'object' || typeof message.t !== 'string') {
    throw new WireError('control frame without a type');
  }
  // Own keys only: "toString" or "__proto__" would find Object.prototype's.
  const validate = Object.hasOwn(VALIDATORS, message.t) ? VALIDATORS[message.t] : null;
  if (!validate) throw new WireError(`unknown control frame type ${JSON.stringify(message.t).slice(0, 40)}`);
  let valid;
  try {
    valid = validate(message);
  } catch (error) {
    if (error instanceof PathError) throw new WireError(error.message, message.t);
    throw error;
  }
  if (!valid) throw new WireError(`invalid ${message.t} frame`, message.t);
  return message;
}

/** @param {{t: string} & Record<string, any>} message */
export function encodeControl(message) {
  return JSON.stringify(message);
}

/**
 * The chain value that proves which blocks a receiver holds: chain(0) is 32 zero bytes and
 * chain(k+1) = SHA-256(chain(k) || blockHash(k)). Both sides compute it from their own block
 * hashes; equal chains at block k mean equal first k blocks (up to SHA-256 collisions).
 * @param {Uint8Array} previous 32 bytes
 * @param {Uint8Array} blockHash 32 bytes
 * @param {(data: Uint8Array) => Promise<Uint8Array>} sha256
 */
export async function chainNext(previous, blockHash, sha256) {
  const joined = new Uint8Array(64);
  joined.set(previous);
  joined.set(blockHash, 32);
  return sha256(joined);
}

export const CHAIN_START = new Uint8Array(32);
