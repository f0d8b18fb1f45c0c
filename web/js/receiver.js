// The receiver: connects to the room's sender, shows its file list, and after Accept streams
// every file to disk through the sink worker, verifying each block and each whole file.
//
// A thin shell over the parts that decide: the page's phase (transfer/receive-phase.js), each
// file's state machine (transfer/receive-file.js, driven by receive-stream.js), the peer
// connection and its repair (peer-session.js), what is kept for a resume (receive-store.js)
// and the hand-over to the person (delivery.js). Progress is persisted after every verified
// block, so a reload, a crash, a network change or a server restart resumes where it stopped.
//
// Events: 'change' (re-render), 'notice' (detail: {level, text: a Message, i18n.js's msg}).

import { deliverFile } from './delivery.js';
import { errorMessage, msg } from './i18n.js';
import { receiverLanes } from './receive-lanes.js';
import { ChangeThrottle, PeerSession } from './peer-session.js';
import { PersistQueue, forgetRoom, incomingFile, loadRoom, roomRecord, saveRoom } from './receive-store.js';
import { SENDER_AWAY, endBySender, listenToRoom } from './receive-room.js';
import { ReceiveStream } from './receive-stream.js';
import { checkMemoryFallback } from './receive-actions.js';
import { fileFailed, fileVerified, finishIfAllFinal, sinkFailed } from './receive-end.js';
import { storageCapabilities } from './sink.js';
import { FileState } from './transfer/receive-file.js';
import { FINAL_PHASES, Phase, nextPhase } from './transfer/receive-phase.js';
import { RateMeter } from './util.js';
import { BLOCK_SIZE, MAX_LANES, fileKey } from './wire.js';

export const OPFS_ROOT = 'p2pshare';
/** Progress re-renders at most this often: each frame costs the page (and a busy machine) CPU. */
const RENDER_EVERY_MS = 500;

/** @typedef {import('./receive-store.js').IncomingFile} IncomingFile */

export class ReceiverController extends EventTarget {
  /**
   * @param {object} options
   * @param {import('./sealed-signaling.js').SealedSignaling} options.sealed
   * @param {import('./signaling.js').SignalingClient} options.signaling
   * @param {RTCIceServer[]} options.iceServers
   * @param {string} options.room
   * @param {number} options.epoch this page's epoch (offers must echo it)
   * @param {string} options.device a short description of this browser, shown to the sender
   */
  constructor({ sealed, signaling, iceServers, room, epoch, device }) {
    super();
    Object.assign(this, { sealed, signaling, room, epoch, device });
    this.caps = storageCapabilities();
    this.mode = this.caps.opfs ? 'opfs' : 'memory';
    this.dir = [OPFS_ROOT, room];
    /** @type {string|null} */
    this.sender = null;
    this.senderPresent = false;
    /** @type {{id: string, files: import('./wire.js').FileInfo[], missing: number}|null} */
    this.manifest = null;
    /** @type {IncomingFile[]} */
    this.files = [];
    this.accepted = false;
    /** @type {FileSystemDirectoryHandle|null} */
    this.folder = null;
    this.folderName = '';
    /** @type {string} a Phase (transfer/receive-phase.js); moved only by movePhase */
    this.phase = Phase.CONNECTING;
    this.fatal = /** @type {import('./i18n.js').Message|null} */ (null);
    this.statusText = msg('receive.status.connecting');
    this.wantsSent = 0;
    this.resumedFrom = 0;
    this.meter = new RateMeter();
    this.saved = null; // the persisted record
    this.wasPartial = false;
    this.stream = new ReceiveStream(this);
    this.persistQueue = new PersistQueue(() => this.persist());
    this.throttle = new ChangeThrottle(RENDER_EVERY_MS, () => {
      this.meter.add(performance.now(), this.receivedBytes);
      this.changed();
    });
    this.link = new PeerSession({
      role: 'answerer',
      iceServers,
      signal: (body, sid) => this.sender && this.sealed.send(this.sender, sid, body),
      isPresent: () => this.senderPresent && !this.isFinal,
      askRepair: (fresh) => this.sender && this.sealed.send(this.sender, 0, { k: 'restart', fresh }),
      handlers: {
        open: () => this.onChannel(),
        lost: () => {
          this.lanes.closeAll();
          if (this.isFinal) return;
          this.stream.reset();
          this.setStatus(Phase.CONNECTING, this.senderPresent ? msg('receive.status.lost') : SENDER_AWAY);
        },
        control: (message) => this.onControl(message),
        bytes: (buffer) => this.onBytes(buffer),
        badFrame: (error) => this.onBadFrame(error),
        extraChannel: (channel) => this.lanes.adoptChannel(channel),
      },
    });
    this.lanes = receiverLanes(this, iceServers);
    // Bytes expected and none for a while (a block lost with a lane): ask again.
    this.stallWatch = setInterval(() => this.stream.stalled(performance.now(), this.lanes.hadLanes) && this.resync({ quiet: true }), 1000);

    listenToRoom(this);
  }

