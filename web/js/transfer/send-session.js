// The sending side of one receiver: what it is doing, and what to send it next. Pure: events
// in (from its link, its control frames, the user), the next step out; no channel, no file,
// no timers (the caller passes the clock, in ms).
//
// The sender's shell (sender.js, send-loop.js) carries the steps out: `next()` says start a
// file, send a block, or end a file; the shell reads and sends it and reports back
// (`started`, `blockSent`, `eofSent`). A receiver cannot make it send more than it asked
// for, or sooner: a want goes through the WantGate (guards.js), an ack counts only for a
// block in flight, and at most WINDOW_BLOCKS blocks per lane open are unacknowledged.
// Its states and their moves are in send-state.js.
//
// Lanes (docs/protocol.md, Lanes): a receiver that takes them may get blocks over several
// peer connections. `windowOpen(lanes)` then allows WINDOW_BLOCKS per lane open, never
// more than AHEAD_BLOCKS past the lowest block in flight (the receiver's reorder window);
// `chooseLane` (lanes.js) picks the lane with the least buffered, the first lane alone until the
// receiver has acknowledged a block of the file (so its `start` is known to be in); a lane
// lost with blocks in flight hands them back (`laneLost`), and they go out again first.
// Why this module is over 300 lines: it is one receiver's whole sending side (moves, wants,
// plan, acks, the window over lanes); split, each part would reach into the other's fields.

import { AHEAD_BLOCKS, BLOCK_SIZE, WINDOW_BLOCKS, blockCount, blockLength } from '../wire.js';
import { WantGate } from './guards.js';
import { IllegalTransition } from './receive-file.js';
import { ENDED_STATES, FRAME_STATES, SEND_TRANSITIONS, SendReason, SendState } from './send-state.js';

export { ENDED_STATES, FRAME_STATES, SEND_TRANSITIONS, SendReason, SendState };

const S = SendState;

/** The send loop also waits while the channel buffers more than this (Chromium caps at 16 MiB). */
export const HIGH_WATER_BYTES = 4 << 20;
/** A receiver that left the room and stopped acknowledging for this long is gone. */
export const GONE_AFTER_SILENCE_MS = 3000;

/**
 * @typedef {{f: number, fromBlock: number, chain: string|null, nextBlock: number, started: boolean}} QueuedFile
 * @typedef {{op: 'start', f: number, fromBlock: number, chain: string|null}
 *   | {op: 'block', f: number, index: number, again?: boolean}
 *   | {op: 'eof', f: number}} SendStep
 */

export class SendSession {
  /** @param {number} nowMs */
  constructor(nowMs) {
    /** @type {string} a SendState; moved only by `move` */
    this.state = S.CONNECTING;
    /** @type {string} a SendReason */
    this.reason = SendReason.NONE;
    /** what the reason is about (a file's path, an error's message) */
    this.detail = '';
    this.present = true;
    this.cancelledByReceiver = false;
    /** bumped whenever the current send loop must stop (new want, channel lost, end) */
    this.generation = 0;
    /** @type {QueuedFile[]} */
    this.queue = [];
    this.inflightBlocks = 0;
    this.wantedBytes = 0;
    this.doneBytes = 0;
    this.sentBytes = 0;
    this.resumedBytes = 0;
    this.joinedAtMs = nowMs;
    this.lastAckAtMs = nowMs;
    /** @type {{f: number, reason: string, path: string}[]} files the receiver could not keep */
    this.failures = [];
    this.wantGate = new WantGate(nowMs);
    /** @type {Map<number, Set<number>>} file -> its blocks sent and not yet acknowledged */
    this.unacked = new Map();
    /** @type {Set<number>} files with a block acknowledged in this plan (their start is in) */
    this.ackedFiles = new Set();
    /** @type {{f: number, index: number}[]} blocks a lost lane handed back: they go out first */
    this.again = [];
    /** peer connections the receiver takes (its want's `lanes`; 1: the first only) */
    this.lanesTaken = 1;
  }

  /** Move to `to`, or IllegalTransition if the table forbids it. */
  move(to, { reason = SendReason.NONE, detail = '' } = {}, why = 'move') {
    if (!SEND_TRANSITIONS[this.state].includes(to)) throw new IllegalTransition(this.state, to, why);
    this.state = to;
    this.reason = reason;
    this.detail = detail;
  }

  get ended() {
    return ENDED_STATES.includes(this.state);
  }

  /** Stop the current send loop (it checks `generation` after every await). */
  halt() {
    this.generation++;
  }

  /** Leave for good (cancel, stop): the loop stops. */
  end(state, reason, detail = '') {
    this.halt();
    this.move(state, { reason, detail }, 'end');
  }

  // --- the link ---------------------------------------------------------------------------

  /** A new data channel is open: wants waiting for the old one are void. */
  channelOpened() {
    this.wantGate.reset();
    if (this.state === S.CONNECTING || this.state === S.GONE) this.move(S.CONNECTED, {}, 'channel open');
  }

