// Room admission by proof of the link's secret (p2pshare/signaling/admission.py is the other
// half; docs/protocol.md, Admission). The sender registers the room's access key in its
// `join`; a receiver's `join` carries an HMAC over the room and its client id made with that
// key. The key comes from the secret one way, apart from the sealing keys: the server, which
// learns it, can open no envelope. Vectors: tests/vectors/admission.json.

import { cryptoBackend } from './crypto.js';
import { toBase64Url, utf8 } from './util.js';

/**
 * The room's access key (base64url), as the sender registers it.
 * @param {Uint8Array} secret @param {string} room
 */
export async function accessKey(secret, room, backend = cryptoBackend()) {
  const salt = utf8.encode(`p2pshare/v1/room/${room}`);
  return toBase64Url(await backend.hkdf(secret, salt, utf8.encode('p2pshare/v1/access'), 32));
}

/**
 * A receiver's proof that it holds the access key, for this room and client id (base64url).
 * @param {Uint8Array} secret @param {string} room @param {string} cid
 */
export async function joinProof(secret, room, cid, backend = cryptoBackend()) {
  const salt = utf8.encode(`p2pshare/v1/room/${room}`);
  const key = await backend.hkdf(secret, salt, utf8.encode('p2pshare/v1/access'), 32);
  return toBase64Url(await backend.hmacSha256(key, utf8.encode(`p2pshare/v1/join|${room}|${cid}`)));
}
