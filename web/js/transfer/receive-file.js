// One file on the receiving side: what the sender may send for it, and when it is verified.
// Pure: events in (from the data channel and from the sink worker), effects out; no DOM, no
// channel, no worker, no clock.
//
// States and moves (TRANSITIONS below; anything else throws IllegalTransition):
//
//   pending ──start──▶ receiving ──start──▶ receiving     (a resync: resend from a block)
//      │                   │  ▲
//      │                   │  └─ block header / bytes / block verified (stays)
//      │                   └──all blocks verified + eof──▶ verifying ──hash ok──▶ verified
//      │                                                        └──hash bad──▶ failed
//      └── (restored as complete) verified            any but final ──fail──▶ failed
//
// The invariants, each enforced here and tested in web/test/transfer.test.mjs:
// - a block header's index is the next one expected (in order, below the block count of the
//   declared size), and its length is exactly the length that size implies;
// - the bytes of a block never exceed its announced length, so the bytes written never
//   exceed the declared size;
// - `eof` is accepted only once every block has arrived; the file is handed to whole-file
//   verification only once every block is verified; it is `verified` only after its
//   whole-file hash matched.
// A sender that breaks one gets a SenderViolation: the file fails, and the page names the
// sender as the cause.
//
// A receiver that takes lanes (several peer connections: docs/protocol.md, Lanes) makes its
// files with `aheadBlocks` > 1. Blocks then arrive out of order, each lane carrying whole
// blocks: a header may name any block the file still lacks below `aheadBlocks` past the
// verified prefix (`floorBlock`: the sink's, as it last said). A copy of a block it has, or
// one further ahead, is skipped: its bytes are counted and dropped, never written; a copy of
// a block still coming on another lane replaces that one (the other lane may be dying). So
// at most `aheadBlocks` blocks are ever held past the prefix, whatever a sender does. `eof`
// may come before the last blocks (it travels on the first lane); the file is still verified
// only once every block is. The other rules hold per lane. The Python twin (p2pshare/peer/receive_file.py) has only the strict mode:
// the command-line peer takes one lane.
// Why this module is over 300 lines: it is one file's whole set of rules, in order and over
// lanes; the two modes share every field and every final check.

import { BLOCK_SIZE, blockCount, blockLength } from '../wire.js';

/** @enum {string} */
export const FileState = Object.freeze({
  PENDING: 'pending',
  RECEIVING: 'receiving',
  VERIFYING: 'verifying',
  VERIFIED: 'verified',
  FAILED: 'failed',
});

/** Allowed moves: state -> the states it may go to. */
export const TRANSITIONS = Object.freeze({
  [FileState.PENDING]: Object.freeze([FileState.RECEIVING, FileState.FAILED]),
  [FileState.RECEIVING]: Object.freeze([FileState.RECEIVING, FileState.VERIFYING, FileState.FAILED]),
  [FileState.VERIFYING]: Object.freeze([FileState.VERIFIED, FileState.FAILED]),
  [FileState.VERIFIED]: Object.freeze([]),
  [FileState.FAILED]: Object.freeze([]),
});

export const FINAL_STATES = Object.freeze([FileState.VERIFIED, FileState.FAILED]);

/** A move the table does not allow: a bug in the caller, not the peer's doing. */
export class IllegalTransition extends Error {
  constructor(from, to, event) {
    super(`${event}: ${from} -> ${to} is not allowed`);
    this.name = 'IllegalTransition';
    this.from = from;
    this.to = to;
  }
}

/** The sender sent something its own file list rules out; `message` says what, for people. */
export class SenderViolation extends Error {
  constructor(message) {
    super(message);
    this.name = 'SenderViolation';
  }
}

export class ReceiveFile {
  /**
   * @param {number} sizeBytes the declared size
   * @param {{verified?: boolean, aheadBlocks?: number}} [options] `verified`: a file an
   *   earlier page already verified; `aheadBlocks`: the reorder window (1: strictly in order)
   */
  constructor(sizeBytes, { verified = false, aheadBlocks = 1 } = {}) {
    this.sizeBytes = sizeBytes;
    this.blockCount = blockCount(sizeBytes);
    /** @type {string} */
    this.state = verified ? FileState.VERIFIED : FileState.PENDING;
    /** bytes verified from the start of the file (block-aligned, or the size) */
    this.verifiedBytes = verified ? sizeBytes : 0;
    this.aheadBlocks = aheadBlocks;
    /** the next block index the sender may announce (with lanes: the lowest not announced) */
    this.nextBlock = 0;
    /** with lanes: the verified prefix in blocks, the window's start */
    this.floorBlock = 0;
    /** @type {Map<number, number>} with lanes: block -> the lane its bytes come on */
    this.inProgress = new Map();
    /** @type {Set<number>} with lanes: blocks at or past `floorBlock` that arrived whole */
    this.arrived = new Set();
    /** @type {Set<number>} with lanes: ... and that the sink verified */
    this.verifiedAhead = new Set();
    /** @type {Map<number, {index: number, lengthBytes: number, gotBytes: number, skip: string}>} lane -> its block */
    this.lanes = new Map();
    /** @type {string|null} the whole-file SHA-256 from `eof`, hex */
    this.expectedSha256 = null;
    /** whether the sink holds this file as of the latest start (what `verifiedBytes` is about) */
    this.isOpen = verified;
    this.failure = '';
  }

