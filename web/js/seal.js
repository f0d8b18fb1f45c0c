// Sealed signaling payloads: what the server relays, it can neither read nor forge.
//
// Keys come from the link's secret (256 bits, never sent to the server) by HKDF-SHA256,
// one key per direction and peer pair (`signal/<from>><to>`), so a payload meant for one
// peer cannot be delivered to another, and no two senders ever share a key. Each payload is
// AES-256-GCM with a fresh random 96-bit nonce; the associated data binds the room, both
// peer ids, the negotiation session id (sid), the sender's page epoch and a sequence number.
// The receiving side checks those against what the relay says and what it has seen before:
// a redirected, altered or replayed payload fails (see docs/security.md and docs/protocol.md).
//
// Envelope (the relay's `data`):  v1.<kid>.<epoch>.<seq>.<base64url(nonce || ciphertext+tag)>
//   kid    11 chars: HKDF(secret, "key-id"), lets a receiver with a wrong link tell
//          "wrong secret" from "tampered" without revealing anything about the secret
//   epoch  decimal: the sending page's session (grows across reloads of that tab)
//   seq    decimal: per (epoch, recipient), starting at 1

import { cryptoBackend } from './crypto.js';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from './util.js';

const VERSION = 'v1';
const NONCE_BYTES = 12;

export class SealError extends Error {
  /** @param {'malformed'|'wrong-key'|'not-authentic'} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.name = 'SealError';
    this.kind = kind;
  }
}

/**
 * @typedef {object} Opened
 * @property {any} body     the decoded JSON body
 * @property {number} epoch the sender's page epoch
 * @property {number} seq   its sequence number for this recipient
 */

/** @param {string} envelope @returns {{kid: string, epoch: number, seq: number, blob: string}} */
export function parseEnvelope(envelope) {
  const parts = typeof envelope === 'string' ? envelope.split('.') : [];
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SealError('malformed', 'not a v1 envelope');
  const [, kid, epochText, seqText, blob] = parts;
  if (!/^\d{1,16}$/.test(epochText) || !/^\d{1,15}$/.test(seqText) || !/^[A-Za-z0-9_-]+$/.test(blob)) {
    throw new SealError('malformed', 'malformed envelope fields');
  }
  return { kid, epoch: Number(epochText), seq: Number(seqText), blob };
}

export class Sealer {
  /**
   * @param {object} options
   * @param {Uint8Array} options.secret   the link's 32-byte secret
   * @param {string} options.room         room id
   * @param {number} options.epoch        this page's epoch (see newEpoch)
   * @param {import('./crypto.js').CryptoBackend} [options.backend]
   */
  constructor({ secret, room, epoch, backend = cryptoBackend() }) {
    this.secret = secret;
    this.room = room;
    this.epoch = epoch;
    this.backend = backend;
    this.salt = utf8.encode(`p2pshare/v1/room/${room}`);
    /** @type {Map<string, Promise<unknown>>} */
    this.keys = new Map();
    /** @type {Map<string, number>} next sequence number per recipient */
    this.nextSeq = new Map();
    /** @type {string} */
    this.kid = '';
  }

  /** Derives the key id; call once before use. */
  async init() {
    this.kid = toBase64Url(await this.backend.hkdf(this.secret, this.salt, utf8.encode('p2pshare/v1/key-id'), 8));
    return this;
  }

  /** @param {string} from @param {string} to */
  key(from, to) {
    const name = `${from}>${to}`;
    let key = this.keys.get(name);
    if (!key) {
      const info = utf8.encode(`p2pshare/v1/signal/${name}`);
      key = this.backend.hkdf(this.secret, this.salt, info, 32).then((raw) => this.backend.importAesKey(raw));
      this.keys.set(name, key);
    }
    return key;
  }

  aad(from, to, sid, epoch, seq, kid) {
    return utf8.encode(`p2pshare/v1|${this.room}|${from}|${to}|${sid}|${epoch}|${seq}|${kid}`);
  }

