// The receiver: connects to the room's sender, shows its file list, and after Accept streams
// every file to disk through the sink worker, verifying each block and each whole file.
//
// Progress is persisted after every verified block (IndexedDB for the numbers and the saved
// hash state, OPFS for the bytes), so a reload, a crash, a network change or a server restart
// resumes where it stopped: the receiver tells the sender how many blocks it holds, with the
// block chain as proof, and the sender sends only the rest.
//
// Events: 'change' (re-render), 'notice' (detail: {level, text}).
//
// Why this module is over ~300 lines: it is still the whole receiving shell (signaling and
// link repair, the sink worker, persistence, the status text). The rules it applies moved
// out (transfer/receive-file.js, receive-phase.js, paths.js; delivery.js); the peer session
// shared with the sender and the persistence are the next to go (issue 11's remaining part).

import { PeerLink } from './peer.js';
import { digest } from './hashing.js';
import * as store from './store.js';
import { deliverFile, downloadName, fileBlob, saveZip } from './delivery.js';
import { MEMORY_CAP_BYTES, SinkClient, downloadBlob, removeOpfsDir, storageCapabilities } from './sink.js';
import { RateMeter, formatBytes, toHex } from './util.js';
import { BLOCK_SIZE, WireError, encodeControl, fileKey, parseControl } from './wire.js';
import {
  FileState,
  IllegalTransition,
  ReceiveFile,
  SenderViolation,
  storageShortfallBytes,
  transferOutcome,
} from './transfer/receive-file.js';
import { FINAL_PHASES, Phase, nextPhase } from './transfer/receive-phase.js';

export const OPFS_ROOT = 'p2pshare';
const MAX_BAD_BLOCKS = 3;
/** Progress re-renders at most this often: each frame costs the page (and a busy machine) CPU. */
const RENDER_EVERY_MS = 500;

