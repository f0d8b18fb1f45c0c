// The receiving data plane: file frames from the data channel (start, block, bytes, eof) go
// through each file's ReceiveFile (transfer/receive-file.js: the sender's invariants) to the
// sink worker (sink-worker.js: writes, verifies, persists), and the worker's replies go back
// through it. What the controller decides (resync, failure, delivery, the end) it is asked:
//
//   host.files, host.receiving, host.dir, host.mode, host.send(message), host.resync(),
//   host.fileFailed(file, f, reason, wireReason), host.fileVerified(file, blob),
//   host.durable(), host.progress(), host.changed(), host.sinkFailed(error)
//
// Blocks come on the first lane and, when the sender opened them, on others (lanes.js); each
// lane carries whole blocks, so each has its own block in progress (`lanes`, by lane number).
// A block the engine skips (a copy of one it has, or from before a resync) is counted and
// dropped; a copy of a verified one is acknowledged again, so the sender's window cannot
// stall on it. A block whose bytes will not all come (its lane closed, a resync, a copy on
// another lane took over) is dropped from the sink worker too.

import { msg } from './i18n.js';
import { SinkClient } from './sink.js';
import { BLOCK_SIZE } from './wire.js';
import { FileState, IllegalTransition, SenderViolation } from './transfer/receive-file.js';

/** Damaged copies of one block before the file fails (only the sender's side can damage one). */
export const MAX_BAD_BLOCKS = 3;
/** No file byte for this long while one is expected: ask again (a lost lane, a lost block). */
export const STALL_MS = 8000;

/** @typedef {{f: number, index: number, len: number, gotBytes: number, engine: boolean, write: boolean, ackAgain: boolean}} LaneBlock */

export class ReceiveStream {
  constructor(host) {
    this.host = host;
    /** @type {SinkClient|null} */
    this.sink = null;
    /** @type {Map<number, LaneBlock>} lane -> the block whose bytes come now on it */
    this.lanes = new Map();
    /** when the latest file byte came (for `stalled`) */
    this.lastBytesAtMs = 0;
    /** a want went out and its `start` is not here yet: what is in flight is dropped unwritten */
    this.awaitingStart = false;
    this.startedFile = -1;
    this.openSeq = 0;
  }

  /** A new want went out (or a new channel opened): forget what was in flight. */
  resynced() {
    this.awaitingStart = true;
    this.dropInFlight(null);
  }

  /** A new channel opened: nothing is in flight on it yet. */
  reset() {
    this.awaitingStart = false;
    this.lanes.clear();
  }

  /**
   * Blocks coming now of file `f` (null: of every file) are from before a resync or a start:
   * their bytes are counted, never written.
   */
  dropInFlight(f) {
    for (const block of this.lanes.values()) {
      if (f === null || block.f === f) this.unwritten(block, { engine: false });
    }
  }

  /** This block's bytes go no further: the worker forgets what it has of it. */
  unwritten(block, { engine = block.engine } = {}) {
    if (block.write) this.sink?.post({ op: 'drop', seq: this.host.files[block.f]?.openSeq, id: block.f, index: block.index });
    Object.assign(block, { engine, write: false, ackAgain: false });
  }

  /** Extra lane `lane` closed: the block it was carrying comes again (the sender sends it again). */
  laneClosed(lane) {
    const block = this.lanes.get(lane);
    if (!block) return;
    this.lanes.delete(lane);
    this.unwritten(block);
    if (block.engine) this.host.files[block.f]?.engine.laneLost(lane);
  }

  /**
   * Whether bytes are expected and none came for STALL_MS since extra lanes were open: time
   * to ask again. On one lane nothing is ever lost (the channel is reliable and ordered), and
   * a long silence there is SCTP recovering from loss, which a resync would only make worse
   * (what is queued behind it is sent and then dropped).
   */
  stalled(nowMs, hadLanes) {
    if (!this.host.receiving || !hadLanes) return false;
    const expecting = this.host.files.some((file) => file.opened && file.engine.state === FileState.RECEIVING);
    if (!expecting || nowMs - this.lastBytesAtMs < STALL_MS) return false;
    this.lastBytesAtMs = nowMs;
    return true;
  }

