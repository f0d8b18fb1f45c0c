// Nearby pairing (node --test web/test/): the messages' strict decoding, the offer state
// machines on both sides and their limits, the key agreement (codes, boxes, the commitment)
// and this device's settings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { commitment, directionKeys, newOfferId, newSide, openBox, sealBox, transcript, verificationCode } from '../js/nearby-keys.js';
import { fromBase64Url, toBase64Url } from '../js/util.js';
import { MAX_NAME_CHARS, NearbySettings, cleanName, randomName } from '../js/nearby-names.js';
import { MAX_PAIRING_CHARS, PairingError, linkOf, matchesSummary, parseBody, parsePairing, summaryOf } from '../js/nearby-wire.js';
import {
  IncomingGuard,
  InState,
  MAX_ALL_OFFERS_PER_MINUTE,
  MAX_OFFERS_PER_MINUTE,
  MAX_OPEN_INCOMING,
  OFFER_TIMEOUT_MS,
  OfferIn,
  OfferOut,
  OutState,
  REVEAL_TIMEOUT_MS,
} from '../js/transfer/nearby-offer.js';

const O = 'AAAAAAAAAAAAAAAAAAAAAA';
const B43 = `${'B'.repeat(42)}A`;
const PK = `B${'C'.repeat(85)}A`;
const BOX = 'D'.repeat(40);
const PATH = `/r/${'R'.repeat(22)}#${'S'.repeat(43)}.${'K'.repeat(43)}`;

test('pairing messages: every kind decodes, anything else is refused', () => {
  for (const message of [
    { k: 'commit', o: O, c: B43 },
    { k: 'key', o: O, pk: PK, n: B43 },
    { k: 'reveal', o: O, pk: PK, n: B43, box: BOX },
    { k: 'answer', o: O, box: BOX },
    { k: 'link', o: O, box: BOX },
    { k: 'cancel', o: O, box: BOX },
  ]) {
    assert.deepEqual(parsePairing(JSON.stringify(message)), message);
  }
  const refused = [
    '[]',
    'null',
    '{"k":"commit"}',
    JSON.stringify({ k: 'commit', o: O, c: B43, extra: 1 }),
    JSON.stringify({ k: 'commit', o: O + 'A', c: B43 }),
    JSON.stringify({ k: 'commit', o: O, c: B43.slice(1) }),
    JSON.stringify({ k: 'key', o: O, pk: PK + 'A', n: B43 }),
    JSON.stringify({ k: 'key', o: O, pk: PK, n: `${B43.slice(1)}=` }),
    JSON.stringify({ k: 'answer', o: O, box: 'short' }),
    JSON.stringify({ k: 'answer', o: O, box: `${BOX}+/` }),
    JSON.stringify({ k: 'toString', o: O }),
    JSON.stringify({ k: '__proto__', o: O }),
    JSON.stringify({ k: 'link', o: O, box: 'A'.repeat(MAX_PAIRING_CHARS) }),
    'not json',
  ];
  for (const text of refused) assert.throws(() => parsePairing(text), PairingError, text.slice(0, 60));
});

test('box bodies: the summary within its limits, a link only ever to a share of this origin', () => {
  const summary = { count: 3, bytes: 10, texts: 1, names: ['a.txt', 'b'] };
  assert.deepEqual(parseBody('reveal', JSON.stringify(summary)), summary);
  for (const bad of [
    { ...summary, texts: 4 },
    { ...summary, names: ['1', '2', '3', '4'] },
    { ...summary, names: ['x'.repeat(256)] },
    { ...summary, count: 100_001 },
    { ...summary, names: ['invoice\u202efdp.exe'] },
    { ...summary, bytes: -1 },
    { ...summary, extra: true },
  ]) {
    assert.throws(() => parseBody('reveal', JSON.stringify(bad)), PairingError);
  }
  assert.deepEqual(parseBody('answer', '{"accept":false}'), { accept: false });
  assert.throws(() => parseBody('answer', '{"accept":"yes"}'), PairingError);
  assert.deepEqual(parseBody('link', JSON.stringify({ path: PATH })), { path: PATH });
  for (const path of [
    `https://evil.example${PATH}`,
    `//evil.example${PATH}`,
    PATH.split('#')[0],
    `${PATH.split('.')[0]}.short`,
    `/x${PATH}`,
    `javascript:alert(1)//${PATH}`,
  ]) {
    assert.throws(() => parseBody('link', JSON.stringify({ path })), PairingError, path);
    assert.equal(linkOf(path), null);
  }
  assert.deepEqual(parseBody('cancel', '{}'), {});
  assert.throws(() => parseBody('cancel', '{"a":1}'), PairingError);
  assert.throws(() => parseBody('nope', '{}'), PairingError);
});