  /**
   * @param {string} from my peer id @param {string} to theirs @param {number} sid
   * @param {any} body JSON-serialisable
   * @returns {Promise<string>} the envelope to relay
   */
  async seal(from, to, sid, body) {
    const seq = this.nextSeq.get(to) ?? 1;
    this.nextSeq.set(to, seq + 1);
    const nonce = randomBytes(NONCE_BYTES);
    const aad = this.aad(from, to, sid, this.epoch, seq, this.kid);
    const sealed = await this.backend.encrypt(await this.key(from, to), nonce, aad, utf8.encode(JSON.stringify(body)));
    const blob = new Uint8Array(NONCE_BYTES + sealed.length);
    blob.set(nonce);
    blob.set(sealed, NONCE_BYTES);
    return `${VERSION}.${this.kid}.${this.epoch}.${seq}.${toBase64Url(blob)}`;
  }

  /**
   * @param {string} from the relay's `from` (set by the server) @param {string} to my peer id
   * @param {number} sid the relay's sid @param {string} envelope the relay's data
   * @returns {Promise<Opened>}
   * @throws {SealError} malformed, wrong-key (another secret) or not-authentic (tampered)
   */
  async open(from, to, sid, envelope) {
    const { kid, epoch, seq, blob } = parseEnvelope(envelope);
    if (kid !== this.kid) throw new SealError('wrong-key', 'sealed with a different secret');
    let bytes;
    try {
      bytes = fromBase64Url(blob);
    } catch {
      throw new SealError('malformed', 'envelope payload is not base64url');
    }
    if (bytes.length < NONCE_BYTES + 16) throw new SealError('malformed', 'envelope too short');
    const aad = this.aad(from, to, sid, epoch, seq, kid);
    let plain;
    try {
      plain = await this.backend.decrypt(await this.key(from, to), bytes.subarray(0, NONCE_BYTES), aad, bytes.subarray(NONCE_BYTES));
    } catch {
      throw new SealError('not-authentic', 'payload failed authentication');
    }
    let body;
    try {
      body = JSON.parse(utf8.decode(plain));
    } catch {
      throw new SealError('malformed', 'sealed body is not JSON');
    }
    return { body, epoch, seq };
  }
}

/**
 * Tracks, per remote peer, the newest page epoch and the last sequence number seen, to reject
 * replays and to ignore stale messages from an older page of that peer. Pure.
 */
export class ReplayGuard {
  constructor() {
    /** @type {Map<string, {epoch: number, seq: number}>} */
    this.seen = new Map();
  }

  /**
   * @param {string} peer @param {number} epoch @param {number} seq
   * @returns {'ok'|'new-epoch'|'stale'|'replay'}
   *   new-epoch: first message of a newer page of that peer (it reloaded)
   *   stale:     from an older page of that peer: ignore
   *   replay:    same page, sequence not increasing: someone replayed a payload
   */
  check(peer, epoch, seq) {
    const last = this.seen.get(peer);
    if (last && epoch < last.epoch) return 'stale';
    if (last && epoch === last.epoch) {
      if (seq <= last.seq) return 'replay';
      last.seq = seq;
      return 'ok';
    }
    this.seen.set(peer, { epoch, seq });
    return last ? 'new-epoch' : 'ok';
  }

  /** @param {string} peer */
  epochOf(peer) {
    return this.seen.get(peer)?.epoch ?? 0;
  }
}

/**
 * A new epoch for this page: it must grow across reloads of the tab (the remote side ignores
 * older epochs), so it is max(now-based, last + 1), remembered in `storage`.
 * @param {{getItem(k: string): string|null, setItem(k: string, v: string): void}|null} storage
 */
export function newEpoch(storage, nowMs = Date.now()) {
  const key = 'p2pshare:epoch';
  const last = Number(storage?.getItem(key) ?? 0) || 0;
  const candidate = nowMs * 1000 + Math.floor(Math.random() * 1000);
  const epoch = Math.max(candidate, last + 1);
  storage?.setItem(key, String(epoch));
  return epoch;
}