  get isFinal() {
    return FINAL_PHASES.includes(this.phase);
  }

  /** Move to `phase` with `text` (a Message) on the status line; IllegalTransition if the table forbids it. */
  movePhase(phase, text, why = 'status') {
    this.phase = nextPhase(this.phase, phase, why);
    this.statusText = text;
  }

  /** A status from the connection's events: ignored once the transfer has ended. */
  setStatus(phase, text) {
    if (this.isFinal && phase !== Phase.ERROR) return;
    this.movePhase(phase, text);
    this.changed();
  }

  /** Load what an earlier page of this tab (or another tab) kept for this room. */
  async restore() {
    this.saved = (await loadRoom(this.room)) ?? null;
    if (this.saved?.role === 'receiver') {
      this.accepted = Boolean(this.saved.accepted);
      this.folder = this.saved.folder ?? null;
      this.folderName = this.folder?.name ?? '';
      this.wasPartial = Object.values(this.saved.files ?? {}).some((f) => f.from > 0 || f.status === 'verified');
    }
    return this;
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  /** Re-render (and sample the rate) at most every RENDER_EVERY_MS while bytes stream in. */
  progress() {
    this.throttle.poke();
  }

  notice(level, text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { level, text } }));
  }

  fail(text) {
    this.fatal = text;
    this.movePhase(Phase.ERROR, text, 'fail');
    this.lanes.closeAll();
    this.link.drop();
    this.changed();
  }

  send(message) {
    return this.link.send(message);
  }

  // --- the data channel -------------------------------------------------------------------

  onChannel() {
    this.stream.reset();
    this.setStatus(this.accepted ? Phase.TRANSFERRING : Phase.READY, msg(this.accepted ? 'receive.status.resuming' : 'receive.status.connected'));
  }

  onBadFrame(error) {
    if (error.frameType !== 'manifest') {
      console.warn('bad control frame from sender', error.message);
      return;
    }
    this.fail(msg('receive.fail.manifestRefused', { error: errorMessage(error) }));
  }

  onControl(message) {
    switch (message.t) {
      case 'manifest':
        this.onManifest(message).catch((error) => this.fail(msg('receive.fail.manifestUnreadable', { error: errorMessage(error) })));
        break;
      case 'start':
        this.stream.onStart(message);
        break;
      case 'block':
        this.stream.onBlock(message);
        break;
      case 'eof':
        this.stream.onEof(message);
        break;
      case 'cancel':
        endBySender(this, message.reason);
        break;
      default:
        break;
    }
  }

  /** Every binary frame (a method of its own: scripts/bench/transfer.py times it). */
  onBytes(buffer) {
    this.stream.onBytes(buffer);
  }

  async onManifest(message) {
    // A sender only ever adds files at the end: the files (and the sink's ids, their indices)
    // we know keep their places. A list that moves or drops one is the sender's violation.
    if (!this.files.every((known, f) => message.files[f] && fileKey(message.files[f]) === known.key)) {
      this.fail(msg('receive.fail.manifestChanged'));
      return;
    }
    const sameOffer = this.manifest?.id === message.id;
    this.manifest = { id: message.id, files: message.files, missing: message.missing ?? 0 };
    if (!sameOffer) {
      const savedFiles = this.saved?.files ?? {};
      const previous = new Map(this.files.map((f) => [f.key, f]));
      this.files = await Promise.all(
        message.files.map((info) => previous.get(fileKey(info)) ?? incomingFile(info, savedFiles[fileKey(info)])),
      );
    }
    checkMemoryFallback(this);
    if (this.phase === Phase.DONE && this.files.some((f) => f.status !== FileState.VERIFIED)) {
      this.accepted = false; // the sender added files after we finished: they need a new Accept
      this.wantsSent = 0;
      this.movePhase(Phase.READY, msg('receive.status.ready'), 'more files');
      this.notice('info', msg('notice.moreFiles'));
    }
    if (this.accepted && !this.isFinal) this.resync();
    else if (!this.isFinal) this.setStatus(Phase.READY, msg('receive.status.ready'));
    this.changed();
  }

  get totalBytes() {
    return this.files.reduce((n, f) => n + f.info.size, 0);
  }

  get receivedBytes() {
    return this.files.reduce((n, f) => n + Math.max(f.received, f.from), 0);
  }

  get verifiedBytes() {
    return this.files.reduce((n, f) => n + f.from, 0);
  }

  /** Whether file data may arrive now: only after Accept, once a want went out. */
  get receiving() {
    return this.accepted && this.wantsSent > 0 && this.stream.sink !== null;
  }

  /** Ask for every file not yet complete, from the last verified block (`quiet`: no notice). */
  resync({ quiet = false } = {}) {
    if (!this.link.channelOpen || !this.manifest) return;
    if (this.manifest.missing) this.setStatus(Phase.WAITING_SENDER, msg('receive.status.readding'));
    const wanted = [];
    this.files.forEach((file, f) => {
      if (file.engine.isFinal || file.engine.state === FileState.VERIFYING) return;
      // `from` is block-aligned, or the file's size once its last block is in.
      file.claimedBlock = Math.ceil(file.from / BLOCK_SIZE);
      wanted.push({ f, from: file.claimedBlock, chain: file.from > 0 ? file.chain : null });
    });
    this.stream.resynced();
    if (!wanted.length) {
      finishIfAllFinal(this); // files still being verified finish it when they are
      return;
    }
    const held = this.verifiedBytes;
    if (!quiet && (this.wantsSent > 0 || this.wasPartial) && held > 0 && this.totalBytes > 0) {
      this.notice('info', msg('notice.resuming', { percent: Math.floor((100 * held) / this.totalBytes) }));
      this.resumedFrom = held;
    }
    this.wantsSent++;
    this.stream.ensureSink();
    this.send({ t: 'want', files: wanted, lanes: MAX_LANES });
    if (!this.manifest.missing) this.setStatus(Phase.TRANSFERRING, msg('receive.status.receiving'));
  }

  // --- what receive-stream.js asks of its host (receive-end.js decides) -------------------

  fileFailed(file, f, reason, wireReason = 'hash-mismatch') {
    fileFailed(this, file, f, reason, wireReason);
  }

  fileVerified(file, blob) {
    fileVerified(this, file, blob).catch((error) => console.error(error));
  }

  sinkFailed(error) {
    sinkFailed(this, error);
  }

  durable() {
    this.persistQueue.schedule();
  }

  persist() {
    this.saved = roomRecord(this, this.phase === Phase.DONE);
    return saveRoom(this.room, this.saved);
  }

  /** Hand a verified file to the person: into the picked folder, or to the downloads. */
  deliver(file, blob) {
    if (blob) file.blob = blob; // the in-memory fallback: keep it for "Save again"
    const { folder, folderName, dir } = this;
    return deliverFile(file, { folder, folderName, dir, removeStored: (name) => this.stream.removeStored(name) });
  }

  /** waiting | transferring | done | error, for the page's transfer-state. */
  get aggregateState() {
    if (this.phase === Phase.ERROR) return 'error';
    if (this.phase === Phase.DONE) return 'done';
    if (this.accepted && this.wantsSent && this.files.some((f) => f.status !== FileState.VERIFIED)) return 'transferring';
    return 'waiting';
  }

  get rate() {
    return this.meter.rate();
  }

  /** Remove what this room keeps on disk (after the user is done with it). */
  async forget() {
    clearInterval(this.stallWatch);
    this.lanes.closeAll();
    this.stream.closeSink();
    await forgetRoom(this.room, this.dir);
  }
}
