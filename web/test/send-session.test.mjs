// The sending side's state machine and its limits, driven as a hostile receiver would
// (node --test web/test/). The clock is an argument: no timers, no waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IllegalTransition } from '../js/transfer/receive-file.js';
import { GONE_AFTER_SILENCE_MS, HIGH_WATER_BYTES, SEND_TRANSITIONS, SendReason, SendSession, SendState } from '../js/transfer/send-session.js';
import { WANT_BURST } from '../js/transfer/guards.js';
import { BLOCK_SIZE, WINDOW_BLOCKS } from '../js/wire.js';

const MIB = 1 << 20;
const S = SendState;

/** A session with an open channel, sharing files of these sizes. */
function connected(nowMs = 0) {
  const session = new SendSession(nowMs);
  session.channelOpened();
  return session;
}

/** Run the plan to the end the way send-loop.js does; returns the steps taken. */
function drain(session, sizes, { maxSteps = 1000 } = {}) {
  const steps = [];
  for (let step = session.next(sizes); step && steps.length < maxSteps; step = session.next(sizes)) {
    steps.push(step);
    if (step.op === 'start') session.started(true, sizes);
    else if (step.op === 'block') {
      session.blockSent(Math.min(BLOCK_SIZE, sizes[step.f] - step.index * BLOCK_SIZE));
      session.ack(step.f, step.index, sizes, 0); // the window stays open
    } else session.eofSent();
  }
  return steps;
}

test('every state has a row, and every move in a row names a state', () => {
  const states = Object.values(S);
  assert.deepEqual(Object.keys(SEND_TRANSITIONS).sort(), [...states].sort());
  for (const targets of Object.values(SEND_TRANSITIONS)) for (const t of targets) assert.ok(states.includes(t), t);
});

test('a move the table forbids throws IllegalTransition, and the state stays', () => {
  const session = new SendSession(0);
  session.unverified();
  assert.throws(() => session.move(S.TRANSFERRING), IllegalTransition);
  assert.equal(session.state, S.UNVERIFIED);
  const fresh = new SendSession(0);
  assert.throws(() => fresh.move(S.DONE), IllegalTransition); // not before a channel and a want
});

test('a want plans the files it names from their block, and the loop sends exactly that', () => {
  const session = connected();
  const sizes = [3 * MIB + 5, 0, MIB];
  const { plan } = session.want([{ f: 0, from: 1, chain: 'c' }, { f: 1, from: 0, chain: null }], sizes, 0);
  assert.equal(plan, true);
  assert.equal(session.state, S.TRANSFERRING);
  assert.equal(session.wantedBytes, 3 * MIB + 5);
  assert.equal(session.doneBytes, MIB); // the block it holds
  const steps = drain(session, sizes);
  assert.deepEqual(
    steps.map((s) => `${s.op}:${s.f}${s.op === 'block' ? `:${s.index}` : ''}`),
    ['start:0', 'block:0:1', 'block:0:2', 'block:0:3', 'eof:0', 'start:1', 'eof:1'],
  );
  assert.equal(session.next(sizes), null);
});

test("a resume claim whose chain does not match sends the whole file, and the done bytes say so", () => {
  const session = connected();
  const sizes = [4 * MIB];
  session.want([{ f: 0, from: 3, chain: 'forged' }], sizes, 0);
  assert.equal(session.doneBytes, 3 * MIB);
  assert.equal(session.started(false, sizes), 0);
  assert.equal(session.doneBytes, 0);
  assert.deepEqual(session.next(sizes), { op: 'block', f: 0, index: 0 });
});

test('a want beyond a file, or for a file that does not exist, is clamped or dropped', () => {
  const session = connected();
  const sizes = [2 * MIB];
  session.want([{ f: 0, from: 99, chain: 'x' }, { f: 7, from: 0, chain: null }], sizes, 0);
  assert.equal(session.queue.length, 1);
  assert.equal(session.queue[0].fromBlock, 2);
  assert.ok(session.doneBytes <= session.wantedBytes);
});

