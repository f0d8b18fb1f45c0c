// Known-answer tests for the vendored third-party modules (web/vendor/), imported by the same
// relative paths our browser code uses. Run: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { hmac } from '../vendor/noble-hashes/hmac.js';
import { hkdf, extract, expand } from '../vendor/noble-hashes/hkdf.js';
import { gcm } from '../vendor/noble-ciphers/aes.js';
import { randomBytes } from '../vendor/noble-ciphers/utils.js';
import { createSHA256, sha256 as wasmSha256 } from '../vendor/hash-wasm/sha256.mjs';
import { encode as qrEncode } from '../vendor/uqr/index.mjs';

const subtle = webcrypto.subtle;
const te = new TextEncoder();
const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const nodeSha256 = (u8) => createHash('sha256').update(u8).digest('hex');

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function bytes(n, seed = 0x2545f491) {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Uneven piece sizes around the 64-byte block and hash-wasm's 16 KiB copy buffer.
const PIECES = [1, 63, 64, 65, 0, 1000, 4097, 16383, 16384, 16385, 65536, 100003, 7];
function* pieces(data) {
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = PIECES[i % PIECES.length];
    yield data.subarray(off, off + n);
    off += n;
  }
}

const MIB = bytes(1 << 20);
const MIB_SHA256 = nodeSha256(MIB);
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

test('noble sha256: known answers, one-shot and incremental', () => {
  assert.equal(hex(sha256(new Uint8Array(0))), EMPTY_SHA256);
  assert.equal(hex(sha256(te.encode('abc'))), ABC_SHA256);
  assert.equal(sha256.outputLen, 32);
  assert.equal(hex(sha256(MIB)), MIB_SHA256);
  const h = sha256.create();
  for (const p of pieces(MIB)) h.update(p);
  assert.equal(hex(h.digest()), MIB_SHA256);
});

test('hash-wasm sha256: known answers, one-shot and incremental', async () => {
  assert.equal(await wasmSha256(new Uint8Array(0)), EMPTY_SHA256);
  assert.equal(await wasmSha256(te.encode('abc')), ABC_SHA256);
  const h = await createSHA256();
  assert.equal(h.digestSize, 32);
  assert.equal(h.blockSize, 64);
  assert.equal(h.init().update(new Uint8Array(0)).digest(), EMPTY_SHA256);
  assert.equal(h.init().update('abc').digest(), ABC_SHA256); // strings are hashed as UTF-8
  h.init();
  for (const p of pieces(MIB)) h.update(p);
  const bin = h.digest('binary');
  assert.ok(bin instanceof Uint8Array);
  assert.equal(hex(bin), MIB_SHA256);
  assert.equal(h.init().update(MIB).digest('hex'), MIB_SHA256);
  // The UMD wrapper must not leak a global.
  assert.equal(globalThis.hashwasm, undefined);
});

test('hash-wasm save()/load(): a resumed hash equals the uninterrupted one', async () => {
  for (const cut of [0, 1, 64, 333_333, (1 << 20) - 1, 1 << 20]) {
    const a = await createSHA256();
    a.init();
    for (const p of pieces(MIB.subarray(0, cut))) a.update(p);
    // Persisting copies the bytes (IndexedDB / structured clone would too).
    const state = Uint8Array.from(a.save());
    assert.equal(state.length, 116, 'state is 4 bytes of implementation id + 112 of state');

    // A fresh hasher (new WebAssembly instance), busy with something else first.
    const b = await createSHA256();
    b.init().update('unrelated');
    b.load(state);
    for (const p of pieces(MIB.subarray(cut))) b.update(p);
    assert.equal(b.digest(), MIB_SHA256, `resumed at ${cut}`);

    // The saving hasher itself carries on unaffected.
    a.update(MIB.subarray(cut));
    assert.equal(a.digest(), MIB_SHA256);
  }
  const h = await createSHA256();
  assert.throws(() => h.load(new Uint8Array(115)), /state length/);
  const bad = Uint8Array.from(h.init().save());
  bad[0] ^= 1;
  assert.throws(() => h.load(bad), /incompatible/);
  h.digest();
  assert.throws(() => h.save(), /save\(\) can only be called after init\(\)/);
});

test('noble hmac-sha256: RFC 4231 test case 1', () => {
  const key = new Uint8Array(20).fill(0x0b);
  const data = te.encode('Hi There');
  const want = 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7';
  assert.equal(hex(hmac(sha256, key, data)), want);
  assert.equal(hex(hmac.create(sha256, key).update(data.subarray(0, 3)).update(data.subarray(3)).digest()), want);
});

