// Unit tests of the pure client modules (node --test web/test/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webcrypto } from 'node:crypto';

import { cryptoBackend } from '../js/crypto.js';
import { buildLink, creatorRoomId, newRoom, parseLink } from '../js/link.js';
import { ReplayGuard, SealError, Sealer, newEpoch, parseEnvelope } from '../js/seal.js';
import {
  backoffDelayMs,
  bytesEqual,
  fromBase64Url,
  fromHex,
  RateMeter,
  toBase64Url,
  toHex,
} from '../js/util.js';
import {
  BLOCK_SIZE,
  CHAIN_START,
  CHUNK_SIZE,
  WireError,
  blockCount,
  blockLength,
  chainNext,
  fileKey,
  isSafePath,
  parseControl,
} from '../js/wire.js';

test('base64url round-trips every length and rejects junk', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = webcrypto.getRandomValues(new Uint8Array(n));
    const text = toBase64Url(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64url'));
    assert.deepEqual(fromBase64Url(text), bytes);
  }
  assert.throws(() => fromBase64Url('ab+c'));
  assert.throws(() => fromBase64Url('a'));
  assert.deepEqual(fromHex(toHex(new Uint8Array([0, 255, 16]))), new Uint8Array([0, 255, 16]));
  assert.ok(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
});

test('room ids are derived from the creator token exactly as the server does', () => {
  // Same value as p2pshare.signaling.room.creator_room_id('abc').
  assert.equal(creatorRoomId('abc'), 'wXNFir5bqualRUShxtsPyw');
  const { token, room } = newRoom();
  assert.equal(room, creatorRoomId(token));
});

test('links: room in the path, 256-bit secret and the sender key in the fragment', () => {
  const { room, secretText } = newRoom();
  const key = 'K'.repeat(43);
  assert.equal(fromBase64Url(room).length, 16);
  assert.equal(fromBase64Url(secretText).length, 32);
  const link = new URL(buildLink('https://h:8080', room, secretText, key));
  const parsed = parseLink(link.pathname, link.hash);
  assert.equal(parsed.page, 'room');
  assert.equal(parsed.room, room);
  assert.equal(parsed.secretState, 'ok');
  assert.deepEqual(parsed.secret, fromBase64Url(secretText));
  assert.equal(parsed.senderKey, key);
  // A link cut before (or inside) the sender key is incomplete, not a link without signatures.
  assert.equal(parseLink(`/r/${room}`, `#${secretText}`).secretState, 'malformed');
  assert.equal(parseLink(`/r/${room}`, `#${secretText}.${key.slice(1)}`).secretState, 'malformed');
  assert.equal(parseLink('/', '').page, 'home');
  assert.equal(parseLink(`/r/${room}`, '').secretState, 'missing');
  assert.equal(parseLink(`/r/${room}`, '#abc').secretState, 'malformed');
  assert.equal(parseLink(`/r/${room}`, `#${secretText.slice(0, 40)}`).secretState, 'malformed');
  assert.equal(parseLink('/r/short', `#${secretText}`).page, 'bad-room');
  assert.equal(parseLink(`/r/${room}`, `#k=${secretText}.${key}`).secretState, 'ok');
});

for (const prefer of ['webcrypto', 'noble']) {
  test(`sealing (${prefer}): round trip, and every kind of tampering is caught`, async () => {
    const secret = webcrypto.getRandomValues(new Uint8Array(32));
    const backend = cryptoBackend({ prefer });
    const alice = await new Sealer({ secret, room: 'room-aaaaaaaaaaaaaa', epoch: 5, backend }).init();
    const bob = await new Sealer({ secret, room: 'room-aaaaaaaaaaaaaa', epoch: 9, backend }).init();
    const envelope = await alice.seal('A', 'B', 3, { k: 'offer', sdp: 'v=0 ...' });
    assert.ok(!envelope.includes('v=0'));
    const opened = await bob.open('A', 'B', 3, envelope);
    assert.deepEqual(opened.body, { k: 'offer', sdp: 'v=0 ...' });
    assert.equal(opened.epoch, 5);
    assert.equal(opened.seq, 1);
    assert.equal((await alice.seal('A', 'B', 3, {})).split('.')[3], '2');

    const kindOf = async (promise) => {
      try {
        await promise;
        return 'opened';
      } catch (error) {
        assert.ok(error instanceof SealError);
        return error.kind;
      }
    };
    // Redirected to another peer, another sid, or claimed to come from someone else.
    assert.equal(await kindOf(bob.open('A', 'C', 3, envelope)), 'not-authentic');
    assert.equal(await kindOf(bob.open('A', 'B', 4, envelope)), 'not-authentic');
    assert.equal(await kindOf(bob.open('X', 'B', 3, envelope)), 'not-authentic');
    // A flipped byte anywhere in the sealed blob, or altered header fields.
    const parts = envelope.split('.');
    const blob = fromBase64Url(parts[4]);
    for (const at of [0, 11, 12, blob.length - 1]) {
      const copy = blob.slice();
      copy[at] ^= 1;
      const altered = [...parts.slice(0, 4), toBase64Url(copy)].join('.');
      assert.equal(await kindOf(bob.open('A', 'B', 3, altered)), 'not-authentic');
    }
    assert.equal(await kindOf(bob.open('A', 'B', 3, [parts[0], parts[1], '6', ...parts.slice(3)].join('.'))), 'not-authentic');
    assert.equal(await kindOf(bob.open('A', 'B', 3, [...parts.slice(0, 3), '7', parts[4]].join('.'))), 'not-authentic');
    assert.equal(await kindOf(bob.open('A', 'B', 3, 'garbage')), 'malformed');
    // Another secret: recognised as a different key, not as tampering.
    const stranger = await new Sealer({
      secret: webcrypto.getRandomValues(new Uint8Array(32)),
      room: 'room-aaaaaaaaaaaaaa',
      epoch: 1,
      backend,
    }).init();
    assert.equal(await kindOf(stranger.open('A', 'B', 3, envelope)), 'wrong-key');
  });
}