test('a want that names one file many times sends it once', () => {
  const session = connected();
  const sizes = [MIB];
  session.want(Array.from({ length: 50 }, () => ({ f: 0, from: 0, chain: null })), sizes, 0);
  assert.equal(session.queue.length, 1);
  assert.equal(drain(session, sizes).filter((s) => s.op === 'block').length, 1);
});

test('a flood of wants is acted on WANT_BURST times, then the latest one waits for the gate', () => {
  const session = connected();
  const sizes = [MIB, MIB];
  let planned = 0;
  let retries = 0;
  for (let n = 0; n < 300; n++) {
    const { plan, retryInMs } = session.want([{ f: n % 2, from: 0, chain: null }], sizes, 0);
    if (plan) planned++;
    if (retryInMs !== null) retries++;
  }
  assert.equal(planned, WANT_BURST);
  assert.equal(retries, 1); // one timer, not 292
  const { plan } = session.due(sizes, 1000);
  assert.equal(plan, true);
  assert.equal(session.queue[0].f, 299 % 2); // the latest want, nothing older
});

test('the window: at most WINDOW_BLOCKS unacknowledged blocks, and not over the high-water mark', () => {
  const session = connected();
  const sizes = [64 * MIB];
  session.want([{ f: 0, from: 0, chain: null }], sizes, 0);
  session.started(true, sizes);
  for (let i = 0; i < WINDOW_BLOCKS; i++) {
    assert.ok(session.windowOpen(0));
    session.blockSent(MIB);
  }
  assert.equal(session.windowOpen(0), false);
  assert.ok(session.ack(0, 0, sizes, 1));
  assert.ok(session.windowOpen(0));
  assert.equal(session.windowOpen(HIGH_WATER_BYTES + 1), false);
});

test('acks that were never earned do not open the window or inflate progress', () => {
  const session = connected();
  const sizes = [8 * MIB, MIB];
  session.want([{ f: 0, from: 0, chain: null }], sizes, 0);
  assert.equal(session.ack(0, 0, sizes, 0), false); // nothing in flight yet
  session.started(true, sizes);
  session.blockSent(MIB);
  assert.equal(session.ack(1, 0, sizes, 0), false); // a file not in the plan
  assert.equal(session.ack(0, 999, sizes, 0), false); // a block the file does not have
  assert.equal(session.ack(0, 0, sizes, 0), true);
  for (let n = 0; n < 100; n++) assert.equal(session.ack(0, 0, sizes, 0), false); // replayed
  assert.equal(session.inflightBlocks, 0);
  assert.equal(session.doneBytes, MIB);
  assert.ok(session.doneBytes <= session.wantedBytes);
});

test('frames from a receiver that is not connected are ignored (ended, or a wrong key)', () => {
  const session = connected();
  session.wrongKey();
  assert.equal(session.want([{ f: 0, from: 0, chain: null }], [MIB], 0).plan, false);
  session.receiverDone();
  session.receiverFailed(0, 'disk-full', 'a');
  assert.equal(session.state, S.WRONG_KEY);
  const cancelled = connected();
  cancelled.end(S.CANCELLED, SendReason.YOU_CANCELLED);
  assert.equal(cancelled.want([{ f: 0, from: 0, chain: null }], [MIB], 0).plan, false);
  assert.equal(cancelled.state, S.CANCELLED);
});

test('a receiver that failed a file is not shown done when it says done', () => {
  const session = connected();
  const sizes = [MIB, MIB];
  session.want([{ f: 0, from: 0, chain: null }, { f: 1, from: 0, chain: null }], sizes, 0);
  session.receiverFailed(0, 'hash-mismatch', 'a.bin');
  assert.equal(session.state, S.FAILED);
  session.want([{ f: 1, from: 0, chain: null }], sizes, 1000); // it goes on with the rest
  assert.equal(session.state, S.TRANSFERRING);
  session.receiverDone();
  assert.equal(session.state, S.FAILED);
  assert.equal(session.reason, SendReason.RECEIVER_FAILED);
  assert.deepEqual(session.failures, [{ f: 0, reason: 'hash-mismatch', path: 'a.bin' }]);
});

