// The shared conformance vectors (tests/vectors/*.json, made by tests/peer/vectors.py from the
// Python peer, p2pshare/peer/) against the browser's own modules, byte for byte: keys, sealed
// envelopes, control frames, blocks and their chain, offered paths, and state-machine traces
// replayed call by call. tests/peer/test_vectors.py checks the Python side of the same files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { accessKey, joinProof } from '../js/admission.js';
import { cryptoBackend } from '../js/crypto.js';
import { createFileHasher, digest } from '../js/hashing.js';
import { buildLink, creatorRoomId, parseLink } from '../js/link.js';
import { ProtocolError, parseSealedBody } from '../js/protocol.js';
import { SealError, Sealer, parseEnvelope } from '../js/seal.js';
import { senderPublicKey, signEnvelope, verifiedEnvelope } from '../js/signing.js';
import { PathError, checkOfferPaths, pathProblem, portablePath, portableUniquePaths } from '../js/transfer/paths.js';
import { ReceiveFile } from '../js/transfer/receive-file.js';
import { RepairPolicy } from '../js/transfer/repair.js';
import { SendSession } from '../js/transfer/send-session.js';
import { concatBytes, fromHex, toBase64Url, toHex, utf8 } from '../js/util.js';
import { BLOCK_SIZE, CHAIN_START, WireError, blockCount, blockLength, chainNext, encodeControl, fileKey, parseControl } from '../js/wire.js';

/**
 * Sealer.seal with the sequence number and nonce given, composed from the Sealer's own key, AAD
 * and key id exactly as seal() composes them (seal.js is a benchmarked hot path: it stays as it
 * is). The test below also checks that seal() itself makes envelopes of this shape.
 */
async function sealAt(sealer, from, to, sid, seq, nonce, body) {
  const aad = sealer.aad(from, to, sid, sealer.epoch, seq, sealer.kid);
  const sealed = await sealer.backend.encrypt(await sealer.key(from, to), nonce, aad, utf8.encode(JSON.stringify(body)));
  return `v1.${sealer.kid}.${sealer.epoch}.${seq}.${toBase64Url(concatBytes(nonce, sealed))}`;
}

const load = (name) => JSON.parse(readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), 'utf8'));
const KEYS = load('keys.json');
const SEALED = load('sealed.json');
const WIRE = load('wire.json');
const BLOCKS = load('blocks.json');
const PATHS = load('paths.json');
const TRACES = load('traces.json');

for (const prefer of ['webcrypto', 'noble']) {
  const backend = cryptoBackend({ prefer });

  test(`key derivations match the vectors (${prefer})`, async () => {
    for (const v of KEYS.derivations) {
      const secret = fromHex(v.secret_hex);
      const sealer = await new Sealer({ secret, room: v.room, epoch: 1, backend }).init();
      assert.equal(sealer.kid, v.kid);
      assert.equal(await accessKey(secret, v.room, backend), v.access);
      assert.equal(await joinProof(secret, v.room, v.cid, backend), v.proof);
      if (prefer === 'noble') {
        // The noble backend's AES key is the raw derived key: the per-direction keys themselves.
        assert.equal(toHex(await sealer.key(v.from, v.to)), v.signal_key_hex);
        assert.equal(toHex(await sealer.key(v.to, v.from)), v.reverse_key_hex);
      }
    }
  });

  test(`sealed envelopes and their signatures match the vectors (${prefer})`, async () => {
    for (const v of SEALED.seals) {
      const sealer = await new Sealer({ secret: fromHex(v.secret_hex), room: v.room, epoch: v.epoch, backend }).init();
      assert.equal(JSON.stringify(v.body), v.plaintext);
      assert.equal(await sealAt(sealer, v.from, v.to, v.sid, v.seq, fromHex(v.nonce_hex), v.body), v.envelope);
      // seal() itself (a random nonce): the same fields, and it opens to the same body.
      const made = await sealer.seal(v.from, v.to, v.sid, v.body);
      assert.deepEqual(parseEnvelope(made), { ...parseEnvelope(v.envelope), seq: 1, blob: parseEnvelope(made).blob });
      assert.equal(parseEnvelope(made).blob.length, parseEnvelope(v.envelope).blob.length);
      assert.deepEqual((await sealer.open(v.from, v.to, v.sid, made)).body, v.body);
      assert.equal(await signEnvelope(v.seed, v.envelope, backend), v.signed);
      assert.equal(await verifiedEnvelope(senderPublicKey(v.seed), v.signed, backend), v.envelope);
      const opened = await sealer.open(v.from, v.to, v.sid, v.envelope);
      assert.deepEqual(opened, { body: v.body, epoch: v.epoch, seq: v.seq });
    }
  });

  test(`refused envelopes are refused with the same kind (${prefer})`, async () => {
    assert.ok(SEALED.refusals.length >= 10);
    for (const v of SEALED.refusals) {
      const sealer = await new Sealer({ secret: fromHex(v.secret_hex), room: v.room, epoch: 1, backend }).init();
      await assert.rejects(sealer.open(v.from, v.to, v.sid, v.envelope), (e) => e instanceof SealError && e.kind === v.refused, v.envelope);
    }
  });
}