test('summaryOf counts texts and keeps at most five base names', () => {
  const items = [...Array(7)].map((_, n) => ({ path: `dir/f${n}.bin`, size: n, text: n === 0 ? true : undefined }));
  const summary = summaryOf(items);
  assert.deepEqual(summary, { count: 7, bytes: 21, texts: 1, names: ['f0.bin', 'f1.bin', 'f2.bin', 'f3.bin', 'f4.bin'] });
  assert.doesNotThrow(() => parseBody('reveal', JSON.stringify(summary)));
});

test('the offering side: commit, key, reveal, answer, link; out of turn fails once', () => {
  const out = new OfferOut(0);
  assert.equal(out.state, OutState.COMMITTED);
  assert.ok(out.expecting('key') && !out.expecting('answer'));
  assert.deepEqual(out.step('key'), ['send-reveal']);
  assert.ok(out.expecting('answer'));
  assert.deepEqual(out.answered(true), ['send-link']);
  assert.equal(out.state, OutState.LINKED);
  assert.equal(out.open, false);
  assert.deepEqual(out.step('cancel'), [], 'an ended offer takes nothing');

  const declined = new OfferOut(0);
  declined.step('key');
  assert.deepEqual(declined.answered(false), []);
  assert.equal(declined.state, OutState.DECLINED);

  const early = new OfferOut(0);
  assert.deepEqual(early.answered(true), ['send-cancel'], 'an answer before the key is out of turn');
  assert.equal(early.state, OutState.FAILED);

  const confirm = new OfferOut(0, { confirmCode: true });
  confirm.step('key');
  assert.deepEqual(confirm.answered(true), []);
  assert.equal(confirm.state, OutState.CONFIRMING, 'no link before our user confirms the code');
  assert.deepEqual(confirm.step('confirm'), ['send-link']);

  const theirs = new OfferOut(0);
  assert.deepEqual(theirs.step('cancel'), [], 'their cancel is not answered with ours');
  assert.equal(theirs.state, OutState.CANCELLED);

  const slow = new OfferOut(1000);
  assert.deepEqual(slow.tick(1000 + OFFER_TIMEOUT_MS - 1), []);
  assert.deepEqual(slow.tick(1000 + OFFER_TIMEOUT_MS), ['send-cancel']);
  assert.equal(slow.state, OutState.EXPIRED);
});

test('the receiving side: only a matching reveal prompts, only an accepted offer opens', () => {
  const offer = new OfferIn(0);
  assert.ok(offer.expecting('reveal') && !offer.expecting('link'));
  assert.deepEqual(offer.step('reveal'), []);
  assert.equal(offer.state, InState.PROMPTED);
  assert.ok(!offer.expecting('link'), 'no link before our user accepts');
  assert.deepEqual(offer.step('user-accept'), ['send-accept']);
  assert.deepEqual(offer.step('link'), ['open-share']);
  assert.equal(offer.state, InState.OPENED);

  const tampered = new OfferIn(0);
  tampered.step('tampered');
  assert.equal(tampered.state, InState.FAILED);
  const declined = new OfferIn(0);
  declined.step('reveal');
  assert.deepEqual(declined.step('user-decline'), ['send-decline']);
  const pushy = new OfferIn(0);
  pushy.step('reveal');
  assert.deepEqual(pushy.step('link'), ['send-cancel'], 'a link before Accept fails the offer');
  assert.equal(pushy.state, InState.FAILED);
});

test('other devices cannot fill the screen with prompts', () => {
  const guard = new IncomingGuard();
  const held = [];
  for (let n = 0; n < MAX_OPEN_INCOMING; n++) {
    assert.equal(guard.refuse(`d${n}`, held, 0), null);
    held.push({ from: `d${n}`, offer: { open: true } });
  }
  assert.ok(guard.refuse('another', held, 0), 'no more open offers than the limit');
  assert.ok(guard.refuse('d0', held.slice(0, 1), 0), 'one open offer per device');
  const spammer = new IncomingGuard();
  for (let n = 0; n < MAX_OFFERS_PER_MINUTE; n++) assert.equal(spammer.refuse('x', [], n), null);
  assert.ok(spammer.refuse('x', [], 100), 'no more offers a minute than the limit');
  assert.equal(spammer.refuse('x', [], 60_001), null, 'a minute later it may again');
});