test('channel lost: the loop stops, the state says connecting (or gone if it left)', () => {
  const session = connected();
  session.want([{ f: 0, from: 0, chain: null }], [MIB], 0);
  const generation = session.generation;
  session.channelClosed();
  assert.notEqual(session.generation, generation);
  assert.equal(session.state, S.CONNECTING);
  const away = connected();
  away.want([{ f: 0, from: 0, chain: null }], [MIB], 0);
  away.left(true);
  away.channelClosed();
  assert.equal(away.state, S.GONE);
});

test('a receiver that left and went silent is gone; one still acknowledging is not', () => {
  const session = connected();
  session.want([{ f: 0, from: 0, chain: null }], [8 * MIB], 0);
  session.left(true);
  assert.equal(session.checkVanished(GONE_AFTER_SILENCE_MS), false);
  assert.equal(session.checkVanished(GONE_AFTER_SILENCE_MS + 1), true);
  assert.equal(session.state, S.GONE);
});

test('cancelled by the receiver, it may come back with a new page; cancelled by you, it may not', () => {
  const theirs = connected();
  theirs.cancelledByReceiver = true;
  theirs.end(S.CANCELLED, SendReason.THEY_CANCELLED);
  assert.equal(theirs.admitSealed({ helloFromNewPage: false }), false);
  assert.equal(theirs.admitSealed({ helloFromNewPage: true }), true);
  assert.equal(theirs.state, S.CONNECTING);
  const yours = connected();
  yours.end(S.CANCELLED, SendReason.YOU_CANCELLED);
  assert.equal(yours.admitSealed({ helloFromNewPage: true }), false);
  assert.equal(yours.rejoined(false), false);
});

test('unverified is final: no message is acted on, no greeting is sent', () => {
  const session = connected();
  session.unverified();
  assert.equal(session.admitSealed({ helloFromNewPage: true }), false);
  assert.equal(session.rejoined(true), false);
  session.wrongKey();
  assert.equal(session.state, S.UNVERIFIED);
});

test('files missing after a reload: the loop waits, and a want resumes it', () => {
  const session = connected();
  session.want([{ f: 0, from: 0, chain: null }], [MIB], 0);
  session.waitForFiles();
  assert.equal(session.state, S.CONNECTED);
  assert.equal(session.reason, SendReason.FILES_MISSING);
  session.want([{ f: 0, from: 0, chain: null }], [MIB], 1000);
  assert.equal(session.state, S.TRANSFERRING);
  assert.equal(session.reason, SendReason.NONE);
});

test('an ack that comes after later (empty) files were ended still counts', () => {
  const session = connected();
  const sizes = [MIB, 0, 0, 0, 0, 0];
  session.want(sizes.map((_, f) => ({ f, from: 0, chain: null })), sizes, 0);
  session.started(true, sizes);
  session.blockSent(MIB);
  session.eofSent();
  for (let f = 1; f < sizes.length; f++) {
    assert.equal(session.next(sizes).op, 'start');
    session.started(true, sizes);
    session.eofSent();
  }
  assert.equal(session.ack(0, 0, sizes, 1), true);
  assert.equal(session.inflightBlocks, 0);
});

test('every stop of the send loop bumps the generation, which only grows', () => {
  const session = connected();
  const seen = [session.generation];
  session.want([{ f: 0, from: 0, chain: null }], [MIB], 0);
  seen.push(session.generation);
  session.channelClosed();
  seen.push(session.generation);
  session.end(SendState.CANCELLED, SendReason.STOPPED);
  seen.push(session.generation);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen);
  assert.equal(new Set(seen).size, seen.length);
});