/**
 * @typedef {object} IncomingFile
 * @property {import('./wire.js').FileInfo} info
 * @property {string} key        fileKey(info)
 * @property {string} name       its file name in OPFS
 * @property {ReceiveFile} engine  what the sender may send next, and when the file is verified
 * @property {'pending'|'receiving'|'verifying'|'verified'|'failed'} status  engine.state (read only)
 * @property {number} from       bytes verified and kept
 * @property {number} received   bytes arrived (verified or not) in this session
 * @property {Uint8Array|null} state  whole-file hash state at `from`
 * @property {string|null} chain block chain at `from`
 * @property {{from: number, state: Uint8Array|null, chain: string|null}} saved  the last durable
 *           (flushed and persisted) point, which is what a new page can resume from
 * @property {boolean} opened    open in the sink worker
 * @property {boolean} delivered handed to the user (download or folder)
 * @property {string} error
 * @property {number} badBlocks
 */

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
    this.sealed = sealed;
    this.signaling = signaling;
    this.iceServers = iceServers;
    this.room = room;
    this.epoch = epoch;
    this.device = device;
    this.caps = storageCapabilities();
    this.mode = this.caps.opfs ? 'opfs' : 'memory';
    this.dir = [OPFS_ROOT, room];
    /** @type {string|null} */
    this.sender = null;
    this.senderPresent = false;
    this.senderEpoch = 0;
    /** @type {PeerLink|null} */
    this.link = null;
    /** @type {{id: string, files: import('./wire.js').FileInfo[], missing: number}|null} */
    this.manifest = null;
    /** @type {IncomingFile[]} */
    this.files = [];
    this.accepted = false;
    /** @type {FileSystemDirectoryHandle|null} */
    this.folder = null;
    this.folderName = '';
    this.sink = null;
    /** @type {string} a Phase (transfer/receive-phase.js); moved only by movePhase */
    this.phase = Phase.CONNECTING;
    this.fatal = '';
    this.statusText = 'Connecting…';
    this.current = null; // {f, index, len, got} the block being received
    this.openSeq = 0; // numbers the sink worker opens (files[i].openSeq: the current one's)
    this.awaitingStart = false;
    this.wantsSent = 0;
    this.resumedFrom = 0;
    this.meter = new RateMeter();
    this.saved = null; // the persisted record
    this.persisting = null;
    this.persistAgain = false;
    this.wasPartial = false;

    signaling.addEventListener('welcome', (event) => {
      const sender = event.detail.peers.find((p) => p.role === 'sender');
      if (sender) this.senderArrived(sender.peer);
      else if (!this.link?.channelOpen) this.setStatus(Phase.WAITING_SENDER, "Waiting for the sender's page to connect…");
    });
    signaling.addEventListener('peer-joined', (event) => {
      if (event.detail.role === 'sender') this.senderArrived(event.detail.peer);
    });
    signaling.addEventListener('peer-left', (event) => {
      if (event.detail.peer !== this.sender) return;
      this.senderPresent = false;
      if (!this.link?.channelOpen && !this.isFinal) {
        this.setStatus(Phase.WAITING_SENDER, "The sender's page is closed or offline. Waiting for it to come back…");
      }
    });
    sealed.addEventListener('message', (event) => this.onSealed(event.detail));
    sealed.addEventListener('security', (event) => this.onSecurity(event.detail));
  }

  get isFinal() {
    return FINAL_PHASES.includes(this.phase);
  }

  /** Move to `phase` with `text` on the status line; IllegalTransition if the table forbids it. */
  movePhase(phase, text, why = 'status') {
    this.phase = nextPhase(this.phase, phase, why);
    this.statusText = text;
  }

  /** Load what an earlier page of this tab (or another tab) kept for this room. */
  async restore() {
    this.saved = (await store.load('rooms', this.room)) ?? null;
    if (this.saved?.role === 'receiver') {
      this.accepted = Boolean(this.saved.accepted);
      this.folder = this.saved.folder ?? null;
      this.folderName = this.folder?.name ?? '';
      this.wasPartial = Object.values(this.saved.files ?? {}).some((f) => f.from > 0 || f.status === 'verified');
    }
    return this;
  }

  /** A status from the connection's events: ignored once the transfer has ended. */
  setStatus(phase, text) {
    if (this.isFinal && phase !== Phase.ERROR) return;
    this.movePhase(phase, text);
    this.changed();
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  notice(level, text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { level, text } }));
  }

  fail(text) {
    this.fatal = text;
    this.movePhase(Phase.ERROR, text, 'fail');
    this.link?.close();
    this.link = null;
    this.changed();
  }

  // --- signaling --------------------------------------------------------------------------

  senderArrived(peer) {
    this.sender = peer;
    this.senderPresent = true;
    if (this.isFinal) return;
    if (!this.link?.channelOpen) this.setStatus(Phase.CONNECTING, 'Connecting to the sender…');
    this.sendHello();
  }

  sendHello() {
    if (!this.sender) return;
    this.sealed.send(this.sender, 0, { k: 'hello', live: Boolean(this.link?.channelOpen), device: this.device });
  }

  onSealed({ from, sid, body, epoch, newEpoch }) {
    if (this.isFinal && body.k !== 'bye') return;
    if (from !== this.sender) this.sender = from; // the only peer that can message us
    if (newEpoch && this.link) {
      // The sender's page reloaded: our connection to its old page is dead.
      this.link.close();
      this.link = null;
    }
    this.senderEpoch = epoch;
    switch (body.k) {
      case 'hello':
        this.sendHello();
        break;
      case 'offer':
        if (body.re !== this.epoch) return; // an offer made for an earlier page of ours
        if (!this.link || body.fresh) this.link = this.makeLink();
        this.link.onSignal(body, sid).catch((error) => console.warn('offer failed', error));
        break;
      case 'cand':
        this.link?.onSignal(body, sid).catch(() => {});
        break;
      case 'bye':
        this.endBySender(body.reason);
        break;
      case 'alarm':
        this.onSecurity({ kind: 'tampered' });
        break;
      default:
        break;
    }
  }

  onSecurity({ kind }) {
    if (this.phase === Phase.ERROR) return;
    if (kind === 'wrong-key') {
      this.fail("This link's key does not match the sender's. Ask the sender for the whole link again.");
      this.signaling.stop();
      return;
    }
    this.fail(
      'This connection could not be verified. Someone may be tampering with the server, so nothing was received. Ask the sender to share again, ideally over a server you trust.',
    );
    // Tell the sender (it shows the same warning), then leave.
    const told = this.sender ? this.sealed.send(this.sender, 0, { k: 'alarm' }) : Promise.resolve();
    Promise.race([told, new Promise((resolve) => setTimeout(resolve, 2000))]).then(() => this.signaling.stop());
  }

  endBySender(reason) {
    this.closeSink();
    const text =
      reason === 'cancelled' ? 'The sender cancelled your download.' : 'The sender stopped sharing. Files already marked verified are complete.';
    if (this.phase === Phase.DONE) this.movePhase(Phase.DONE, text, 'sender left');
    else this.fail(text);
    this.link?.close();
    this.link = null;
    this.signaling.stop();
    this.changed();
  }

  makeLink() {
    this.link?.close();
    const link = new PeerLink({
      role: 'answerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sender && this.sealed.send(this.sender, sid, body),
    });
    link.addEventListener('channel', (event) => this.onChannel(link, event.detail));
    link.addEventListener('channel-closed', () => {
      if (link !== this.link || this.isFinal) return;
      this.current = null;
      this.setStatus(
        Phase.CONNECTING,
        this.senderPresent ? 'Connection lost. Reconnecting…' : "The sender's page is closed or offline. Waiting for it to come back…",
      );
      // If the sender is still there but our channel is gone, ask it for a new connection.
      setTimeout(() => {
        if (link === this.link && !link.channelOpen && this.senderPresent && !this.isFinal) this.requestRestart(true);
      }, 2000);
    });
    link.addEventListener('failed', () => {
      if (link === this.link && !this.isFinal) this.requestRestart(link.dead);
    });
    return link;
  }

  /** Ask the sender to repair the connection: an ICE restart, or a new one if ours is gone. */
  requestRestart(fresh) {
    if (!this.sender) return;
    const now = Date.now();
    if (now - (this.lastRestartRequest ?? 0) < 3000) return;
    this.lastRestartRequest = now;
    this.sealed.send(this.sender, 0, { k: 'restart', fresh });
  }

  // --- the data channel -------------------------------------------------------------------

  onChannel(link, channel) {
    if (link !== this.link) return;
    channel.onmessage = (event) => {
      if (link !== this.link) return;
      if (typeof event.data === 'string') {
        let message;
        try {
          message = parseControl(event.data);
        } catch (error) {
          if (!(error instanceof WireError)) throw error;
          if (error.frameType === 'manifest') {
            this.fail(`The sender's file list was refused, so nothing was received: ${error.message}. Ask the sender to rename that file and share again.`);
            return;
          }
          console.warn('bad control frame from sender', error.message);
          return;
        }
        this.onControl(channel, message);
      } else {
        this.onBytes(event.data);
      }
    };
    this.awaitingStart = false;
    this.current = null;
    this.setStatus(this.accepted ? Phase.TRANSFERRING : Phase.READY, this.accepted ? 'Connected. Resuming…' : 'Connected.');
  }

  onControl(channel, message) {
    switch (message.t) {
      case 'hello':
        break;
      case 'manifest':
        this.onManifest(message).catch((error) => this.fail(`Could not read the file list: ${error.message}`));
        break;
      case 'start':
        this.onStart(message);
        break;
      case 'block':
        this.onBlock(message);
        break;
      case 'eof':
        this.onEof(message);
        break;
      case 'cancel':
        this.endBySender(message.reason);
        break;
      default:
        break;
    }
  }

  async onManifest(message) {
    // A sender only ever adds files at the end: the files (and the sink's ids, their indices)
    // we know keep their places. A list that moves or drops one is the sender's violation.
    if (!this.files.every((known, f) => message.files[f] && fileKey(message.files[f]) === known.key)) {
      this.fail("The sender's page changed its file list during the transfer (files moved or removed), so it was stopped. Ask the sender to share again.");
      return;
    }
    const sameOffer = this.manifest?.id === message.id;
    this.manifest = { id: message.id, files: message.files, missing: message.missing ?? 0 };
    if (!sameOffer) {
      const savedFiles = this.saved?.files ?? {};
      const previous = new Map(this.files.map((f) => [f.key, f]));
      this.files = await Promise.all(
        message.files.map(async (info) => {
          const key = fileKey(info);
          const known = previous.get(key);
          if (known) return known;
          const saved = savedFiles[key] ?? {};
          const name = toHex(await digest(new TextEncoder().encode(key))).slice(0, 32);
          const verified = saved.status === 'verified';
          const checkpoint = { from: verified ? 0 : saved.from ?? 0, state: saved.state ?? null, chain: saved.chain ?? null };
          return {
            info,
            key,
            name,
            engine: new ReceiveFile(info.size, { verified }),
            get status() {
              return this.engine.state;
            },
            from: verified ? info.size : checkpoint.from,
            received: verified ? info.size : checkpoint.from,
            state: checkpoint.state,
            chain: checkpoint.chain,
            saved: checkpoint,
            opened: false,
            delivered: Boolean(saved.delivered),
            error: '',
            badBlocks: 0,
          };
        }),
      );
    }
    this.checkMemoryFallback();
    if (this.phase === Phase.DONE && this.files.some((f) => f.status !== FileState.VERIFIED)) {
      // The sender added files after we finished: they need a new Accept.
      this.accepted = false;
      this.wantsSent = 0;
      this.movePhase(Phase.READY, 'Ready. Press Accept to download.', 'more files');
      this.notice('info', 'The sender added more files.');
    }
    if (this.accepted && !this.isFinal) this.sendWant();
    else if (!this.isFinal) this.setStatus(Phase.READY, 'Ready. Press Accept to download.');
    this.changed();
  }

  checkMemoryFallback() {
    if (this.mode !== 'memory') return;
    const total = this.totalBytes;
    if (total > MEMORY_CAP_BYTES) {
      this.notice(
        'error',
        `These files (${Math.round(total / 1e6)} MB) are too big to receive on this page: it is not a secure (HTTPS) page, so it can only keep files in memory, up to ${MEMORY_CAP_BYTES / 1e9} GB. Ask for the HTTPS link, or open the link on localhost.`,
      );
    }
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

  /** Accept the offer: download everything (to `folder` if one was picked). */
  async accept() {
    if (this.accepted && this.wantsSent) return;
    if (this.mode === 'memory' && this.totalBytes > MEMORY_CAP_BYTES) {
      this.checkMemoryFallback();
      return;
    }
    if (!(await this.enoughSpace())) return;
    this.accepted = true;
    await this.persist();
    if (this.link?.channelOpen && this.manifest) this.sendWant();
    this.changed();
  }

  /**
   * Whether this browser lets the site store what is still to come (OPFS holds every file
   * until it is verified, also when a folder is picked). Says how much is missing if not.
   */
  async enoughSpace() {
    if (this.mode !== 'opfs' || !globalThis.navigator?.storage?.estimate) return true;
    let estimate;
    try {
      estimate = await navigator.storage.estimate();
    } catch {
      return true; // no estimate: the disk-full error is still caught while writing
    }
    const missing = storageShortfallBytes(this.totalBytes - this.verifiedBytes, estimate);
    if (missing <= 0) return true;
    this.notice(
      'error',
      `Not enough storage space: these files need ${formatBytes(missing)} more than this browser lets the site use. Free some disk space (or receive fewer files), then press Accept again.`,
    );
    return false;
  }

  /** Let the user pick a folder to save into (File System Access API, where available). */
  async pickFolder() {
    const handle = await globalThis.showDirectoryPicker({ id: 'p2pshare', mode: 'readwrite' });
    this.folder = handle;
    this.folderName = handle.name;
    await this.accept(); // choosing where to save is accepting
  }

  /** Cancel the download: tell the sender and stop. */
  async cancel() {
    try {
      this.link?.channel?.send(encodeControl({ t: 'cancel' }));
    } catch {
      // closing
    }
    if (this.sender) await this.sealed.send(this.sender, 0, { k: 'bye', reason: 'cancelled' });
    this.closeSink();
    this.fail('You cancelled the download. What had arrived was deleted.');
    this.signaling.stop();
    // Nothing of it stays behind: opening the link again starts afresh.
    this.accepted = false;
    await this.forget();
  }

  sendWant() {
    const channel = this.link?.channel;
    if (!channel || channel.readyState !== 'open' || !this.manifest) return;
    if (this.manifest.missing) {
      this.setStatus(Phase.WAITING_SENDER, 'The sender is adding the files again after a reload. Waiting…');
    }
    const wanted = [];
    this.files.forEach((file, f) => {
      if (file.engine.isFinal || file.engine.state === FileState.VERIFYING) return;
      // `from` is block-aligned, or the file's size once its last block is in.
      wanted.push({ f, from: Math.ceil(file.from / BLOCK_SIZE), chain: file.from > 0 ? file.chain : null });
    });
    this.awaitingStart = true;
    this.current = null;
    if (!wanted.length) {
      this.finishIfAllFinal(); // files still being verified finish it when they are
      return;
    }
    const held = this.verifiedBytes;
    if ((this.wantsSent > 0 || this.wasPartial) && held > 0 && this.totalBytes > 0) {
      const percent = Math.floor((100 * held) / this.totalBytes);
      this.notice('info', `Reconnected — resuming at ${percent}%.`);
      this.resumedFrom = held;
    }
    this.wantsSent++;
    this.ensureSink();
    channel.send(encodeControl({ t: 'want', files: wanted }));
    if (!this.manifest.missing) this.setStatus(Phase.TRANSFERRING, 'Receiving…');
  }

  ensureSink() {
    if (this.sink) return;
    const sink = new SinkClient();
    this.sink = sink;
    sink.addEventListener('opened', (event) => this.onOpened(event.detail));
    sink.addEventListener('verified', (event) => this.onVerified(event.detail));
    sink.addEventListener('bad-block', (event) => this.onBadBlock(event.detail));
    sink.addEventListener('finished', (event) => this.onFinished(event.detail));
    sink.addEventListener('error', (event) => this.onSinkError(event.detail));
  }

  closeSink() {
    this.sink?.terminate();
    this.sink = null;
    for (const file of this.files) file.opened = false;
  }

  /** Whether file data may arrive now: only after Accept, once a want went out. */
  get receiving() {
    return this.accepted && this.wantsSent > 0 && this.sink !== null;
  }

  onStart({ f, from }) {
    const file = this.files[f];
    if (!this.receiving || !file || file.engine.isFinal || file.engine.state === FileState.VERIFYING) return;
    try {
      file.engine.start(from);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    this.awaitingStart = false;
    this.current = null;
    this.startedFile = f;
    const fromBytes = Math.min(from * BLOCK_SIZE, file.info.size);
    file.expectFrom = fromBytes;
    if (file.opened && fromBytes === file.from) {
      file.engine.opened(file.from); // the worker holds exactly this: carry on
      this.changed();
      return;
    }
    if (file.opened) this.sink.post({ op: 'close', id: f });
    if (fromBytes < file.saved.from) {
      // The sender could not confirm our part (another file behind the same name): start over.
      file.saved = { from: 0, state: null, chain: null };
    }
    file.from = file.saved.from;
    file.received = file.from;
    file.openSeq = ++this.openSeq; // replies to earlier opens of this file are stale from now
    this.sink.post({
      op: 'open',
      seq: file.openSeq,
      id: f,
      dir: this.dir,
      name: file.name,
      size: file.info.size,
      mode: this.mode,
      ...file.saved,
    });
    file.opened = true;
    this.changed();
  }

  /** The file a sink reply is about, or null if it answers an open since replaced. */
  replyFile({ id, seq }) {
    const file = this.files[id];
    return file && seq === file.openSeq ? file : null;
  }

  onOpened(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.RECEIVING) return;
    const { id, from, chain, state } = reply;
    const complete = file.engine.opened(from);
    file.from = from;
    file.received = from;
    file.chain = chain;
    file.state = state;
    file.saved = { from, state, chain }; // what the worker really holds, durable
    // Less was on disk than recorded (storage cleared?): ask again from what is really there.
    if (from !== file.expectFrom) this.sendWant();
    else if (complete) this.verifyWhole(file, id);
  }

  onBlock({ f, i, len, h }) {
    if (this.awaitingStart || !this.receiving) return;
    const file = this.files[f];
    if (!file?.opened || file.engine.state !== FileState.RECEIVING) return;
    try {
      file.engine.blockHeader(i, len);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    this.current = { f, index: i, len, got: 0 };
    this.sink.post({ op: 'block', seq: file.openSeq, id: f, index: i, len, expected: h });
  }

  onBytes(buffer) {
    const current = this.current;
    if (this.awaitingStart) return; // a resync: what was in flight is dropped unwritten
    if (!current) {
      const file = this.files[this.startedFile];
      if (file && file.engine.state === FileState.RECEIVING) {
        this.violation(file, this.startedFile, new SenderViolation('it sent bytes outside any block'));
      }
      return;
    }
    const file = this.files[current.f];
    let complete;
    try {
      complete = file.engine.bytes(buffer.byteLength);
    } catch (error) {
      this.violation(file, current.f, error);
      return;
    }
    current.got += buffer.byteLength;
    file.received += buffer.byteLength;
    this.sink.post({ op: 'write', seq: file.openSeq, id: current.f, bytes: buffer }, [buffer]);
    if (complete) this.current = null;
    this.throttledChange();
  }

  /** The sender broke its own file list's rules for file `f`: that file fails, named as its doing. */
  violation(file, f, error) {
    if (!(error instanceof SenderViolation)) throw error;
    this.current = null;
    if (file.engine.isFinal) {
      console.warn(`sender sent data for ${file.info.path}, already ${file.status}:`, error.message);
      return;
    }
    this.fileFailed(file, f, `the sender's page broke the transfer protocol: ${error.message}`, 'protocol');
  }

  /** Re-render (and sample the rate) at most every RENDER_EVERY_MS while bytes stream in. */
  throttledChange() {
    const now = performance.now();
    if (now - (this.lastRender ?? 0) > RENDER_EVERY_MS) {
      this.lastRender = now;
      this.meter.add(now, this.receivedBytes);
      this.changed();
    }
  }

  onVerified(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.RECEIVING) return;
    const { id, index, durable, from, state, chain } = reply;
    let complete;
    try {
      complete = file.engine.blockVerified(from);
    } catch (error) {
      if (!(error instanceof IllegalTransition)) throw error;
      this.fileFailed(file, id, `could not be written in order (${error.message})`, 'write-error');
      return;
    }
    file.from = from;
    file.state = state;
    file.chain = chain;
    if (durable) {
      file.saved = { from, state, chain };
      this.schedulePersist();
    }
    try {
      this.link?.channel?.send(encodeControl({ t: 'ack', f: id, i: index }));
    } catch {
      // the channel closed; the next want tells the sender where we are
    }
    if (complete) this.verifyWhole(file, id);
    this.throttledChange();
  }

  /** Every block is verified and the sender's `eof` is in: check the whole-file SHA-256. */
  verifyWhole(file, id) {
    this.sink.post({ op: 'finish', seq: file.openSeq, id, expected: file.engine.expectedSha256 });
    this.changed();
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
      this.fileFailed(file, id, `the sender's page kept sending block ${index} damaged (not matching its own SHA-256)`);
      return;
    }
    this.sendWant(); // resend from the last good block
  }

  onEof({ f, sha256 }) {
    if (this.awaitingStart || !this.receiving) return;
    const file = this.files[f];
    if (!file?.opened || file.engine.state !== FileState.RECEIVING) return;
    let complete;
    try {
      complete = file.engine.eof(sha256);
    } catch (error) {
      this.violation(file, f, error);
      return;
    }
    if (complete) this.verifyWhole(file, f);
    this.changed();
  }

  async onFinished(reply) {
    const file = this.replyFile(reply);
    if (!file || file.engine.state !== FileState.VERIFYING) return;
    const { id, ok, blob } = reply;
    file.opened = false;
    file.engine.finished(ok);
    if (!ok) {
      this.fileFailed(file, id, file.engine.failure);
      return;
    }
    file.from = file.info.size;
    file.received = file.info.size;
    this.changed();
    file.delivering = true; // the transfer is not done while a hand-over is under way
    try {
      await this.deliver(file, blob);
    } catch (error) {
      file.error = `verified, but could not be saved: ${error.message}`;
      this.notice('error', `${file.info.path} was received and verified, but could not be saved: ${error.message}`);
    } finally {
      file.delivering = false;
    }
    await this.persist();
    this.finishIfAllFinal();
    this.changed();
  }

  async deliver(file, blob) {
    if (blob) file.blob = blob; // the in-memory fallback: keep it for "Save again"
    await deliverFile(file, {
      folder: this.folder,
      folderName: this.folderName,
      dir: this.dir,
      removeStored: (name) => {
        if (this.mode === 'opfs') this.sink?.post({ op: 'close', id: -1, remove: true, dir: this.dir, name });
      },
    });
  }

  /** Hand one verified file to the downloads again (its row's Save button). */
  async saveAgain(file) {
    downloadBlob(await fileBlob(file, this.dir), downloadName(file.info.path));
  }

  /** Every verified file in one ZIP (delivery.js); `onProgress(fraction)` reports the CRC pass. */
  saveZip(onProgress = () => {}) {
    return saveZip(
      this.files.filter((f) => f.status === FileState.VERIFIED),
      this.dir,
      onProgress,
    );
  }

  fileFailed(file, id, reason, wireReason = 'hash-mismatch') {
    file.engine.fail(reason);
    file.error = reason;
    try {
      this.link?.channel?.send(encodeControl({ t: 'fail', f: id, reason: wireReason }));
    } catch {
      // closing
    }
    this.notice('error', `${file.info.path} failed verification (${reason}). It was not saved as complete.`);
    this.persist();
    if (!this.finishIfAllFinal()) this.sendWant();
  }

  /** End the transfer if every file is verified or failed; returns whether it did. */
  finishIfAllFinal() {
    if (transferOutcome(this.files.map((f) => ({ state: f.status, delivered: true }))) === 'waiting') return false;
    this.finishAll();
    return true;
  }

  onSinkError({ id, kind, message }) {
    if (kind === 'disk-full') {
      try {
        this.link?.channel?.send(encodeControl({ t: 'fail', f: Math.max(0, id), reason: 'disk-full' }));
      } catch {
        // closing
      }
      this.fail('Your disk is full (or this site used up its storage quota). Free some space, then open the link again to resume.');
      return;
    }
    if (kind === 'state') {
      const file = this.files[id];
      if (file?.engine.state === FileState.VERIFYING) {
        this.fileFailed(file, id, `could not be checked (${message})`, 'write-error');
        return;
      }
      // Bytes that did not fit what we expected (a restart raced with data in flight): resync,
      // once: the writes still queued behind it fail alike, and one want answers them all.
      console.warn('sink out of step, resyncing:', message);
      if (!this.awaitingStart) this.sendWant();
      return;
    }
    this.fail(`Could not write the file: ${message}. Check free space and try again.`);
  }

  finishAll() {
    if (this.phase === Phase.ERROR) return; // ended already (disk full, tampering): stays so
    const failed = this.files.filter((f) => f.status === FileState.FAILED);
    if (!failed.length && this.files.some((f) => f.delivering)) return; // its hand-over ends it
    const undelivered = this.files.filter((f) => !f.delivered);
    try {
      this.link?.channel?.send(encodeControl({ t: 'done' }));
    } catch {
      // closing
    }
    if (failed.length) {
      this.fail(`${failed.length} file(s) failed verification and were not kept as complete. Ask the sender to share them again.`);
    } else if (undelivered.length) {
      // Verified, but not handed over (a folder's permission was withdrawn, say): not "done".
      const text = `All files received and verified, but ${undelivered.length} could not be saved: use its Save button.`;
      this.movePhase(Phase.ERROR, text, 'undelivered');
    } else {
      const text = this.folder
        ? `All files received and verified, saved in “${this.folderName}”.`
        : 'All files received and verified, and handed to your downloads. If one is missing there, use its Save button.';
      this.movePhase(Phase.DONE, text, 'all verified');
    }
    this.persist();
    this.changed();
  }

  /** Persist now, or right after the write in progress: progress on disk is never behind. */
  schedulePersist() {
    if (this.persisting) {
      this.persistAgain = true;
      return;
    }
    this.persisting = this.persist().finally(() => {
      this.persisting = null;
      if (this.persistAgain) {
        this.persistAgain = false;
        this.schedulePersist();
      }
    });
  }

  persist() {
    const files = {};
    for (const file of this.files) {
      files[file.key] = {
        status: file.status === 'verified' ? 'verified' : 'partial',
        from: file.status === 'verified' ? file.info.size : file.saved.from,
        state: file.saved.state,
        chain: file.saved.chain,
        delivered: file.delivered,
      };
    }
    this.saved = {
      role: 'receiver',
      updated: Date.now(),
      accepted: this.accepted,
      manifestId: this.manifest?.id ?? null,
      complete: this.phase === 'done',
      folder: this.folder,
      files,
    };
    return store.save('rooms', this.room, this.saved);
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
    this.closeSink();
    await removeOpfsDir(this.dir);
    await store.remove('rooms', this.room);
  }
}