  get isFinal() {
    return FINAL_STATES.includes(this.state);
  }

  /** The block whose bytes come now on the first lane (or null). */
  get current() {
    return this.lanes.get(0) ?? null;
  }

  get inOrder() {
    return this.aheadBlocks <= 1;
  }

  /**
   * Whether the block on `lane` is skipped (its bytes are not written): 'verified' (a copy of
   * one the sink verified), 'held' (of one that arrived, not verified yet), 'ahead' (past the
   * window), 'replaced' (a copy on another lane took over), or '' (it is taken).
   */
  skipping(lane = 0) {
    return this.lanes.get(lane)?.skip ?? '';
  }

  /** The sender starts (or restarts) this file at block `fromBlock`. */
  start(fromBlock) {
    if (!Number.isInteger(fromBlock) || fromBlock < 0 || fromBlock > this.blockCount) {
      throw new SenderViolation(`it started at block ${fromBlock} of a file of ${this.blockCount} blocks`);
    }
    this.moveTo(FileState.RECEIVING, 'start');
    this.nextBlock = fromBlock;
    this.floorBlock = fromBlock;
    this.forgetAhead();
    this.expectedSha256 = null;
    this.isOpen = false; // until the sink says what it holds for this start
  }

  /**
   * What the sink worker really holds once opened for the latest start (may be less than
   * asked for). Returns true if that completes a file whose `eof` came already.
   */
  opened(verifiedBytes) {
    this.requireState('opened', FileState.RECEIVING);
    this.verifiedBytes = verifiedBytes;
    this.floorBlock = Math.floor(verifiedBytes / BLOCK_SIZE);
    this.isOpen = true;
    return this.readyToVerify();
  }

  /**
   * A block header on `lane`: `index` and `lengthBytes` must be what the declared size
   * implies. With lanes, a copy to skip is marked so (`skipping(lane)`).
   */
  blockHeader(index, lengthBytes, lane = 0) {
    this.requireState('block', FileState.RECEIVING);
    const current = this.lanes.get(lane);
    if (current) throw new SenderViolation(`block ${index} began before block ${current.index} was complete`);
    if (this.inOrder && this.expectedSha256 !== null) throw new SenderViolation(`block ${index} came after the end of the file`);
    if (!Number.isInteger(index) || index < 0 || index >= this.blockCount) {
      throw new SenderViolation(`it sent block ${index} of a file of ${this.blockCount} blocks (${this.sizeBytes} bytes)`);
    }
    if (this.inOrder && index !== this.nextBlock) throw new SenderViolation(`it sent block ${index} where block ${this.nextBlock} was due`);
    const expected = blockLength(this.sizeBytes, index);
    if (lengthBytes !== expected) {
      throw new SenderViolation(`block ${index} is ${lengthBytes} bytes where the file's size makes it ${expected}`);
    }
    if (this.inOrder) {
      this.lanes.set(lane, { index, lengthBytes, gotBytes: 0, skip: '' });
      this.nextBlock = index + 1;
      return;
    }
    let skip = '';
    if (index < this.floorBlock || this.verifiedAhead.has(index)) skip = 'verified';
    else if (this.arrived.has(index)) skip = 'held';
    else if (index >= this.floorBlock + this.aheadBlocks) skip = 'ahead';
    this.lanes.set(lane, { index, lengthBytes, gotBytes: 0, skip });
    if (skip) return;
    const other = this.inProgress.get(index);
    if (other !== undefined) this.lanes.get(other).skip = 'replaced';
    this.inProgress.set(index, lane);
  }

  /** Every block in progress, arrived or verified past the prefix is forgotten (a start). */
  forgetAhead() {
    this.lanes.clear();
    this.inProgress.clear();
    this.arrived.clear();
    this.verifiedAhead.clear();
  }

  /**
   * `n` bytes of the block on `lane` arrived. Returns whether they complete it.
   * Bytes with no block announced (after a failure, before a restart) are for the caller to drop.
   */
  bytes(n, lane = 0) {
    this.requireState('bytes', FileState.RECEIVING);
    const current = this.lanes.get(lane);
    if (!current) throw new SenderViolation('it sent bytes outside any block');
    if (current.gotBytes + n > current.lengthBytes) {
      throw new SenderViolation(`block ${current.index} ran over its ${current.lengthBytes} bytes`);
    }
    current.gotBytes += n;
    if (current.gotBytes < current.lengthBytes) return false;
    this.lanes.delete(lane);
    if (!this.inOrder && !current.skip) {
      this.inProgress.delete(current.index);
      this.arrived.add(current.index);
    }
    return true;
  }

