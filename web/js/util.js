// Small pure helpers shared by the other modules: encodings, ids, backoff, rates. (Sizes,
// speeds and times for people are formatted by i18n.js, in the page's language.)
// No DOM, no I/O: usable from a page, a worker and Node's test runner.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** @param {Uint8Array} bytes @returns {string} base64url without padding */
export function toBase64Url(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63];
  }
  return out;
}

/**
 * @param {string} text base64url without padding
 * @returns {Uint8Array}
 * @throws {Error} on characters outside the alphabet or an impossible length
 */
export function fromBase64Url(text) {
  if (text.length % 4 === 1) throw new Error('invalid base64url length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of text) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) throw new Error('invalid base64url character');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  return out;
}

/** @param {number} n @returns {Uint8Array} n cryptographically random bytes */
export function randomBytes(n) {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** @param {number} nBytes @returns {string} a random base64url id of nBytes of entropy */
export function randomId(nBytes = 16) {
  return toBase64Url(randomBytes(nBytes));
}

/** @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** @param {string} hex @returns {Uint8Array} */
export function fromHex(hex) {
  if (hex.length % 2 || /[^0-9a-f]/i.test(hex)) throw new Error('invalid hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {Uint8Array[]} parts @returns {Uint8Array} */
export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time comparison of two byte strings. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export const utf8 = {
  encode: (/** @type {string} */ s) => new TextEncoder().encode(s),
  decode: (/** @type {Uint8Array} */ b) => new TextDecoder('utf-8', { fatal: true }).decode(b),
};

/**
 * Exponential backoff with full jitter: a random delay in [base/2, min(cap, base * 2^attempt)].
 * @param {number} attempt 0 for the first retry
 * @param {() => number} random a [0, 1) source (Math.random by default)
 */
export function backoffDelayMs(attempt, { baseMs = 500, capMs = 10000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(baseMs / 2 + random() * (ceiling - baseMs / 2));
}

/**
 * A smoothed rate estimate (bytes per second) from (time, total) samples, robust to bursts:
 * the rate over the last `windowMs` of samples.
 */
export class RateMeter {
  constructor(windowMs = 5000) {
    this.windowMs = windowMs;
    /** @type {[number, number][]} */
    this.samples = [];
  }

  /** @param {number} nowMs @param {number} total bytes so far */
  add(nowMs, total) {
    this.samples.push([nowMs, total]);
    while (this.samples.length > 2 && nowMs - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  /** bytes per second, or 0 when unknown */
  rate() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  reset() {
    this.samples = [];
  }
}