async function pair({ swapKeyOf = null } = {}) {
  const o = newOfferId();
  const a = newSide();
  const b = newSide();
  const c = await commitment(a.publicKey, a.nonce);
  const revealed = swapKeyOf ?? a;
  const matches = (await commitment(revealed.publicKey, revealed.nonce)) === c;
  const tA = await transcript(o, a.publicKey, b.publicKey, a.nonce, b.nonce);
  const tB = await transcript(o, revealed.publicKey, b.publicKey, revealed.nonce, b.nonce);
  return {
    o,
    matches,
    codeA: await verificationCode(tA),
    codeB: await verificationCode(tB),
    keysA: await directionKeys(a.secretKey, b.publicKey, tA),
    keysB: await directionKeys(b.secretKey, revealed.publicKey, tB),
  };
}

test('key agreement: both sides get the same code and keys; boxes open only as sealed', async () => {
  const { o, matches, codeA, codeB, keysA, keysB } = await pair();
  assert.ok(matches);
  assert.match(codeA, /^\d{3} \d{3}$/);
  assert.equal(codeA, codeB);
  const box = await sealBox(keysA.aToB, o, 'link', { path: PATH });
  assert.deepEqual(await openBox(keysB.aToB, o, 'link', box), { path: PATH });
  await assert.rejects(openBox(keysB.bToA, o, 'link', box), /does not open/, 'the other direction key');
  await assert.rejects(openBox(keysB.aToB, o, 'answer', box), /does not open/, 'as another kind');
  await assert.rejects(openBox(keysB.aToB, newOfferId(), 'link', box), /does not open/, 'in another offer');
  const tampered = box.slice(0, 20) + (box[20] === 'A' ? 'B' : 'A') + box.slice(21);
  await assert.rejects(openBox(keysB.aToB, o, 'link', tampered), /does not open/);
  const odd = await sealBox(keysA.aToB, o, 'link', { path: 'https://evil.example/' });
  await assert.rejects(openBox(keysB.aToB, o, 'link', odd), PairingError, 'a box that opens is still checked');
});

test('a key revealed that is not the one committed to is caught; another key pair gives another code', async () => {
  const other = newSide();
  const { matches, codeA, codeB } = await pair({ swapKeyOf: other });
  assert.equal(matches, false);
  assert.notEqual(codeA, codeB); // 1 in 10^6 that they collide by chance
});

test('names: friendly, cleaned as the server takes them, remembered; visibility is opt-in', () => {
  assert.match(randomName(() => 0), /^\w+ \w+$/);
  assert.equal(cleanName('  Bob\u202e’s \n phone\u200f '), 'Bob’s phone');
  assert.equal(cleanName('x'.repeat(60)).length, MAX_NAME_CHARS);
  assert.equal(cleanName('😀'.repeat(30)).length, MAX_NAME_CHARS, 'never half a surrogate pair');
  const kept = new Map();
  const storage = { getItem: (k) => kept.get(k) ?? null, setItem: (k, v) => kept.set(k, v) };
  const settings = new NearbySettings(storage, () => 0.5);
  const first = settings.name;
  assert.equal(settings.name, first, 'the random name is kept');
  assert.equal(settings.setName('  My\u202e laptop '), 'My laptop');
  assert.equal(settings.setName('\u202e'), new NearbySettings(storage, () => 0.5).name, 'nothing left: a random name');
  assert.equal(settings.visible(), false, 'nothing kept (a private window): not visible');
  settings.setVisible(true);
  assert.equal(new NearbySettings(storage).visible(), true);
});

// --- the shared vectors (tests/vectors/nearby.json, made by p2pshare/peer/nearby.py) -------

const V = JSON.parse(readFileSync(new URL('../../tests/vectors/nearby.json', import.meta.url), 'utf8'));
const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const toHex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const b64 = (text) => fromBase64Url(text);

test('vectors: keys, commitment, transcript, code and direction keys as Python makes them', async () => {
  const a = newSide({ secretKey: hex(V.dA_hex), nonce: b64(V.nA) });
  const b = newSide({ secretKey: hex(V.dB_hex), nonce: b64(V.nB) });
  assert.equal(toBase64Url(a.publicKey), V.pkA);
  assert.equal(toBase64Url(b.publicKey), V.pkB);
  assert.equal(await commitment(a.publicKey, a.nonce), V.c);
  const t = await transcript(V.o, a.publicKey, b.publicKey, a.nonce, b.nonce);
  assert.equal(toHex(t), V.transcript_hex);
  assert.equal(await verificationCode(t), V.shown);
  const fromA = await directionKeys(a.secretKey, b.publicKey, t);
  const fromB = await directionKeys(b.secretKey, a.publicKey, t);
  for (const keys of [fromA, fromB]) {
    assert.equal(toHex(keys.raw.aToB), V.kA2B_hex);
    assert.equal(toHex(keys.raw.bToA), V.kB2A_hex);
  }
  for (const { transcript_hex: tx, shown } of V.codes) assert.equal(await verificationCode(hex(tx)), shown);
  for (const bad of V.badKeys) {
    await assert.rejects(directionKeys(a.secretKey, b64(bad.pk), t), /not a P-256 point/, bad.why);
  }
});