test('creator tokens, links and sealed bodies match the vectors', () => {
  for (const v of KEYS.rooms) assert.equal(creatorRoomId(v.token), v.room);
  const b = KEYS.build;
  assert.equal(buildLink(b.origin, b.room, b.secret, b.senderKey), b.link);
  for (const v of KEYS.links) {
    const p = parseLink(v.pathname, v.hash);
    const got = { page: p.page, room: p.room, secret_hex: p.secret ? toHex(p.secret) : null, senderKey: p.senderKey, secretState: p.secretState };
    assert.deepEqual(got, { page: v.page, room: v.room, secret_hex: v.secret_hex, senderKey: v.senderKey, secretState: v.secretState }, v.hash);
  }
  for (const v of SEALED.bodies) {
    let valid = true;
    try {
      parseSealedBody(v.body);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      valid = false;
    }
    assert.equal(valid, v.valid, JSON.stringify(v.body).slice(0, 80));
  }
});

test('control frames: valid ones round-trip, refused ones name their type', () => {
  for (const text of WIRE.valid) assert.equal(encodeControl(parseControl(text)), text);
  for (const text of WIRE.accepted) parseControl(text);
  for (const v of WIRE.refused) {
    assert.throws(() => parseControl(v.text), (e) => e instanceof WireError && e.frameType === v.frameType, v.text);
  }
});

function seededBytes(seed, size) {
  const out = new Uint8Array(size);
  for (let counter = 0, at = 0; at < size; counter++, at += 32) {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    out.set(createHash('sha256').update(seed).update(count).digest().subarray(0, size - at), at);
  }
  return out;
}

test('blocks, block hashes, the chain and the whole-file SHA-256 match the vectors', async () => {
  assert.equal(BLOCKS.blockSize, BLOCK_SIZE);
  for (const v of BLOCKS.files) {
    const data = seededBytes(v.seed, v.size);
    assert.equal(blockCount(v.size), v.blockCount);
    const lengths = Array.from({ length: v.blockCount }, (_, i) => blockLength(v.size, i));
    assert.deepEqual(lengths, v.blockLengths);
    const hashes = [];
    for (let i = 0; i < v.blockCount; i++) hashes.push(await digest(data.subarray(i * BLOCK_SIZE, i * BLOCK_SIZE + lengths[i])));
    assert.deepEqual(hashes.map(toHex), v.blockHashes);
    const chains = [CHAIN_START];
    for (const h of hashes) chains.push(await chainNext(chains.at(-1), h, digest));
    assert.deepEqual(chains.map(toHex), v.chains);
    const hasher = await createFileHasher();
    hasher.update(data);
    assert.equal(hasher.digestHex(), v.sha256);
  }
  // shared-files.js's manifest id: SHA-256 over the file keys, 32 hex.
  const keys = BLOCKS.manifest.files.map(fileKey).join('\n');
  assert.equal(toHex(await digest(new TextEncoder().encode(keys))).slice(0, 32), BLOCKS.manifest.id);
});

test('offered paths get the same verdicts, messages and portable names', () => {
  for (const v of PATHS.paths) assert.equal(pathProblem(v.path), v.problem, JSON.stringify(v.path));
  for (const v of PATHS.offers) {
    let error = null;
    try {
      checkOfferPaths(v.paths.map((path) => ({ path })));
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      error = e.message;
    }
    assert.equal(error, v.error);
  }
  for (const v of PATHS.portable) assert.equal(portablePath(v.path), v.portable, JSON.stringify(v.path));
  for (const v of PATHS.unique) assert.deepEqual(portableUniquePaths(v.paths, v.taken), v.out);
});

// --- the traces -------------------------------------------------------------------------------