test('noble hkdf-sha256: RFC 5869 test case 1', () => {
  const ikm = new Uint8Array(22).fill(0x0b);
  const salt = unhex('000102030405060708090a0b0c');
  const info = unhex('f0f1f2f3f4f5f6f7f8f9');
  const prk = '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5';
  const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
  assert.equal(hex(extract(sha256, ikm, salt)), prk);
  assert.equal(hex(expand(sha256, unhex(prk), info, 42)), okm);
  assert.equal(hex(hkdf(sha256, ikm, salt, info, 42)), okm);
});

test('noble hkdf-sha256 agrees with WebCrypto HKDF', async () => {
  const ikm = bytes(32, 7), salt = bytes(16, 8), info = te.encode('p2pshare test');
  const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, base, 8 * 64);
  assert.equal(hex(hkdf(sha256, ikm, salt, info, 64)), hex(new Uint8Array(bits)));
});

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, AAD).
const GCM16 = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  pt: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
    '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
    '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
};

test('noble aes-256-gcm: known answer with AAD', () => {
  const key = unhex(GCM16.key), iv = unhex(GCM16.iv), aad = unhex(GCM16.aad);
  const sealed = gcm(key, iv, aad).encrypt(unhex(GCM16.pt));
  assert.equal(hex(sealed), GCM16.ct + GCM16.tag); // ciphertext || 16-byte tag
  assert.equal(hex(gcm(key, iv, aad).decrypt(sealed)), GCM16.pt);
});

test('noble aes-256-gcm interoperates with WebCrypto, and rejects tampering', async () => {
  const rawKey = randomBytes(32);
  assert.equal(rawKey.length, 32);
  const key = await subtle.importKey('raw', rawKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
  for (const size of [0, 1, 16, 1000, 256 * 1024]) {
    const iv = randomBytes(12), aad = te.encode(`chunk ${size}`), pt = bytes(size, size + 1);
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 };

    const fromNoble = gcm(rawKey, iv, aad).encrypt(pt);
    assert.equal(fromNoble.length, size + 16);
    assert.equal(hex(new Uint8Array(await subtle.decrypt(params, key, fromNoble))), hex(pt));

    const fromSubtle = new Uint8Array(await subtle.encrypt(params, key, pt));
    assert.equal(hex(fromSubtle), hex(fromNoble));
    assert.equal(hex(gcm(rawKey, iv, aad).decrypt(fromSubtle)), hex(pt));

    for (const i of [0, Math.floor(fromNoble.length / 2), fromNoble.length - 1]) {
      const bad = fromNoble.slice();
      bad[i] ^= 0x01;
      assert.throws(() => gcm(rawKey, iv, aad).decrypt(bad));
      await assert.rejects(subtle.decrypt(params, key, bad));
    }
    const wrongAad = te.encode(`chunk ${size + 1}`);
    assert.throws(() => gcm(rawKey, iv, wrongAad).decrypt(fromNoble));
    await assert.rejects(subtle.decrypt({ ...params, additionalData: wrongAad }, key, fromNoble));
  }
});

test('noble gcm instances are single-use for encrypt', () => {
  const c = gcm(new Uint8Array(32), new Uint8Array(12));
  c.encrypt(new Uint8Array(1));
  assert.throws(() => c.encrypt(new Uint8Array(1)), /twice/);
  // Key length (16/24/32) is checked when the cipher is used, not when it is created.
  assert.throws(() => gcm(new Uint8Array(31), new Uint8Array(12)).encrypt(new Uint8Array(1)));
});

// --- QR: decode-free structural checks against ISO/IEC 18004 --------------------------------

const FORMAT_ECC_BITS = { L: 1, M: 0, Q: 3, H: 2 };
function bchFormat(ecc, mask) {
  const data = (FORMAT_ECC_BITS[ecc] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data << 10) | rem) ^ 0x5412;
}
function bchVersion(version) {
  let rem = version;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
  return (version << 12) | rem;
}

function assertFinder(m, top, left) {
  for (let y = -1; y <= 7; y++) {
    for (let x = -1; x <= 7; x++) {
      const r = top + y, c = left + x;
      if (r < 0 || c < 0 || r >= m.length || c >= m.length) continue;
      const d = Math.max(Math.abs(y - 3), Math.abs(x - 3)); // ring 0 (centre) .. 4 (separator)
      assert.equal(m[r][c], d !== 2 && d !== 4, `finder at (${top},${left}) module (${r},${c})`);
    }
  }
}

