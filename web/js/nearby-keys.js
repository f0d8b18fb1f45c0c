// The key agreement of a nearby offer (docs/protocol.md: Nearby pairing; docs/security.md:
// Nearby devices): ECDH P-256 (vendored noble), SHA-256, HKDF, AES-256-GCM (crypto.js: WebCrypto or noble).
//
// With no link there is no shared secret, so the two devices agree on keys through the server
// and each shows a 6-digit code made from everything both sent. The offering side commits to
// its key and nonce before it sees the other's, so a server in the middle cannot try keys
// until both codes match: a few tries in a million per offer (docs/security.md says how
// many). p2pshare/peer/nearby.py is the twin; tests/vectors/nearby.json is shared.

import { p256 } from '../vendor/noble-curves/nist.js';
import { cryptoBackend } from './crypto.js';
import { NONCE_BYTES, OFFER_ID_BYTES, PAIRING, PairingError, parseBody } from './nearby-wire.js';
import { concatBytes, fromBase64Url, randomBytes, randomId, toBase64Url, utf8 } from './util.js';

const ZERO = new Uint8Array([0]);
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const label = (name) => utf8.encode(`${PAIRING} ${name}`);
/** WebCrypto where the page has it, the vendored noble code on plain http (crypto.js). */
const backend = cryptoBackend();

async function sha256(...parts) {
  return backend.sha256(concatBytes(...parts));
}

/** A fresh offer id. */
export const newOfferId = () => randomId(OFFER_ID_BYTES);

/**
 * One side's ephemeral P-256 key pair and nonce for one offer. The ECDH is the vendored,
 * audited noble code everywhere (a page on plain http has no WebCrypto): one path, one result.
 * @param {{secretKey?: Uint8Array|null, nonce?: Uint8Array|null}} [fixed] tests and vectors only
 * @returns {{secretKey: Uint8Array, publicKey: Uint8Array, nonce: Uint8Array}}
 */
export function newSide({ secretKey = null, nonce = null } = {}) {
  const key = secretKey ?? p256.utils.randomSecretKey();
  return { secretKey: key, publicKey: p256.getPublicKey(key, false), nonce: nonce ?? randomBytes(NONCE_BYTES) };
}

/** The offering side's commitment to its key and nonce (base64url). */
export async function commitment(publicKey, nonce) {
  return toBase64Url(await sha256(label('commit'), ZERO, publicKey, nonce));
}

/** SHA-256 over everything both sides sent: what the code and the keys are bound to. */
export async function transcript(offerId, pkA, pkB, nA, nB) {
  return sha256(label('transcript'), ZERO, utf8.encode(offerId), ZERO, pkA, pkB, nA, nB);
}

/** The 6-digit verification code of a transcript, as "123 456". */
export async function verificationCode(transcriptBytes) {
  const digest = await sha256(label('code'), ZERO, transcriptBytes);
  const n = new DataView(digest.buffer).getUint32(0) % 1_000_000;
  const digits = String(n).padStart(6, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

/**
 * The two direction keys (AES-256-GCM) of one offer.
 * @throws {Error} when the other side's key is not a point of the curve
 * @returns {Promise<{aToB: unknown, bToA: unknown, raw: {aToB: Uint8Array, bToA: Uint8Array}}>}
 */
export async function directionKeys(secretKey, peerPublicKey, transcriptBytes) {
  let shared;
  try {
    shared = p256.getSharedSecret(secretKey, peerPublicKey, true).subarray(1); // the x-coordinate
  } catch {
    throw new Error('the other device sent a key that is not a P-256 point');
  }
  const derive = (info) => backend.hkdf(shared, transcriptBytes, label(info), 32);
  const raw = { aToB: await derive('a->b'), bToA: await derive('b->a') };
  return { aToB: await backend.importAesKey(raw.aToB), bToA: await backend.importAesKey(raw.bToA), raw };
}

const aad = (offerId, kind) => utf8.encode(`${PAIRING}|${offerId}|${kind}`);

/** Seal `body` for message `kind` of offer `offerId` (iv: tests only). */
export async function sealBox(key, offerId, kind, body, iv = randomBytes(12)) {
  const sealed = await backend.encrypt(key, iv, aad(offerId, kind), utf8.encode(JSON.stringify(body)));
  return toBase64Url(concatBytes(iv, sealed));
}

/**
 * Open a box and check its body (nearby-wire.js parseBody).
 * @throws {Error} when it does not open or its body is not what `kind` holds
 */
export async function openBox(key, offerId, kind, box) {
  const bytes = fromBase64Url(box);
  let plain;
  try {
    plain = await backend.decrypt(key, bytes.subarray(0, 12), aad(offerId, kind), bytes.subarray(12));
  } catch {
    throw new Error('the box does not open');
  }
  let text;
  try {
    text = STRICT_UTF8.decode(plain);
  } catch {
    throw new PairingError('box body is not UTF-8');
  }
  return parseBody(kind, text);
}
