// The crypto primitives the client needs, from WebCrypto where the page is a secure
// context and from the vendored, audited noble libraries where it is not (plain http on a
// LAN address has no crypto.subtle). Both produce identical bytes, so two browsers on
// different paths interoperate.

import { gcm } from '../vendor/noble-ciphers/aes.js';
import { ed25519 } from '../vendor/noble-curves/ed25519.js';
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
 * @property {(seed: Uint8Array, data: Uint8Array) => Promise<Uint8Array>} signEd25519  64-byte signature
 * @property {(publicKey: Uint8Array, signature: Uint8Array, data: Uint8Array) => Promise<boolean>} verifyEd25519
 */

/** PKCS #8 of an Ed25519 private key is this prefix and the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

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
    async signEd25519(seed, data) {
      const pkcs8 = new Uint8Array([...ED25519_PKCS8_PREFIX, ...seed]);
      const key = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('Ed25519', key, data));
    },
    async verifyEd25519(publicKey, signature, data) {
      const key = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      return subtle.verify('Ed25519', key, signature, data);
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
  signEd25519: async (seed, data) => ed25519.sign(data, seed),
  verifyEd25519: async (publicKey, signature, data) => {
    try {
      return ed25519.verify(signature, data, publicKey);
    } catch {
      return false; // a malformed key or signature is no signature
    }
  },
};

/** The Ed25519 public key of a 32-byte seed (the same on every backend). */
export function ed25519PublicKey(seed) {
  return ed25519.getPublicKey(seed);
}

/**
 * The best backend available here; `prefer: 'noble'` forces the fallback (tests use it to
 * show both paths agree).
 * @returns {CryptoBackend}
 */
export function cryptoBackend({ prefer } = {}) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && prefer !== 'noble') return withEd25519Fallback(webCryptoBackend(subtle));
  return nobleBackend;
}

/** A browser with WebCrypto but without its Ed25519 (older ones) signs with the vendored code. */
function withEd25519Fallback(backend) {
  const fallback = (name) => async (...args) => {
    try {
      return await backend[name](...args);
    } catch (error) {
      if (error?.name !== 'NotSupportedError') throw error;
      return nobleBackend[name](...args);
    }
  };
  return { ...backend, signEd25519: fallback('signEd25519'), verifyEd25519: fallback('verifyEd25519') };
}
