// The pairing messages two nearby devices exchange through the server (docs/protocol.md:
// Nearby pairing). Pure: strict decoding of the messages and of the sealed bodies, with
// limits; p2pshare/peer/nearby.py is the twin, and tests/vectors/nearby.json is shared.
//
// The server relays `data` opaquely, so everything here is judged as coming from anyone
// on the network: exact lengths, no unknown fields, nothing the page would act on unchecked.

import { parseLink } from './link.js';
import { MAX_FILES } from './transfer/paths.js';
import { MAX_TEXT_ITEMS } from './wire.js';
import { NEARBY } from './protocol.js';

export const PAIRING = 'p2pshare-nearby/1';
/** Characters of one relayed message (the server's limit on `near-relay` data). */
export const MAX_PAIRING_CHARS = NEARBY.MAX_DATA_CHARS;
export const OFFER_ID_BYTES = 16;
export const NONCE_BYTES = 32;
export const PUBLIC_KEY_BYTES = 65; // P-256, uncompressed
/**
 * Each field as the one base64url spelling of its bytes (no padding, no stray low bits): a
 * 16-byte id, 32-byte digests and nonces, an uncompressed P-256 point (0x04 first: "B").
 */
const B64_FIELDS = {
  o: /^[A-Za-z0-9_-]{21}[AQgw]$/,
  c: /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  n: /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  pk: /^B[A-Za-z0-9_-]{85}[AEIMQUYcgkosw048]$/,
};
/** A box: a 12-byte iv, the 16-byte tag and at least "{}"; at most what fits in a message. */
const BOX_RE = /^[A-Za-z0-9_-]{40,7995}$/;
export const SUMMARY_LIMITS = { count: MAX_FILES, texts: MAX_TEXT_ITEMS, names: 5, nameChars: 255 };

export class PairingError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PairingError';
  }
}

const FIELDS = {
  commit: ['c'],
  key: ['pk', 'n'],
  reveal: ['pk', 'n', 'box'],
  answer: ['box'],
  link: ['box'],
  cancel: ['box'],
};
export const PAIRING_KINDS = Object.freeze(Object.keys(FIELDS));

/**
 * Decode one pairing message (the `data` of a `near-relayed` frame).
 * @param {string} text
 * @returns {{k: string, o: string, c?: string, pk?: string, n?: string, box?: string}}
 * @throws {PairingError}
 */
export function parsePairing(text) {
  if (typeof text !== 'string' || text.length > MAX_PAIRING_CHARS) throw new PairingError('message too long');
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    throw new PairingError('message is not JSON');
  }
  if (!message || typeof message !== 'object' || Array.isArray(message)) throw new PairingError('message is not an object');
  const fields = Object.hasOwn(FIELDS, message.k) ? FIELDS[message.k] : null;
  if (!fields) throw new PairingError('unknown kind');
  const allowed = new Set(['k', 'o', ...fields]);
  for (const key of Object.keys(message)) if (!allowed.has(key)) throw new PairingError(`unknown field ${key}`);
  for (const field of ['o', ...fields]) {
    const value = message[field];
    const pattern = field === 'box' ? BOX_RE : B64_FIELDS[field];
    if (typeof value !== 'string' || !pattern.test(value)) throw new PairingError(`bad ${field}`);
  }
  return message;
}

/** A share's link without its origin, exactly (nothing tolerated, unlike a pasted link). */
const LINK_PATH_RE = /^\/r\/[A-Za-z0-9_-]{16,64}#[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;
/**
 * Control and format characters (a bidi override makes "invoice\u202efdp.exe" read as a PDF
 * in the prompt, where the person decides), and halves of surrogate pairs alone (not text).
 */
const BAD_NAME_RE = /[\p{Cc}\p{Cf}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
const isCount = (v, max) => Number.isInteger(v) && v >= 0 && v <= max;
const exactKeys = (body, keys) => {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const have = Object.keys(body).sort();
  return have.length === keys.length && [...keys].sort().every((key, n) => key === have[n]);
};

/** What each box holds, checked after it opened (so it came from the paired device). */
const BODIES = {
  reveal: (b) =>
    exactKeys(b, ['count', 'bytes', 'texts', 'names']) &&
    isCount(b.count, SUMMARY_LIMITS.count) &&
    isCount(b.bytes, Number.MAX_SAFE_INTEGER) &&
    isCount(b.texts, Math.min(SUMMARY_LIMITS.texts, b.count)) &&
    Array.isArray(b.names) &&
    b.names.length <= Math.min(SUMMARY_LIMITS.names, b.count) &&
    b.names.every((name) => typeof name === 'string' && name.length <= SUMMARY_LIMITS.nameChars && !BAD_NAME_RE.test(name)),
  answer: (b) => exactKeys(b, ['accept']) && typeof b.accept === 'boolean',
  link: (b) => exactKeys(b, ['path']) && typeof b.path === 'string' && b.path.length <= 512 && linkOf(b.path) !== null,
  cancel: (b) => exactKeys(b, []),
};

/**
 * Decode an opened box's plaintext for message kind `kind`.
 * @throws {PairingError}
 */
export function parseBody(kind, text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PairingError('box body is not JSON');
  }
  if (!Object.hasOwn(BODIES, kind) || !BODIES[kind](body)) throw new PairingError(`bad ${kind} body`);
  return body;
}

/**
 * The share a `link` body points to: a path on this origin ("/r/<room>#<secret>.<key>"),
 * never a URL, so a peer can only ever send this page to a share of this server.
 * @returns {{room: string, secret: Uint8Array, senderKey: string}|null}
 */
export function linkOf(path) {
  if (typeof path !== 'string' || !LINK_PATH_RE.test(path)) return null;
  const hashAt = path.indexOf('#');
  const link = parseLink(path.slice(0, hashAt), path.slice(hashAt));
  if (link.page !== 'room' || link.secretState !== 'ok') return null;
  return { room: /** @type {string} */ (link.room), secret: /** @type {Uint8Array} */ (link.secret), senderKey: /** @type {string} */ (link.senderKey) };
}

/** Does a share's file list hold exactly what an offer's summary said? */
export function matchesSummary(items, summary) {
  const actual = summaryOf(items);
  return (
    actual.count === summary.count &&
    actual.bytes === summary.bytes &&
    actual.texts === summary.texts &&
    actual.names.length === summary.names.length &&
    actual.names.every((name, n) => name === summary.names[n])
  );
}

/** The summary an offer shows, from the items of a share (file infos: path, size, text). */
export function summaryOf(items) {
  // Portable paths (transfer/paths.js) hold no control or format characters already.
  const names = items.slice(0, SUMMARY_LIMITS.names).map((item) => {
    const base = item.path.split('/').pop() || item.path;
    return [...base].reduce((out, char) => (out.length + char.length <= SUMMARY_LIMITS.nameChars ? out + char : out), '');
  });
  return {
    count: Math.min(items.length, SUMMARY_LIMITS.count),
    bytes: items.reduce((sum, item) => sum + item.size, 0),
    texts: Math.min(items.filter((item) => item.text === true).length, SUMMARY_LIMITS.texts),
    names,
  };
}
