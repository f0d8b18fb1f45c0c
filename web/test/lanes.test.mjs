// Lanes in the pure engine (node --test web/test/): blocks over several peer connections,
// out of order on the receiving side, scheduled and handed back on the sending side, and
// the policy that opens and closes lanes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LANE_STEPS, LONG_RTT_MS, LaneAction, LanePolicy, MIN_REMAINING_BYTES, PROBE_MS, chooseLane } from '../js/transfer/lanes.js';
import { FileState, ReceiveFile, SenderViolation } from '../js/transfer/receive-file.js';
import { HIGH_WATER_BYTES, SendSession } from '../js/transfer/send-session.js';
import { AHEAD_BLOCKS, BLOCK_SIZE, MAX_LANES, WINDOW_BLOCKS, parseControl } from '../js/wire.js';

const MIB = BLOCK_SIZE;
const CHUNK = 128 * 1024;

/** A receiving file that takes lanes, started at `from`, with the sink holding `from` too. */
function laneFile(blocks, from = 0) {
  const file = new ReceiveFile(blocks * MIB, { aheadBlocks: AHEAD_BLOCKS });
  file.start(from);
  file.opened(from * MIB);
  return file;
}

/** Header then every byte of block `index` on `lane`; returns whether it was taken. */
function feed(file, index, lane) {
  file.blockHeader(index, MIB, lane);
  const taken = !file.skipping(lane);
  for (let got = 0; got < MIB; got += CHUNK) file.bytes(CHUNK, lane);
  return taken;
}

/** What the sink would say, block by block in the order given: each verified, the prefix as it then stands. */
function verify(file, indices) {
  const have = new Set();
  let prefix = 0;
  let complete = false;
  for (const index of indices) {
    have.add(index);
    while (have.has(prefix)) prefix++;
    if (file.state !== FileState.RECEIVING) break;
    complete = file.blockVerified(Math.min(prefix * MIB, file.sizeBytes), index) || complete;
  }
  return complete;
}

test('blocks out of order across lanes are taken once each, and the file verifies only when all are in', () => {
  const file = laneFile(6);
  // Lane 1 carries 1 and 3, lane 2 carries 2, lane 0 carries 0, 4, 5; interleaved headers.
  file.blockHeader(1, MIB, 1);
  file.blockHeader(2, MIB, 2);
  file.blockHeader(0, MIB, 0);
  for (let got = 0; got < MIB; got += CHUNK) {
    file.bytes(CHUNK, 2);
    file.bytes(CHUNK, 0);
    file.bytes(CHUNK, 1);
  }
  assert.equal(feed(file, 4, 0), true);
  assert.equal(feed(file, 3, 1), true);
  // eof comes on the first lane before the last block (it is still on its way on another).
  assert.equal(file.eof('ab'.repeat(32)), false);
  assert.equal(feed(file, 5, 2), true);
  assert.equal(verify(file, [0, 1, 2, 4]), false, 'verified in order up to 3 blocks: not yet');
  assert.equal(file.verifiedBytes, 3 * MIB);
  assert.equal(file.blockVerified(5 * MIB, 3), false, 'block 3 fills the gap: 5 in order');
  assert.equal(file.blockVerified(6 * MIB, 5), true);
  assert.equal(file.state, FileState.VERIFYING);
});

test('a copy of a block it has is skipped (verified, or held while the sink checks it); one past the window as ahead', () => {
  const file = laneFile(40);
  assert.equal(feed(file, 0, 0), true);
  file.blockHeader(0, MIB, 1);
  assert.equal(file.skipping(1), 'held', 'arrived, not verified yet');
  for (let got = 0; got < MIB; got += CHUNK) file.bytes(CHUNK, 1);
  verify(file, [0]);
  file.blockHeader(0, MIB, 1);
  assert.equal(file.skipping(1), 'verified');
  for (let got = 0; got < MIB; got += CHUNK) file.bytes(CHUNK, 1);
  // The window starts at the verified prefix (block 1): 1 + AHEAD_BLOCKS is past it.
  file.blockHeader(1 + AHEAD_BLOCKS, MIB, 2);
  assert.equal(file.skipping(2), 'ahead');
  for (let got = 0; got < MIB; got += CHUNK) file.bytes(CHUNK, 2);
  assert.equal(feed(file, AHEAD_BLOCKS, 2), true, 'the last block inside the window is taken');
});

test('a sender cannot make a receiver hold more than AHEAD_BLOCKS past a block it never completes', () => {
  const file = laneFile(1000);
  file.blockHeader(0, MIB, 1); // never completed: the prefix stays at 0
  file.bytes(CHUNK, 1);
  let taken = 0;
  for (let index = 1; index < 600; index++) if (feed(file, index, 0)) taken++;
  assert.equal(taken, AHEAD_BLOCKS - 1);
  assert.ok(file.arrived.size <= AHEAD_BLOCKS && file.inProgress.size <= MAX_LANES);
});