  /** The data channel closed: the loop stops; the receiver's next want resumes it. */
  channelClosed() {
    this.halt();
    this.wantGate.reset();
    if (this.state === S.TRANSFERRING || this.state === S.CONNECTED) {
      this.move(this.present ? S.CONNECTING : S.GONE, {}, 'channel closed');
    }
  }

  /** It left the room; `channelOpen`: whether its data channel still is. */
  left(channelOpen) {
    this.present = false;
    if (!channelOpen && (this.state === S.CONNECTING || this.state === S.CONNECTED)) this.move(S.GONE, {}, 'left');
  }

  /** Its connection died while it was away: nothing to repair until it returns. */
  lostWhileAway() {
    if (this.state !== S.DONE && !this.ended) this.move(S.GONE, {}, 'lost while away');
  }

  /** It is (back) in the room. Returns whether to greet it (say hello). */
  rejoined(channelOpen) {
    this.present = true;
    if (this.ended) return false;
    if (this.state === S.GONE) this.move(channelOpen ? S.CONNECTED : S.CONNECTING, {}, 'rejoined');
    return true;
  }

  /** Gone if it left the room and has been silent on a channel still open in name. */
  checkVanished(nowMs) {
    if (this.state !== S.TRANSFERRING || this.present || nowMs - this.lastAckAtMs <= GONE_AFTER_SILENCE_MS) return false;
    this.end(S.GONE, SendReason.NONE);
    return true;
  }

  /**
   * A sealed message from it arrived; returns whether to act on it. One that cancelled and
   * opens the link again (a hello from a new page) starts afresh.
   * @param {{helloFromNewPage: boolean}} what
   */
  admitSealed({ helloFromNewPage }) {
    if (this.state === S.CANCELLED && this.cancelledByReceiver && helloFromNewPage) {
      this.cancelledByReceiver = false;
      this.failures = [];
      this.move(S.CONNECTING, {}, 'came back');
    }
    if (this.state === S.CANCELLED || this.state === S.UNVERIFIED) return false;
    if (this.state === S.WRONG_KEY) this.move(S.CONNECTING, {}, 'verified message');
    return true;
  }

  /** Someone opened the link with another secret (ignored once it ended otherwise). */
  wrongKey() {
    if (this.state === S.CANCELLED || this.state === S.UNVERIFIED) return;
    this.halt();
    this.move(S.WRONG_KEY, { reason: SendReason.WRONG_KEY }, 'wrong key');
  }

  unverified() {
    this.end(S.UNVERIFIED, SendReason.UNVERIFIED);
  }

  // --- its control frames -----------------------------------------------------------------

  /** Whether its data-channel frames count now (not while it is ended or not yet connected). */
  get takesFrames() {
    return FRAME_STATES.includes(this.state);
  }

  /**
   * A want: returns {plan: true} when it was planned (start the loop), else {retryInMs} when
   * one waits for the gate (call `due` then; null: a timer is already asked for).
   * @param {{f: number, from: number, chain: string|null}[]} entries @param {number[]} sizesBytes
   */
  want(entries, sizesBytes, nowMs, lanes = 1) {
    if (!this.takesFrames) return { plan: false, retryInMs: null };
    this.lanesTaken = lanes;
    const { act, retryInMs } = this.wantGate.offer(entries, nowMs);
    if (!act) return { plan: false, retryInMs };
    this.plan(act, sizesBytes, nowMs);
    return { plan: true, retryInMs: null };
  }

  /** The timer a waiting want asked for fired. */
  due(sizesBytes, nowMs) {
    if (!this.takesFrames) return { plan: false, retryInMs: null };
    const { act, retryInMs } = this.wantGate.due(nowMs);
    if (!act) return { plan: false, retryInMs };
    this.plan(act, sizesBytes, nowMs);
    return { plan: true, retryInMs: null };
  }

  /** Replace what is queued with `entries` (already unique): a new loop from their `from`. */
  plan(entries, sizesBytes, nowMs) {
    this.halt();
    this.inflightBlocks = 0;
    this.unacked = new Map();
    this.ackedFiles = new Set();
    this.again = [];
    this.queue = entries
      .filter((w) => w.f < sizesBytes.length)
      .map((w) => ({
        f: w.f,
        fromBlock: Math.min(w.from, blockCount(sizesBytes[w.f])),
        chain: w.chain,
        nextBlock: 0,
        started: false,
      }));
    this.wantedBytes = 0;
    this.doneBytes = 0;
    for (const item of this.queue) {
      this.wantedBytes += sizesBytes[item.f];
      this.doneBytes += Math.min(item.fromBlock * BLOCK_SIZE, sizesBytes[item.f]);
    }
    this.resumedBytes = this.doneBytes;
    this.lastAckAtMs = nowMs;
    this.move(this.queue.length ? S.TRANSFERRING : this.failures.length ? S.FAILED : S.DONE, this.failureReason(), 'want');
    return this.generation;
  }

