// The crypto primitives the client needs, from WebCrypto where the page is a secure
// context and from the vendored, audited noble libraries where it is not (plain http on a
// LAN address has no crypto.subtle). Both produce identical bytes, so two browsers on
// different paths interoperate.

import { gcm } from '../vendor/noble-ciphers/aes.js';
import { hkdf } from '../vendor/noble-hashes/hkdf.js';
import { hmac } from '../vendor/noble-hashes/hmac.js';
import { sha256 as nobleSha256 } from '../vendor/noble-hashes/sha2.js';

/**
 * @typedef {object} CryptoBackend
 * @property {'webcrypto'|'noble'} name
 * @property {(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Promise<Uint8Array>} hkdf
 * @property {(key: Uint8Array) => Promise<unknown>} importAesKey
 * @property {(key: unknown, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) => Promise<Uint8Array>} encrypt
 * @property {(key: unknown, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => Promise<Uint8Array>} decrypt  rejects when not authentic
 * @property {(data: Uint8Array) => Promise<Uint8Array>} sha256  one-shot
 * @property {(key: Uint8Array, data: Uint8Array) => Promise<Uint8Array>} hmacSha256
 */

/** @returns {CryptoBackend} */
function webCryptoBackend(subtle) {
  return {
    name: 'webcrypto',
    async hkdf(ikm, salt, info, length) {
      const key = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
      const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, length * 8);
      return new Uint8Array(bits);
    },
    importAesKey: (key) => subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']),
    async encrypt(key, iv, additionalData, plaintext) {
      return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, plaintext));
    },
    async decrypt(key, iv, additionalData, sealed) {
      return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData }, key, sealed));
    },
    sha256: async (data) => new Uint8Array(await subtle.digest('SHA-256', data)),
    async hmacSha256(key, data) {
      const imported = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', imported, data));
    },
  };
}

/** @type {CryptoBackend} */
const nobleBackend = {
  name: 'noble',
  hkdf: async (ikm, salt, info, length) => hkdf(nobleSha256, ikm, salt, info, length),
  importAesKey: async (key) => key,
  encrypt: async (key, nonce, aad, plaintext) => gcm(key, nonce, aad).encrypt(plaintext),
  decrypt: async (key, nonce, aad, sealed) => gcm(key, nonce, aad).decrypt(sealed),
  sha256: async (data) => nobleSha256(data),
  hmacSha256: async (key, data) => hmac(nobleSha256, key, data),
};

/**
 * The best backend available here; `prefer: 'noble'` forces the fallback (tests use it to
 * show both paths agree).
 * @returns {CryptoBackend}
 */
export function cryptoBackend({ prefer } = {}) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && prefer !== 'noble') return webCryptoBackend(subtle);
  return nobleBackend;
}
