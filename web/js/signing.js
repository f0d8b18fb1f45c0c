// The sender's signatures (docs/security.md: a receiver working with the server cannot pose
// as the sender). The sender's page makes an Ed25519 key pair; the public half travels in the
// link's fragment, after the secret (`#<secret>.<sender key>`), and the sender signs every
// sealed envelope it relays. A receiver accepts a message only with a valid signature by that
// key: the others who hold the link (and the sealing keys with it) cannot make one.
// Vectors: tests/vectors/signatures.json.

import { cryptoBackend, ed25519PublicKey } from './crypto.js';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from './util.js';

export const SIGNATURE_CHARS = 86; // 64 bytes, base64url

/** What is signed: the envelope, under a label of its own (no other use of the key can collide). */
const signedBytes = (envelope) => utf8.encode(`p2pshare/v1/sender-signature|${envelope}`);

/** A new sender key: its 32-byte seed (kept by the sender's tab) and its public key. */
export function newSenderKey() {
  const seed = randomBytes(32);
  return { seedText: toBase64Url(seed), publicText: toBase64Url(ed25519PublicKey(seed)) };
}

/** The public key (base64url) of a seed (base64url). */
export function senderPublicKey(seedText) {
  return toBase64Url(ed25519PublicKey(fromBase64Url(seedText)));
}

/** `envelope` with the sender's signature appended: `<envelope>~<signature>`. */
export async function signEnvelope(seedText, envelope, backend = cryptoBackend()) {
  const signature = await backend.signEd25519(fromBase64Url(seedText), signedBytes(envelope));
  return `${envelope}~${toBase64Url(signature)}`;
}

/**
 * The envelope of a signed relay payload if the signature is the sender's, else null.
 * @param {string} publicText the sender's key from the link @param {string} data relayed
 */
export async function verifiedEnvelope(publicText, data, backend = cryptoBackend()) {
  const cut = data.lastIndexOf('~');
  if (cut < 0 || data.length - cut - 1 !== SIGNATURE_CHARS) return null;
  const envelope = data.slice(0, cut);
  let signature;
  try {
    signature = fromBase64Url(data.slice(cut + 1));
  } catch {
    return null;
  }
  const ok = await backend.verifyEd25519(fromBase64Url(publicText), signature, signedBytes(envelope));
  return ok ? envelope : null;
}
