// The signaling contract's browser side: sealed bodies are checked like any frame
// (server frames: tests/web/test_protocol_js.py, against the server's own decoder).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { peerIdFor } from '../js/signaling.js';
import { MAX_SDP_CHARS, NEARBY, ProtocolError, SEALED_KINDS, isNearbyDevice, isNearbyName, parseNearbyFrame, parseSealedBody, parseServerFrame } from '../js/protocol.js';

const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' };

test('every sealed body the pages send is accepted', () => {
  const bodies = [
    { k: 'hello', role: 'sender' },
    { k: 'hello', live: false, device: 'Chromium on Linux' },
    { k: 'offer', sdp: 'v=0\r\n', fresh: true, re: 1764576000000123 },
    { k: 'answer', sdp: 'v=0\r\n' },
    { k: 'cand', c: CANDIDATE },
    { k: 'cand', c: null },
    { k: 'restart', fresh: false },
    { k: 'bye', reason: 'cancelled' },
    { k: 'alarm' },
  ];
  for (const body of bodies) assert.equal(parseSealedBody(body), body);
  assert.deepEqual([...new Set(bodies.map((b) => b.k))].sort(), [...SEALED_KINDS].sort());
});

test('a peer holding the secret still cannot slip a malformed body through', () => {
  const refused = [
    null,
    [],
    'hello',
    {},
    { k: 'admin' },
    { k: '__proto__' },
    { k: 'hello', role: 'receiver' },
    { k: 'hello', extra: 1 },
    { k: 'hello', device: 'x'.repeat(201) },
    { k: 'offer' },
    { k: 'offer', sdp: 'x'.repeat(MAX_SDP_CHARS + 1) },
    { k: 'offer', sdp: 'v=0', re: -1 },
    { k: 'offer', sdp: 'v=0', fresh: 'yes' },
    { k: 'answer', sdp: 7 },
    { k: 'cand' },
    { k: 'cand', c: { ...CANDIDATE, evil: true } },
    { k: 'cand', c: { candidate: 'x'.repeat(1025) } },
    { k: 'cand', c: [] },
    { k: 'bye', reason: { toString: 1 } },
    { k: 'alarm', now: true },
    // Not a string at all: must be a ProtocolError too, not a TypeError (that stalled the
    // sender's whole incoming chain: found by review).
    { k: { toString: 1 } },
    { k: ['hello'] },
    { k: 7 },
  ];
  for (const body of refused) assert.throws(() => parseSealedBody(body), ProtocolError, JSON.stringify(body));
  for (const frame of ['{"type":{"toString":1}}', '{"type":["welcome"]}']) {
    assert.throws(() => parseServerFrame(frame), ProtocolError, frame);
  }
});

test('server frames that are not exactly a server message are refused', () => {
  assert.equal(parseServerFrame('{"type":"ping"}').type, 'ping');
  for (const text of ['', 'null', '{"type":"constructor"}', '{"type":"hasOwnProperty"}', '{"type":"pong","x":1}']) {
    assert.throws(() => parseServerFrame(text), ProtocolError, text);
  }
  assert.throws(() => parseServerFrame(new ArrayBuffer(2)), /binary/);
});

test("a receiver derives its own peer id as the server does (room.py peer_id_for)", () => {
  // The value p2pshare.signaling.room.peer_id_for gives for the same room and cid.
  assert.equal(peerIdFor('AAAAAAAAAAAAAAAAAAAAAA', 'cccccccccccccccccccccc'), 'qa9rxsVtHmPkSnmZ');
});

test('nearby: names are checked as the server checks them, and frames strictly', () => {
  for (const name of ['Amber Otter', 'Zoë', '\u{1F9A6}'.repeat(24), 'x'.repeat(NEARBY.MAX_NAME_UNITS)]) {
    assert.ok(isNearbyName(name), name);
  }
  for (const name of ['', ' Amber', 'Amber ', 'x'.repeat(NEARBY.MAX_NAME_UNITS + 1), 'a\u202eb', 'a\u2066b', 'a\u200fb', 'a\u200bb', 'a\nb', 'a\u2028b', '\ud800', 7, null]) {
    assert.ok(!isNearbyName(name), JSON.stringify(name));
  }
  assert.ok(isNearbyDevice('') && !isNearbyName(''));
  for (const frame of ['{"type":{"toString":1}}', '{"type":["near-peer"]}', '{"type":"welcome"}', '{"type":"near-left","id":{"length":16}}']) {
    assert.throws(() => parseNearbyFrame(frame), ProtocolError, frame);
  }
  const relayed = parseNearbyFrame(JSON.stringify({ type: 'near-relayed', from: 'A'.repeat(16), data: 'x'.repeat(NEARBY.MAX_DATA_CHARS) }));
  assert.equal(relayed.data.length, 8192);
});