  /**
   * An ack of block `index` of file `f`. Counts only for a block in flight (so a replayed or
   * invented ack neither opens the window nor moves the progress); returns whether it
   * counted (then the window may open).
   */
  ack(f, index, sizesBytes, nowMs) {
    const unacked = this.unacked.get(f);
    if (!this.takesFrames || !unacked?.delete(index)) return false;
    this.inflightBlocks--;
    this.ackedFiles.add(f);
    this.lastAckAtMs = nowMs;
    this.doneBytes = Math.min(this.wantedBytes, this.doneBytes + blockLength(sizesBytes[f], index));
    return true;
  }

  /** A lane closed with these blocks in flight on it: they go out again (first). */
  laneLost(blocks) {
    for (const { f, index } of blocks) {
      if (!this.unacked.get(f)?.delete(index)) continue; // acknowledged meanwhile, or another plan's
      this.inflightBlocks--;
      this.again.push({ f, index });
    }
  }

  /** It could not keep file `f` (`reason`: the wire's fail reason); `path` for the view. */
  receiverFailed(f, reason, path) {
    if (!this.takesFrames) return;
    this.failures.push({ f, reason, path });
    this.move(S.FAILED, this.failureReason(), 'fail');
  }

  /** It has every file it wanted (some may have failed: then it stays failed). */
  receiverDone() {
    if (!this.takesFrames) return;
    this.halt();
    this.doneBytes = this.wantedBytes;
    this.move(this.failures.length ? S.FAILED : S.DONE, this.failureReason(), 'done');
  }

  /** The reason that goes with a move, once the receiver could not keep a file. */
  failureReason() {
    return this.failures.length ? { reason: SendReason.RECEIVER_FAILED } : {};
  }

  // --- the send loop's steps --------------------------------------------------------------

  /**
   * Whether block `step` may go out now: over one lane, `bufferedAmountBytes` is its
   * channel's; over several, `lanes` is their number (chooseLane then looks at each one's),
   * and the block must lie within AHEAD_BLOCKS of the lowest one in flight.
   * @param {number} bufferedAmountBytes @param {number} [lanes] @param {SendStep|null} [step]
   */
  windowOpen(bufferedAmountBytes, lanes = 1, step = null) {
    if (this.inflightBlocks >= WINDOW_BLOCKS * lanes) return false;
    if (lanes === 1) return bufferedAmountBytes <= HIGH_WATER_BYTES;
    if (step?.op !== 'block') return true;
    let lowest = Infinity;
    for (const index of this.unacked.get(step.f) ?? []) lowest = Math.min(lowest, index);
    return step.index < lowest + AHEAD_BLOCKS;
  }

  /** Whether `step` is still what `next` says (a lost lane may have handed blocks back). */
  isNext(step, sizesBytes) {
    const now = this.next(sizesBytes);
    return now?.op === step.op && now.f === step.f && now.index === step.index && Boolean(now.again) === Boolean(step.again);
  }

  /** @param {number[]|null} sizesBytes @returns {SendStep|null} what to do next (null: nothing left) */
  next(sizesBytes) {
    if (this.again.length) return { op: 'block', ...this.again[0], again: true };
    const item = this.queue[0];
    if (!item) return null;
    if (!item.started) return { op: 'start', f: item.f, fromBlock: item.fromBlock, chain: item.chain };
    if (sizesBytes && item.nextBlock >= blockCount(sizesBytes[item.f])) return { op: 'eof', f: item.f };
    return { op: 'block', f: item.f, index: item.nextBlock };
  }

  /**
   * The head file was started; `chainMatched`: whether its receiver's claim held (else it is
   * sent whole, and what the plan counted as done is not).
   */
  started(chainMatched, sizesBytes) {
    const item = this.queue[0];
    if (!chainMatched && item.fromBlock > 0) {
      this.doneBytes -= Math.min(item.fromBlock * BLOCK_SIZE, sizesBytes[item.f]);
      item.fromBlock = 0;
    }
    item.nextBlock = item.fromBlock;
    item.started = true;
    return item.fromBlock;
  }

  /** The block `next` named went out (`step`: that step; without it, the head file's). */
  blockSent(lengthBytes, step = null) {
    let f, index;
    if (step?.again) {
      ({ f, index } = this.again.shift());
    } else {
      f = this.queue[0].f;
      index = this.queue[0].nextBlock++;
    }
    let unacked = this.unacked.get(f);
    if (!unacked) this.unacked.set(f, (unacked = new Set()));
    unacked.add(index);
    this.sentBytes += lengthBytes;
    this.inflightBlocks++;
  }

  eofSent() {
    this.queue.shift(); // acks of its last blocks may still come: `unacked` knows them
  }

  /** The files to send are not added again yet (after the sender's reload). */
  waitForFiles() {
    this.halt();
    this.move(S.CONNECTED, { reason: SendReason.FILES_MISSING }, 'files missing');
  }

  sendFailed(message) {
    this.move(S.FAILED, { reason: SendReason.SEND_ERROR, detail: message }, 'send error');
  }
}