function outcome(run) {
  try {
    const out = run();
    return out === undefined ? null : out;
  } catch (error) {
    if (error?.name !== 'SenderViolation' && error?.name !== 'IllegalTransition') throw error;
    return { error: error.name, message: error.message };
  }
}

const sendSnapshot = (s) => ({
  state: s.state,
  reason: s.reason,
  detail: s.detail,
  generation: s.generation,
  queued: s.queue.length,
  inflightBlocks: s.inflightBlocks,
  wantedBytes: s.wantedBytes,
  doneBytes: s.doneBytes,
  sentBytes: s.sentBytes,
  resumedBytes: s.resumedBytes,
  failures: s.failures.length,
});

function sendCall(s, sizes, call, a) {
  const now = a.nowMs ?? 0;
  switch (call) {
    case 'want':
      return s.want(a.files, sizes, now);
    case 'due':
      return s.due(sizes, now);
    case 'next':
      return s.next(sizes);
    case 'started':
      return s.started(a.chainMatched, sizes);
    case 'ack':
      return s.ack(a.f, a.i, sizes, now);
    case 'windowOpen':
      return s.windowOpen(a.bufferedAmountBytes);
    case 'checkVanished':
      return s.checkVanished(now);
    case 'admitSealed':
      return s.admitSealed({ helloFromNewPage: a.helloFromNewPage });
    case 'left':
    case 'rejoined':
      return s[call](a.channelOpen);
    case 'blockSent':
      return s.blockSent(a.lengthBytes);
    case 'receiverFailed':
      return s.receiverFailed(a.f, a.reason, a.path);
    case 'sendFailed':
      return s.sendFailed(a.message);
    case 'end':
      return s.end(a.state, a.reason);
    case 'cancelledByReceiver': // the shell sets the flag on the receiver's cancel or bye
      s.cancelledByReceiver = true;
      return undefined;
    default:
      return s[call]();
  }
}

test('the send traces replay step for step on SendSession', () => {
  assert.ok(TRACES.send.length >= 4);
  for (const trace of TRACES.send) {
    const session = new SendSession(0);
    trace.steps.forEach((step, n) => {
      const out = outcome(() => sendCall(session, trace.sizesBytes, step.call, step.args));
      assert.deepEqual({ out, after: sendSnapshot(session) }, { out: step.out, after: step.after }, `${trace.name}, step ${n}: ${step.call}`);
    });
  }
});

const REPAIR_ARGS = {
  opened: () => [],
  negotiated: (a) => [a.nowMs],
  channelLost: () => [],
};

test('the repair traces replay step for step on RepairPolicy, for both roles', () => {
  assert.deepEqual(TRACES.repair.map((t) => t.role), ['offerer', 'answerer']);
  for (const trace of TRACES.repair) {
    const policy = new RepairPolicy(trace.role);
    trace.steps.forEach((step, n) => {
      const args = REPAIR_ARGS[step.call]?.(step.args) ?? [step.args];
      const out = outcome(() => policy[step.call](...args));
      assert.deepEqual({ out, after: { restarts: policy.restarts } }, { out: step.out, after: step.after }, `${trace.name}, step ${n}: ${step.call}`);
    });
  }
});

const receiveSnapshot = (r) => ({
  state: r.state,
  verifiedBytes: r.verifiedBytes,
  nextBlock: r.nextBlock,
  wantFromBlock: r.wantFromBlock,
  expectedSha256: r.expectedSha256,
  isOpen: r.isOpen,
  failure: r.failure,
});

const RECEIVE_ARGS = {
  start: (a) => [a.fromBlock],
  opened: (a) => [a.verifiedBytes],
  blockHeader: (a) => [a.index, a.lengthBytes],
  bytes: (a) => [a.n],
  blockVerified: (a) => [a.verifiedBytes],
  blockBad: () => [],
  eof: (a) => [a.sha256],
  finished: (a) => [a.ok],
  fail: (a) => [a.reason],
};

test('the receive traces replay step for step on ReceiveFile', () => {
  assert.ok(TRACES.receive.length >= 3);
  for (const trace of TRACES.receive) {
    const file = new ReceiveFile(trace.sizeBytes, { verified: trace.restoredVerified });
    trace.steps.forEach((step, n) => {
      const out = outcome(() => file[step.call](...RECEIVE_ARGS[step.call](step.args)));
      assert.deepEqual({ out, after: receiveSnapshot(file) }, { out: step.out, after: step.after }, `${trace.name}, step ${n}: ${step.call}`);
    });
  }
});