function assertQrStructure(qr, ecc) {
  const m = qr.data, n = qr.size;
  assert.equal(n, 4 * qr.version + 17);
  assert.equal(m.length, n);
  for (const row of m) {
    assert.equal(row.length, n);
    for (const v of row) assert.equal(typeof v, 'boolean');
  }
  assertFinder(m, 0, 0);
  assertFinder(m, 0, n - 7);
  assertFinder(m, n - 7, 0);
  for (let i = 8; i < n - 8; i++) {
    assert.equal(m[6][i], i % 2 === 0, 'horizontal timing pattern');
    assert.equal(m[i][6], i % 2 === 0, 'vertical timing pattern');
  }
  assert.equal(m[n - 8][8], true, 'dark module');
  // Format information, both copies (bit i of the 15-bit word).
  const want = bchFormat(ecc, qr.maskPattern);
  const bit = (i) => ((want >>> i) & 1) === 1;
  const first = [[0, 8], [1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [7, 8], [8, 8], [8, 7],
    [8, 5], [8, 4], [8, 3], [8, 2], [8, 1], [8, 0]]; // [row, col] for bits 0..14
  first.forEach(([r, c], i) => assert.equal(m[r][c], bit(i), `format bit ${i} (copy 1)`));
  for (let i = 0; i < 8; i++) assert.equal(m[8][n - 1 - i], bit(i), `format bit ${i} (copy 2)`);
  for (let i = 8; i < 15; i++) assert.equal(m[n - 15 + i][8], bit(i), `format bit ${i} (copy 2)`);
  if (qr.version >= 7) {
    const v = bchVersion(qr.version);
    for (let i = 0; i < 18; i++) {
      const a = n - 11 + (i % 3), b = Math.floor(i / 3), on = ((v >>> i) & 1) === 1;
      assert.equal(m[b][a], on, `version bit ${i} (top right)`);
      assert.equal(m[a][b], on, `version bit ${i} (bottom left)`);
    }
  }
}

test('qr helpers reproduce the standard\'s table values', () => {
  assert.equal(bchFormat('L', 0), 0b111011111000100);
  assert.equal(bchFormat('M', 0), 0b101010000010010);
  assert.equal(bchFormat('Q', 0), 0b011010101011111);
  assert.equal(bchFormat('H', 0), 0b001011010001001);
  assert.equal(bchVersion(7), 0x07c94);
  assert.equal(bchVersion(40), 0x28c69);
});

test('uqr encode: sizes per version and error-correction level', () => {
  // 11 alphanumeric characters: version 1 holds them at Q (16 max) but not at H (10 max).
  const q = qrEncode('HELLO WORLD', { ecc: 'Q', border: 0 });
  assert.equal(q.version, 1);
  assert.equal(q.size, 21);
  assertQrStructure(q, 'Q');
  const h = qrEncode('HELLO WORLD', { ecc: 'H', border: 0 });
  assert.equal(h.version, 2);
  assert.equal(h.size, 25);
  assertQrStructure(h, 'H');
  // A share link, byte mode: 96 bytes need version 6 at M (84 max at version 5, 106 at 6).
  const link = 'http://192.168.1.23:8080/r/' + 'a'.repeat(22) + '#k=' + 'B'.repeat(43);
  assert.equal(link.length, 95);
  const m = qrEncode(link + '/', { ecc: 'M', border: 0 });
  assert.equal(m.version, 6);
  assertQrStructure(m, 'M');
  // Version >= 7 carries version information blocks.
  const big = qrEncode('x'.repeat(300), { ecc: 'L', border: 0 });
  assert.ok(big.version >= 7, `version ${big.version}`);
  assertQrStructure(big, 'L');
  // Every level, fixed masks.
  for (const ecc of ['L', 'M', 'Q', 'H']) {
    for (let mask = 0; mask < 8; mask++) {
      const r = qrEncode('p2pshare', { ecc, maskPattern: mask, border: 0 });
      assert.equal(r.maskPattern, mask);
      assertQrStructure(r, ecc);
    }
  }
});

test('uqr encode: border option adds a light quiet zone (default border is 1)', () => {
  const bare = qrEncode('HELLO WORLD', { ecc: 'Q', border: 0 });
  const def = qrEncode('HELLO WORLD', { ecc: 'Q' });
  assert.equal(def.size, bare.size + 2);
  const b4 = qrEncode('HELLO WORLD', { ecc: 'Q', border: 4 });
  assert.equal(b4.size, bare.size + 8);
  for (let r = 0; r < b4.size; r++) {
    for (let c = 0; c < b4.size; c++) {
      const inside = r >= 4 && c >= 4 && r < b4.size - 4 && c < b4.size - 4;
      assert.equal(b4.data[r][c], inside ? bare.data[r - 4][c - 4] : false);
    }
  }
});