test('vectors: every box seals to the same bytes and opens; refused boxes are refused', async () => {
  const a = newSide({ secretKey: hex(V.dA_hex) });
  const b = newSide({ secretKey: hex(V.dB_hex) });
  const t = hex(V.transcript_hex);
  const keys = await directionKeys(a.secretKey, b.publicKey, t);
  const key = (name) => (name === 'kA2B' ? keys.aToB : keys.bToA);
  for (const box of V.boxes) {
    assert.equal(await sealBox(key(box.key), V.o, box.kind, box.body, hex(box.iv_hex)), box.box, box.kind);
    assert.deepEqual(await openBox(key(box.key), V.o, box.kind, box.box), box.body);
  }
  for (const box of V.acceptedBoxes) assert.deepEqual(await openBox(key(box.key), V.o, box.kind, box.box), box.body);
  for (const box of V.refusedBoxes) {
    await assert.rejects(
      (async () => {
        parsePairing(JSON.stringify({ k: 'answer', o: box.o, box: box.box })); // as it would arrive
        return openBox(key(box.key), box.o, box.kind, box.box);
      })(),
      box.why,
    );
  }
});

test('vectors: the messages Python sends decode alike; those it refuses are refused', () => {
  for (const text of V.messages) assert.equal(JSON.stringify(parsePairing(text)), text);
  for (const { text, why } of V.refused) assert.throws(() => parsePairing(text), PairingError, why);
});

test('review fixes: a double tap is no failure; an unrevealed offer frees its place soon; limits for all devices', () => {
  const offer = new OfferIn(0);
  assert.deepEqual(offer.tick(REVEAL_TIMEOUT_MS - 1), []);
  offer.revealed(5000);
  assert.equal(offer.deadlineMs, 5000 + OFFER_TIMEOUT_MS, 'the person has the full time to decide');
  assert.deepEqual(offer.step('user-accept'), ['send-accept']);
  assert.deepEqual(offer.step('user-accept'), [], 'a second tap is ignored');
  assert.deepEqual(offer.step('user-decline'), []);
  assert.equal(offer.state, InState.ACCEPTED);
  assert.deepEqual(offer.step('user-cancel'), ['send-cancel'], 'backing out after Accept');
  const silent = new OfferIn(0);
  assert.deepEqual(silent.tick(REVEAL_TIMEOUT_MS), ['send-cancel']);
  assert.equal(silent.state, InState.EXPIRED);
  const out = new OfferOut(0, { confirmCode: true });
  assert.deepEqual(out.step('confirm'), [], 'confirm before there is anything to confirm');
  assert.equal(out.state, OutState.COMMITTED);
  assert.ok(!out.expecting('cancel'), 'no cancel before the keys exist');

  const guard = new IncomingGuard();
  for (let n = 0; n < MAX_ALL_OFFERS_PER_MINUTE; n++) assert.equal(guard.refuse(`new-id-${n}`, [], n), null);
  assert.ok(guard.refuse('yet-another-id', [], 100), 'reconnecting under new ids does not lift the limit');
});

test('matchesSummary: the share is exactly what the offer said, or it is asked again', () => {
  const items = [
    { path: 'a/photo.jpg', size: 10 },
    { path: 'Text 1.txt', size: 5, text: true },
  ];
  assert.ok(matchesSummary(items, summaryOf(items)));
  assert.ok(!matchesSummary(items, summaryOf(items.slice(0, 1))), 'more than offered');
  assert.ok(!matchesSummary(items.slice(0, 1), summaryOf(items)), 'less than offered');
  assert.ok(!matchesSummary([{ ...items[0], size: 11 }, items[1]], summaryOf(items)), 'other sizes');
  assert.ok(!matchesSummary([{ ...items[0], path: 'b.exe' }, items[1]], summaryOf(items)), 'other names');
  assert.equal(summaryOf([...Array(5000)].map((_, n) => ({ path: `${n}`, size: 1 }))).count, 5000, 'every item counted');
  assert.equal(cleanName('\uD800Bob'), 'Bob', 'no lone surrogate kept (the server would refuse the join)');
});