test('a lane that dies mid-block leaves that block missing again, and its next copy is taken', () => {
  const file = laneFile(4);
  feed(file, 0, 0);
  file.blockHeader(1, MIB, 1);
  file.bytes(CHUNK, 1);
  feed(file, 2, 2);
  file.laneLost(1);
  assert.equal(feed(file, 1, 0), true, 'its copy on another lane is taken');
  assert.equal(feed(file, 2, 0), false, 'and a copy of 2 is skipped');
});

test('a copy of a block still coming on another lane takes over from it (that lane may be dying)', () => {
  const file = laneFile(4);
  file.blockHeader(1, MIB, 1);
  file.bytes(CHUNK, 1);
  assert.equal(feed(file, 1, 0), true);
  assert.equal(file.skipping(1), 'replaced', 'the first copy is now only counted');
  for (let got = CHUNK; got < MIB; got += CHUNK) file.bytes(CHUNK, 1);
  assert.equal(file.arrived.has(1), true);
  assert.throws(() => file.bytes(1, 1), SenderViolation, 'bytes past it on that lane are outside any block');
});

test('a resume after blocks came over several lanes starts from what was verified in order', () => {
  const first = laneFile(8);
  for (const [index, lane] of [[0, 0], [2, 1], [3, 2], [1, 0], [5, 1]]) feed(first, index, lane);
  verify(first, [0, 1, 2, 3, 5]); // blocks 0-3 in order; 5 was ahead, never in order
  assert.equal(first.wantFromBlock, 4);
  // The page reloads: a new engine for the same file, started at the claim the sender accepted.
  const again = laneFile(8, first.wantFromBlock);
  assert.equal(feed(again, 3, 1), false, 'a block before the resume point is skipped');
  assert.equal(feed(again, 5, 1), true, 'block 5 must come again: only whole blocks in order were kept');
  assert.equal(feed(again, 4, 0), true);
});

test('the strict engine (one lane: the command-line peer) still refuses blocks out of order', () => {
  const file = new ReceiveFile(4 * MIB);
  file.start(0);
  file.opened(0);
  assert.throws(() => file.blockHeader(1, MIB), SenderViolation);
});

/** A sender session for one file of `blocks` MiB, its want taken with `lanes`. */
function sendSession(blocks, lanes) {
  const session = new SendSession(0);
  session.channelOpened();
  const sizes = [blocks * MIB];
  session.want([{ f: 0, from: 0, chain: null }], sizes, 0, lanes);
  assert.equal(session.next(sizes).op, 'start');
  session.started(true, sizes);
  return { session, sizes };
}

test('over lanes the window is WINDOW_BLOCKS per lane, never AHEAD_BLOCKS past the lowest unacknowledged block', () => {
  const { session, sizes } = sendSession(100, MAX_LANES);
  let sent = 0;
  while (session.windowOpen(0, MAX_LANES, session.next(sizes))) {
    session.blockSent(MIB, session.next(sizes));
    sent++;
  }
  assert.equal(sent, Math.min(WINDOW_BLOCKS * MAX_LANES, AHEAD_BLOCKS));
  // Every block but the lowest acknowledged: the window moves by at most AHEAD_BLOCKS past it.
  for (let i = 1; i < sent; i++) assert.equal(session.ack(0, i, sizes, 1), true);
  while (session.windowOpen(0, MAX_LANES, session.next(sizes))) session.blockSent(MIB, session.next(sizes));
  assert.equal(session.next(sizes).index, AHEAD_BLOCKS, 'block 0 unacknowledged holds the window at 0 + AHEAD_BLOCKS');
  assert.equal(session.ack(0, 0, sizes, 2), true);
  assert.equal(session.windowOpen(0, MAX_LANES, session.next(sizes)), true);
});

test('a lane lost with blocks in flight hands them back: they go out first, and their old acks do not count twice', () => {
  const { session, sizes } = sendSession(10, 3);
  for (let i = 0; i < 6; i++) session.blockSent(MIB, session.next(sizes));
  session.laneLost([{ f: 0, index: 2 }, { f: 0, index: 4 }, { f: 0, index: 9 }]);
  assert.equal(session.inflightBlocks, 4, 'block 9 was never in flight');
  assert.deepEqual(session.next(sizes), { op: 'block', f: 0, index: 2, again: true });
  session.blockSent(MIB, session.next(sizes));
  assert.deepEqual(session.next(sizes), { op: 'block', f: 0, index: 4, again: true });
  session.blockSent(MIB, session.next(sizes));
  assert.deepEqual(session.next(sizes), { op: 'block', f: 0, index: 6 });
  assert.equal(session.ack(0, 2, sizes, 1), true);
  assert.equal(session.ack(0, 2, sizes, 1), false, 'a second ack of the same block');
  assert.equal(session.ack(0, 7, sizes, 1), false, 'an ack of a block not sent');
});