test('webcrypto and noble seal interchangeably', async () => {
  const secret = webcrypto.getRandomValues(new Uint8Array(32));
  const fast = await new Sealer({ secret, room: 'r0000000000000000', epoch: 1, backend: cryptoBackend() }).init();
  const slow = await new Sealer({ secret, room: 'r0000000000000000', epoch: 2, backend: cryptoBackend({ prefer: 'noble' }) }).init();
  assert.equal(fast.kid, slow.kid);
  assert.deepEqual((await slow.open('A', 'B', 1, await fast.seal('A', 'B', 1, { x: 1 }))).body, { x: 1 });
  assert.deepEqual((await fast.open('B', 'A', 1, await slow.seal('B', 'A', 1, { y: 2 }))).body, { y: 2 });
});

test('replay guard: in order ok, replays caught, older pages ignored, reloads noticed', () => {
  const guard = new ReplayGuard();
  assert.equal(guard.check('A', 10, 1), 'ok');
  assert.equal(guard.check('A', 10, 2), 'ok');
  assert.equal(guard.check('A', 10, 2), 'replay');
  assert.equal(guard.check('A', 10, 1), 'replay');
  assert.equal(guard.check('A', 9, 50), 'stale');
  assert.equal(guard.check('A', 11, 1), 'new-epoch');
  assert.equal(guard.check('A', 10, 3), 'stale');
  assert.equal(guard.check('B', 1, 1), 'ok');
  assert.equal(parseEnvelope('v1.kid.12.3.abc').seq, 3);
});

test('epochs grow across reloads of a tab, even if the clock goes back', () => {
  const memory = new Map();
  const storage = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v) };
  const first = newEpoch(storage, 2_000_000);
  const second = newEpoch(storage, 1_000_000);
  assert.ok(second > first);
  assert.ok(Number.isSafeInteger(newEpoch(storage)));
});

test('wire: sizes, safe paths and control validation', () => {
  assert.ok(CHUNK_SIZE + 64 <= 262144);
  assert.equal(BLOCK_SIZE % CHUNK_SIZE, 0);
  assert.equal(blockCount(0), 0);
  assert.equal(blockCount(1), 1);
  assert.equal(blockCount(BLOCK_SIZE), 1);
  assert.equal(blockCount(BLOCK_SIZE + 1), 2);
  assert.equal(blockLength(BLOCK_SIZE + 1, 1), 1);
  for (const bad of ['', '/etc/passwd', '../x', 'a//b', 'a/./b', 'a\\b', 'a\u0000b', 'x'.repeat(5000)]) {
    assert.ok(!isSafePath(bad), bad);
  }
  for (const good of ['a.txt', 'ordner/ü ñ 文件.bin', 'a/b/c']) assert.ok(isSafePath(good), good);
  assert.notEqual(fileKey({ path: 'a', size: 1, mtime: 2 }), fileKey({ path: 'a', size: 1, mtime: 3 }));
  const h = 'ab'.repeat(32);
  assert.equal(parseControl(JSON.stringify({ t: 'block', f: 0, i: 3, len: 10, h })).i, 3);
  for (const bad of [
    'nope',
    '{}',
    '{"t":"unknown"}',
    JSON.stringify({ t: 'block', f: -1, i: 0, len: 1, h }),
    JSON.stringify({ t: 'block', f: 0, i: 0, len: BLOCK_SIZE + 1, h }),
    JSON.stringify({ t: 'block', f: 0, i: 0, len: 1, h: 'zz' }),
    JSON.stringify({ t: 'manifest', id: 'x', blockSize: BLOCK_SIZE, files: [{ path: '../x', size: 1, mtime: 0, type: '' }] }),
    JSON.stringify({ t: 'want', files: [{ f: 0, from: 1.5, chain: null }] }),
  ]) {
    assert.throws(() => parseControl(bad), WireError, bad);
  }
});

test('block chain: equal prefixes give equal chains, any difference changes it', async () => {
  const sha = async (d) => new Uint8Array(await webcrypto.subtle.digest('SHA-256', d));
  const h1 = await sha(new Uint8Array([1]));
  const h2 = await sha(new Uint8Array([2]));
  const c1 = await chainNext(CHAIN_START, h1, sha);
  const c12 = await chainNext(c1, h2, sha);
  const c21 = await chainNext(await chainNext(CHAIN_START, h2, sha), h1, sha);
  assert.ok(!bytesEqual(c12, c21));
  assert.ok(bytesEqual(c12, await chainNext(await chainNext(CHAIN_START, h1, sha), h2, sha)));
});

test('backoff and rates (sizes and times for people: i18n.test.mjs)', () => {
  for (let attempt = 0; attempt < 30; attempt++) {
    const low = backoffDelayMs(attempt, { random: () => 0 });
    const high = backoffDelayMs(attempt, { random: () => 0.999999 });
    assert.ok(low >= 250 && high <= 10000 && low <= high);
  }
  const meter = new RateMeter(1000);
  meter.add(0, 0);
  meter.add(500, 500);
  meter.add(1000, 1000);
  assert.equal(meter.rate(), 1000);
});