  /** A lane closed: the block it was carrying is missing again (the sender sends it again). */
  laneLost(lane) {
    const current = this.lanes.get(lane);
    this.lanes.delete(lane);
    if (current && !current.skip && this.inProgress.get(current.index) === lane) this.inProgress.delete(current.index);
  }

  /**
   * The sink worker verified a block (`index`, with lanes); `verifiedBytes` is what it now
   * holds in order. Returns true when that completes a file whose `eof` came already: time
   * to verify the whole file.
   */
  blockVerified(verifiedBytes, index = -1) {
    this.requireState('verified block', FileState.RECEIVING);
    if (!this.isOpen || verifiedBytes > this.sizeBytes || verifiedBytes < this.verifiedBytes) {
      throw new IllegalTransition(this.state, this.state, `verified up to ${verifiedBytes} of ${this.sizeBytes} bytes`);
    }
    this.verifiedBytes = verifiedBytes;
    if (!this.inOrder) {
      this.floorBlock = Math.max(this.floorBlock, Math.floor(verifiedBytes / BLOCK_SIZE));
      if (index >= this.floorBlock) this.verifiedAhead.add(index);
      for (const set of [this.arrived, this.verifiedAhead]) for (const i of set) if (i < this.floorBlock) set.delete(i);
    }
    return this.readyToVerify();
  }

  /** A block failed its hash: the caller asks for it again (a `start` follows). */
  blockBad() {
    this.requireState('bad block', FileState.RECEIVING);
    this.forgetAhead();
    this.expectedSha256 = null;
  }

  /**
   * The sender's end of file with the whole-file SHA-256. Accepted only after every block
   * arrived. Returns true if every block is verified too (verify the whole file now);
   * otherwise that happens at the `blockVerified` that completes it.
   */
  eof(sha256) {
    this.requireState('eof', FileState.RECEIVING);
    const current = this.current;
    if (this.inOrder && (current || this.nextBlock < this.blockCount)) {
      const had = current ? current.index : this.nextBlock;
      throw new SenderViolation(`it ended the file at block ${had} of ${this.blockCount}`);
    }
    if (this.expectedSha256 !== null) throw new SenderViolation('it ended the file twice');
    this.expectedSha256 = sha256;
    return this.readyToVerify();
  }

  readyToVerify() {
    if (!this.isOpen || this.expectedSha256 === null || this.verifiedBytes !== this.sizeBytes) return false;
    this.moveTo(FileState.VERIFYING, 'all blocks verified');
    return true;
  }

  /** The whole-file check's result. */
  finished(ok) {
    this.requireState('whole-file check', FileState.VERIFYING);
    this.moveTo(ok ? FileState.VERIFIED : FileState.FAILED, 'whole-file check');
    if (!ok) this.failure = 'its SHA-256 did not match the sender’s';
    else this.verifiedBytes = this.sizeBytes;
  }

  /** Give up on this file (a violation, bad blocks again and again, a disk error). */
  fail(reason) {
    if (this.isFinal) return;
    this.moveTo(FileState.FAILED, 'fail');
    this.failure = reason;
    this.forgetAhead();
  }

  /** Blocks to ask for: from the last verified one. */
  get wantFromBlock() {
    return Math.ceil(this.verifiedBytes / BLOCK_SIZE);
  }

  requireState(event, ...states) {
    if (!states.includes(this.state)) {
      if (this.state === FileState.VERIFIED || this.state === FileState.VERIFYING) {
        throw new SenderViolation(`it sent data (${event}) for a file already complete`);
      }
      throw new IllegalTransition(this.state, states.join('|'), event);
    }
  }

  moveTo(state, event) {
    if (!TRANSITIONS[this.state].includes(state)) throw new IllegalTransition(this.state, state, event);
    this.state = state;
  }
}

/**
 * The outcome of a whole transfer: 'done' only when every file is verified and delivered;
 * 'undelivered' when every file is verified but one is not handed over yet; 'failed' when
 * every file is final and one failed; 'waiting' otherwise (some file is still pending,
 * receiving or verifying: never done, never "verified").
 * @param {{state: string, delivered: boolean}[]} files
 */
export function transferOutcome(files) {
  if (!files.every((f) => FINAL_STATES.includes(f.state))) return 'waiting';
  if (files.some((f) => f.state === FileState.FAILED)) return 'failed';
  return files.every((f) => f.delivered) ? 'done' : 'undelivered';
}

/**
 * Bytes missing to store `neededBytes` more, from `navigator.storage.estimate()`'s answer
 * (0 or less: enough). An estimate without a quota tells nothing: 0.
 * @param {number} neededBytes
 * @param {{quota?: number, usage?: number}} estimate
 */
export function storageShortfallBytes(neededBytes, { quota, usage } = {}) {
  if (!Number.isFinite(quota)) return 0;
  return neededBytes - (quota - (Number.isFinite(usage) ? usage : 0));
}