  ensureSink() {
    if (this.sink) return;
    const sink = new SinkClient();
    this.sink = sink;
    sink.addEventListener('opened', (event) => this.onOpened(event.detail));
    sink.addEventListener('verified', (event) => this.onVerified(event.detail));
    sink.addEventListener('bad-block', (event) => this.onBadBlock(event.detail));
    sink.addEventListener('finished', (event) => this.onFinished(event.detail));
    sink.addEventListener('error', (event) => this.host.sinkFailed(event.detail));
  }

  closeSink() {
    this.sink?.terminate();
    this.sink = null;
    for (const file of this.host.files) file.opened = false;
  }

  /** Remove a delivered file's OPFS copy. */
  removeStored(name) {
    if (this.host.mode === 'opfs') this.sink?.post({ op: 'close', id: -1, remove: true, dir: this.host.dir, name });
  }

  // --- from the sender --------------------------------------------------------------------

  onStart({ f, from }) {
    const file = this.host.files[f];
    if (!this.host.receiving || !file || file.engine.isFinal || file.engine.state === FileState.VERIFYING) return;
    try {
      file.engine.start(from);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    this.awaitingStart = false;
    this.dropInFlight(f); // the engine forgot them at its start
    this.startedFile = f;
    this.lastBytesAtMs = performance.now();
    const fromBytes = Math.min(from * BLOCK_SIZE, file.info.size);
    file.expectFrom = fromBytes;
    // The worker holds exactly this, or more that came while our claim was on its way (the
    // sender accepted the claim: what we verified since is still good): carry on.
    if (file.opened && (fromBytes === file.from || (from === file.claimedBlock && fromBytes < file.from))) {
      file.engine.opened(file.from);
      this.host.changed();
      return;
    }
    if (file.opened) this.sink.post({ op: 'close', id: f });
    // The sender could not confirm our part (another file behind the same name): start over.
    if (fromBytes < file.saved.from) file.saved = { from: 0, state: null, chain: null };
    file.from = file.saved.from;
    file.received = file.from;
    file.openSeq = ++this.openSeq; // replies to earlier opens of this file are stale from now
    const { dir, mode } = this.host;
    this.sink.post({ op: 'open', seq: file.openSeq, id: f, dir, name: file.name, size: file.info.size, mode, ...file.saved });
    file.opened = true;
    this.host.changed();
  }

  onBlock({ f, i, len, h }, lane = 0) {
    const block = { f, index: i, len, gotBytes: 0, engine: false, write: false, ackAgain: false };
    const file = this.host.files[f];
    if (this.awaitingStart || !this.host.receiving || !file?.opened || file.engine.state !== FileState.RECEIVING) {
      if (lane > 0) this.lanes.set(lane, block); // skipped: its bytes follow on this lane
      return;
    }
    try {
      file.engine.blockHeader(i, len, lane);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    const skip = file.engine.skipping(lane);
    Object.assign(block, { engine: true, write: !skip, ackAgain: skip === 'verified' });
    if (!skip) {
      // A copy on another lane took over from that one (the announce replaces it in the worker).
      for (const other of this.lanes.values()) if (other.f === f && other.index === i && other.write) other.write = false;
      this.sink.post({ op: 'block', seq: file.openSeq, id: f, index: i, len, expected: h });
    }
    this.lanes.set(lane, block);
  }

  onBytes(buffer, lane = 0) {
    const block = this.lanes.get(lane);
    if (!block) {
      if (this.awaitingStart) return; // a resync: what was in flight is dropped unwritten
      const file = this.host.files[this.startedFile];
      if (file?.engine.state === FileState.RECEIVING) {
        this.violation(file, this.startedFile, new SenderViolation('it sent bytes outside any block'));
      }
      return;
    }
    this.lastBytesAtMs = performance.now();
    const file = this.host.files[block.f];
    if (block.engine && file.engine.state !== FileState.RECEIVING) this.unwritten(block, { engine: false }); // it failed meanwhile
    let complete;
    if (block.engine) {
      try {
        complete = file.engine.bytes(buffer.byteLength, lane);
      } catch (error) {
        this.violation(file, block.f, error);
        return;
      }
    } else {
      block.gotBytes += buffer.byteLength;
      complete = block.gotBytes >= block.len;
    }
    if (complete) this.lanes.delete(lane);
    if (!block.write) {
      if (complete && block.ackAgain && !this.awaitingStart) this.host.send({ t: 'ack', f: block.f, i: block.index });
      return;
    }
    file.received += buffer.byteLength;
    this.sink.post({ op: 'write', seq: file.openSeq, id: block.f, index: block.index, bytes: buffer }, [buffer]);
    this.host.progress();
  }

  onEof({ f, sha256 }) {
    if (this.awaitingStart || !this.host.receiving) return;
    const file = this.host.files[f];
    if (!file?.opened || file.engine.state !== FileState.RECEIVING) return;
    try {
      if (file.engine.eof(sha256)) this.verifyWhole(file, f);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    this.host.changed();
  }

  /** The sender broke its own file list's rules for file `f`: that file fails, named as its doing. */
  violation(file, f, error) {
    if (!(error instanceof SenderViolation)) throw error;
    for (const [lane, block] of this.lanes) if (block.f === f) this.lanes.delete(lane);
    if (file.engine.isFinal) {
      console.warn(`sender sent data for ${file.info.path}, already ${file.status}:`, error.message);
      return;
    }
    this.host.fileFailed(file, f, msg('receive.fileError.protocol', { error: error.message }), 'protocol');
  }

  // --- from the sink worker ---------------------------------------------------------------

  /** The file a sink reply is about, or null if it answers an open since replaced. */
  replyFile({ id, seq }) {
    const file = this.host.files[id];
    return file && seq === file.openSeq ? file : null;
  }

  onOpened(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.RECEIVING) return;
    const { id, from, chain, state } = reply;
    const complete = file.engine.opened(from);
    Object.assign(file, { from, received: from, chain, state });
    file.saved = { from, state, chain }; // what the worker really holds, durable
    // Less was on disk than recorded (storage cleared?): ask again from what is really there.
    if (from !== file.expectFrom) this.host.resync();
    else if (complete) this.verifyWhole(file, id);
  }

  onVerified(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.RECEIVING) return;
    const { id, index, durable, from, state, chain } = reply;
    let complete;
    try {
      complete = file.engine.blockVerified(from, index);
    } catch (error) {
      if (!(error instanceof IllegalTransition)) throw error;
      this.host.fileFailed(file, id, msg('receive.fileError.order', { error: error.message }), 'write-error');
      return;
    }
    Object.assign(file, { from, state, chain });
    if (durable) {
      file.saved = { from, state, chain };
      this.host.durable();
    }
    // If closed, the next want says where we are; while a want is on its way, an ack could
    // only match a block of the plan it replaces.
    if (!this.awaitingStart) this.host.send({ t: 'ack', f: id, i: index });
    if (complete) this.verifyWhole(file, id);
    this.host.progress();
  }

  /** Every block is verified and the sender's `eof` is in: check the whole-file SHA-256. */
  verifyWhole(file, id) {
    this.sink.post({ op: 'finish', seq: file.openSeq, id, expected: file.engine.expectedSha256 });
    this.host.changed();
  }

  onBadBlock(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.RECEIVING) return;
    const { id, index } = reply;
    file.engine.blockBad();
    file.badBlocks++;
    file.received = file.from;
    if (file.badBlocks > MAX_BAD_BLOCKS) {
      // The channel is reliable and authenticated: damage can only come from the sender's side.
      this.host.fileFailed(file, id, msg('receive.fileError.damaged', { block: index }));
      return;
    }
    this.host.resync(); // resend from the last good block
  }

  onFinished(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.VERIFYING) return;
    const { id, ok, blob } = reply;
    file.opened = false;
    file.engine.finished(ok);
    if (!ok) {
      this.host.fileFailed(file, id, msg('receive.fileError.hashMismatch'));
      return;
    }
    file.from = file.info.size;
    file.received = file.info.size;
    this.host.fileVerified(file, blob);
  }
}
