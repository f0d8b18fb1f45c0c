// Share links: https://host/r/<room>#<secret>. Pure: parsing and building only.
//
// The room id (in the path, seen by the server) is 128 bits of a hash of the sender's random
// creator token; the secret (in the fragment, which browsers never send to servers) is 256
// random bits. Both base64url.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { fromBase64Url, randomId, toBase64Url, utf8 } from './util.js';

export const ROOM_ID_BYTES = 16;
export const SECRET_BYTES = 32;
const ROOM_RE = /^[A-Za-z0-9_-]{16,64}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

/**
 * @typedef {object} ParsedLink
 * @property {'home'|'room'|'bad-room'} page
 * @property {string|null} room
 * @property {Uint8Array|null} secret   null when missing or malformed
 * @property {'ok'|'missing'|'malformed'} secretState
 */

/**
 * @param {string} pathname location.pathname
 * @param {string} hash location.hash (with or without the leading '#')
 * @returns {ParsedLink}
 */
export function parseLink(pathname, hash) {
  if (pathname === '/' || pathname === '') {
    return { page: 'home', room: null, secret: null, secretState: 'missing' };
  }
  const match = /^\/r\/([^/]*)\/?$/.exec(pathname);
  const room = match ? decodeURIComponent(match[1]) : '';
  if (!ROOM_RE.test(room)) return { page: 'bad-room', room: null, secret: null, secretState: 'missing' };
  // Tolerate "k=" prefixes and trailing junk that chat apps sometimes append after a space.
  let fragment = hash.startsWith('#') ? hash.slice(1) : hash;
  fragment = fragment.replace(/^k=/, '').trim();
  if (!fragment) return { page: 'room', room, secret: null, secretState: 'missing' };
  if (!SECRET_RE.test(fragment)) return { page: 'room', room, secret: null, secretState: 'malformed' };
  return { page: 'room', room, secret: fromBase64Url(fragment), secretState: 'ok' };
}

/** @param {string} origin e.g. "https://host:8080" @param {string} room @param {string} secretText */
export function buildLink(origin, room, secretText) {
  return `${origin}/r/${room}#${secretText}`;
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
