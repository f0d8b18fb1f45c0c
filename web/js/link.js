// Share links: https://host/r/<room>#<secret>.<sender key>. Pure: parsing and building only.
//
// The room id (in the path, seen by the server) is 128 bits of a hash of the sender's random
// creator token; the secret (in the fragment, which browsers never send to servers) is 256
// random bits; the sender key is the Ed25519 public key the sender signs its messages with
// (signing.js), so that no other holder of the link can pose as the sender. All base64url.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { fromBase64Url, randomId, toBase64Url, utf8 } from './util.js';

export const ROOM_ID_BYTES = 16;
export const SECRET_BYTES = 32;
const ROOM_RE = /^[A-Za-z0-9_-]{16,64}$/;
const FRAGMENT_RE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/**
 * @typedef {object} ParsedLink
 * @property {'home'|'room'|'bad-room'} page
 * @property {string|null} room
 * @property {Uint8Array|null} secret   null when missing or malformed
 * @property {string|null} senderKey   the sender's public key (base64url), with the secret
 * @property {'ok'|'missing'|'malformed'} secretState  malformed too when the sender key is cut off
 */

/**
 * @param {string} pathname location.pathname
 * @param {string} hash location.hash (with or without the leading '#')
 * @returns {ParsedLink}
 */
export function parseLink(pathname, hash) {
  if (pathname === '/' || pathname === '') {
    return { page: 'home', room: null, secret: null, senderKey: null, secretState: 'missing' };
  }
  const match = /^\/r\/([^/]*)\/?$/.exec(pathname);
  const room = match ? decodeURIComponent(match[1]) : '';
  if (!ROOM_RE.test(room)) return { page: 'bad-room', room: null, secret: null, senderKey: null, secretState: 'missing' };
  // Tolerate "k=" prefixes and trailing junk that chat apps sometimes append after a space.
  let fragment = hash.startsWith('#') ? hash.slice(1) : hash;
  fragment = fragment.replace(/^k=/, '').trim();
  if (!fragment) return { page: 'room', room, secret: null, senderKey: null, secretState: 'missing' };
  const parts = FRAGMENT_RE.exec(fragment);
  if (!parts) return { page: 'room', room, secret: null, senderKey: null, secretState: 'malformed' };
  return { page: 'room', room, secret: fromBase64Url(parts[1]), senderKey: parts[2], secretState: 'ok' };
}

/**
 * @param {string} origin e.g. "https://host:8080" @param {string} room
 * @param {string} secretText @param {string} senderKeyText the sender's public key
 */
export function buildLink(origin, room, secretText, senderKeyText) {
  return `${origin}/r/${room}#${secretText}.${senderKeyText}`;
}

/**
 * The room id that belongs to a creator token: 128 bits of SHA-256("p2pshare-room\0" + token).
 * The server checks a sender's token against the room id with the same function, so only the
 * tab that made the room can ever be its sender (p2pshare/signaling/room.py creator_room_id).
 */
export function creatorRoomId(token) {
  return toBase64Url(sha256(utf8.encode(`p2pshare-room\u0000${token}`)).subarray(0, ROOM_ID_BYTES));
}

/** A fresh room: the creator token (kept by the sender's tab), its room id, and the secret. */
export function newRoom() {
  const token = randomId(16);
  return { token, room: creatorRoomId(token), secretText: randomId(SECRET_BYTES) };
}