test('chooseLane: the least buffered lane under the high-water mark, only the first until the file was acknowledged', () => {
  const lanes = [
    { n: 0, bufferedBytes: 3 * MIB },
    { n: 1, bufferedBytes: MIB },
    { n: 2, bufferedBytes: 2 * MIB },
  ];
  assert.equal(chooseLane(lanes, true), 1);
  assert.equal(chooseLane(lanes, false), 0);
  assert.equal(chooseLane([{ n: 0, bufferedBytes: HIGH_WATER_BYTES + 1 }, { n: 1, bufferedBytes: 0 }], false), null);
  assert.equal(chooseLane([{ n: 0, bufferedBytes: HIGH_WATER_BYTES + 1 }, { n: 1, bufferedBytes: HIGH_WATER_BYTES + 1 }], true), null);
});

/** Drive the policy: every PROBE_MS, `rateFor(lanes)` bytes/s arrive; lanes open at once. */
function drive(policy, { rttMs, rateFor, remainingBytes = 1e12, rounds = 12 }) {
  let lanes = 1;
  let acked = 0;
  let now = 0;
  const steps = [];
  for (let round = 0; round < rounds; round++) {
    now += PROBE_MS;
    acked += (rateFor(lanes) * PROBE_MS) / 1000;
    const step = policy.tick({ nowMs: now, ackedBytes: acked, rttMs, lanesOpen: lanes, lanesOpening: 0, remainingBytes });
    if (step.action === LaneAction.NONE) continue;
    steps.push(`${step.action} ${step.lanes}`);
    lanes += step.action === LaneAction.ADD ? step.lanes : -step.lanes;
    policy.tick({ nowMs: now, ackedBytes: acked, rttMs, lanesOpen: lanes, lanesOpening: 0, remainingBytes });
  }
  return { lanes, steps };
}

test('on a short round trip (loopback, a LAN) no lane is ever opened', () => {
  const policy = new LanePolicy(MAX_LANES, 0);
  const { lanes, steps } = drive(policy, { rttMs: 0.2, rateFor: () => 30e6 });
  assert.equal(lanes, 1);
  assert.deepEqual(steps, []);
  assert.ok(LONG_RTT_MS > 1);
});

test('on a long link lanes step up (1, 4, the limit) while they help, and the step that did not is undone', () => {
  assert.deepEqual(LANE_STEPS, [1, 4, MAX_LANES]);
  // Throughput grows with lanes up to 4, then stays flat: back to 4.
  const flat = drive(new LanePolicy(MAX_LANES, 0), { rttMs: 40, rateFor: (n) => 2e6 * Math.min(n, 4) });
  assert.deepEqual(flat.steps, ['add 3', `add ${MAX_LANES - 4}`, `remove ${MAX_LANES - 4}`]);
  assert.equal(flat.lanes, 4);
  // More lanes never help (the link, not the congestion window, is the limit): back to 1.
  const bound = drive(new LanePolicy(MAX_LANES, 0), { rttMs: 40, rateFor: () => 12e6 });
  assert.deepEqual(bound.steps, ['add 3', 'remove 3']);
  assert.equal(bound.lanes, 1);
  // Grows all the way.
  const growing = drive(new LanePolicy(MAX_LANES, 0), { rttMs: 100, rateFor: (n) => 1e6 * n });
  assert.deepEqual(growing.steps, ['add 3', `add ${MAX_LANES - 4}`]);
  assert.equal(growing.lanes, MAX_LANES);
});

test('lanes stop at what the receiver takes, and none open with little left to send', () => {
  const capped = drive(new LanePolicy(2, 0), { rttMs: 100, rateFor: (n) => 1e6 * n });
  assert.equal(capped.lanes, 2);
  const short = drive(new LanePolicy(MAX_LANES, 0), { rttMs: 100, rateFor: (n) => 1e6 * n, remainingBytes: MIN_REMAINING_BYTES - 1 });
  assert.equal(short.lanes, 1);
  const strict = drive(new LanePolicy(1, 0), { rttMs: 100, rateFor: (n) => 1e6 * n });
  assert.equal(strict.lanes, 1, 'a receiver that takes one lane (the command-line peer) gets one');
});

test('lane frames: an offer, an answer and candidates go through; anything else in `s` is refused', () => {
  const ok = (s) => parseControl(JSON.stringify({ t: 'lane', n: 1, sid: 1, s }));
  assert.equal(ok({ k: 'offer', sdp: 'v=0', fresh: true }).s.k, 'offer');
  assert.equal(ok({ k: 'cand', c: null }).s.c, null);
  for (const s of [{ k: 'hello' }, { k: 'bye' }, { k: 'offer' }, { k: 'answer', sdp: 'v=0', x: 1 }, null, 'offer']) {
    assert.throws(() => ok(s), /invalid lane/);
  }
  assert.throws(() => parseControl(JSON.stringify({ t: 'lane', n: MAX_LANES, sid: 1, s: { k: 'cand', c: null } })));
  assert.throws(() => parseControl(JSON.stringify({ t: 'want', files: [], lanes: MAX_LANES + 1 })));
});
