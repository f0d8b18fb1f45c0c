// The sender: offers its files to every receiver of the room, each over its own WebRTC data
// channel, each at its own pace (a slow receiver only ever waits on its own window).
//
// Per receiver: a PeerLink (the sender is always the offerer), a queue of wanted files and a
// send loop with two brakes: at most WINDOW_BLOCKS unacknowledged blocks, and the channel's
// bufferedAmount under a high-water mark (well below Chromium's 16 MiB send-queue limit).
// Files are read block by block from disk (File.slice), hashed once per block (cached across
// receivers) and fed to the whole-file SHA-256 in order.
//
// Events: 'change' (re-render), 'notice' (detail: {level, text}).
//
// Why this module is over ~300 lines: it is still the whole sending shell (one receiver's
// link, negotiation and repair, the send loop, the status per receiver). File reading and
// hashing moved out (file-digest.js), as did the limits on what a receiver can make it do
// (transfer/guards.js); the peer session shared with the receiver is the next to go.

import { FileDigest, prepareBlock } from './file-digest.js';
import { digest } from './hashing.js';
import { PeerLink } from './peer.js';
import { AlarmGate, WantGate } from './transfer/guards.js';
import { portablePath } from './transfer/paths.js';
import { toHex } from './util.js';
import {
  BLOCK_SIZE,
  CHUNK_SIZE,
  PROTOCOL,
  WINDOW_BLOCKS,
  WireError,
  blockCount,
  blockLength,
  encodeControl,
  fileKey,
  parseControl,
} from './wire.js';

const HIGH_WATER_BYTES = 4 << 20;
const MAX_ICE_RESTARTS = 2;
const NEGOTIATION_PATIENCE_MS = 15000;
const GONE_AFTER_SILENCE_MS = 3000;

/**
 * @typedef {import('./wire.js').FileInfo} FileInfo
 * @typedef {{info: FileInfo, file: File|null}} SharedFile  file is null until re-added after a reload
 */

/** Everything the sender knows about one receiver. */
class Receiver {
  constructor(peer) {
    this.peer = peer;
    /** @type {PeerLink|null} */
    this.link = null;
    this.sid = 0;
    this.epoch = 0;
    this.device = '';
    this.present = true;
    /** connecting | connected | transferring | done | cancelled | gone | wrong-key | unverified | failed */
    this.status = 'connecting';
    this.error = '';
    this.negotiatedAt = 0;
    this.restarts = 0;
    /** @type {{f: number, from: number, next: number, started: boolean}[]} */
    this.queue = [];
    this.generation = 0;
    this.inflight = 0;
    this.wantedBytes = 0;
    this.doneBytes = 0;
    this.sentBytes = 0;
    this.resumedBytes = 0;
    this.wake = () => {};
    this.joinedAt = Date.now();
    this.lastAckAt = 0;
    /** its wants, rate-limited and coalesced (a flood must not restart the loop each time) */
    this.wantGate = new WantGate(Date.now());
    this.wantTimer = null;
  }

  get busy() {
    return this.status === 'transferring';
  }
}

export class SenderController extends EventTarget {
  /**
   * @param {object} options
   * @param {import('./sealed-signaling.js').SealedSignaling} options.sealed
   * @param {import('./signaling.js').SignalingClient} options.signaling
   * @param {RTCIceServer[]} options.iceServers
   * @param {SharedFile[]} options.files
   */
  constructor({ sealed, signaling, iceServers, files }) {
    super();
    this.sealed = sealed;
    this.signaling = signaling;
    this.iceServers = iceServers;
    this.files = files;
    this.digests = files.map((shared) => new FileDigest(shared));
    /** @type {Map<string, Receiver>} */
    this.receivers = new Map();
    this.stopped = false;
    this.manifestId = '';
    signaling.addEventListener('welcome', (event) => {
      for (const p of event.detail.peers) if (p.role === 'receiver') this.greet(p.peer);
    });
    signaling.addEventListener('peer-joined', (event) => {
      if (event.detail.role === 'receiver') this.greet(event.detail.peer);
    });
    signaling.addEventListener('peer-left', (event) => {
      const r = this.receivers.get(event.detail.peer);
      if (!r) return;
      r.present = false;
      if (!r.link?.channelOpen && ['connecting', 'connected'].includes(r.status)) r.status = 'gone';
      this.changed();
    });
    sealed.addEventListener('message', (event) => this.onSealed(event.detail));
    sealed.addEventListener('security', (event) => this.onSecurity(event.detail));
    this.reaper = setInterval(() => this.reapVanished(), 1000);
    /** replies and notices for bad envelopes: once a minute per peer */
    this.alarms = new AlarmGate();
  }

  /**
   * A receiver that left the room (its page closed) and whose data channel went silent is gone,
   * even before WebRTC notices (that takes up to half a minute). One that only lost the server
   * keeps acknowledging and is left alone.
   */
  reapVanished() {
    const now = Date.now();
    for (const r of this.receivers.values()) {
      if (r.status === 'transferring' && !r.present && now - r.lastAckAt > GONE_AFTER_SILENCE_MS) {
        this.endReceiver(r, 'gone', '');
      }
    }
  }

  get totalBytes() {
    return this.files.reduce((n, s) => n + s.info.size, 0);
  }

  /** Files still missing after a reload (to be added again by the user). */
  get missingFiles() {
    return this.files.filter((s) => !s.file);
  }

  /**
   * Offer more files (chosen after sharing began). Receivers still downloading get them too;
   * those who finished see them as new and choose again.
   * @param {File[]} list
   */
  async addFiles(list) {
    const known = new Set(this.files.map((s) => fileKey(s.info)));
    const added = list.map((file) => ({ info: fileInfo(file), file })).filter((s) => !known.has(fileKey(s.info)));
    if (!added.length) return 0;
    this.files.push(...added);
    this.digests.push(...added.map((shared) => new FileDigest(shared)));
    await this.init();
    for (const r of this.receivers.values()) if (r.link?.channelOpen) this.sendManifest(r);
    this.changed();
    return added.length;
  }

  /** The manifest id: SHA-256 over the file keys, so receivers can tell a changed offer. */
  async init() {
    const keys = this.files.map((s) => fileKey(s.info)).join('\n');
    this.manifestId = toHex(await digest(new TextEncoder().encode(keys))).slice(0, 32);
    return this;
  }

  /**
   * Re-attach File objects after a reload, matched by relative path, size and mtime.
   * @param {File[]} candidates @returns {number} how many were matched
   */
  reattach(candidates) {
    let matched = 0;
    for (const shared of this.files) {
      if (shared.file) continue;
      const found = candidates.find(
        (f) =>
          (relativePath(f) === shared.info.path || portablePath(relativePath(f)) === shared.info.path) &&
          f.size === shared.info.size &&
          f.lastModified === shared.info.mtime,
      );
      if (found) {
        shared.file = found;
        matched++;
      }
    }
    if (matched) {
      for (const r of this.receivers.values()) if (r.link?.channelOpen) this.sendManifest(r);
      this.changed();
    }
    return matched;
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  /** `changed()`, at most every half second: acks come for every block of every receiver. */
  changedSoon() {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = 0;
      this.changed();
    }, 500);
  }

  notice(level, text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { level, text } }));
  }

  receiver(peer) {
    let r = this.receivers.get(peer);
    if (!r) {
      r = new Receiver(peer);
      this.receivers.set(peer, r);
    }
    return r;
  }

  /** A receiver is (back) in the room: say hello, so a wrong link is detected on its side. */
  greet(peer) {
    if (this.stopped) return;
    const r = this.receiver(peer);
    r.present = true;
    if (['cancelled', 'unverified', 'wrong-key'].includes(r.status)) return;
    if (r.status === 'gone') r.status = r.link?.channelOpen ? 'connected' : 'connecting';
    this.sealed.send(peer, r.sid, { k: 'hello', role: 'sender' });
    this.changed();
  }

  onSealed({ from, sid, body, epoch }) {
    if (this.stopped) return;
    const r = this.receiver(from);
    if (r.status === 'cancelled' && r.cancelledByReceiver && body.k === 'hello' && epoch !== r.epoch) {
      // They cancelled, then opened the link again: a fresh start.
      r.status = 'connecting';
      r.error = '';
      r.cancelledByReceiver = false;
    }
    if (['cancelled', 'unverified'].includes(r.status)) return;
    if (r.status === 'wrong-key') r.status = 'connecting';
    switch (body.k) {
      case 'hello': {
        const reloaded = epoch !== r.epoch;
        r.epoch = epoch;
        r.device = typeof body.device === 'string' ? body.device.slice(0, 60) : r.device;
        const live = body.live === true && !reloaded && r.link?.channelOpen;
        const negotiating = Date.now() - r.negotiatedAt < NEGOTIATION_PATIENCE_MS && !reloaded;
        if (!live && !negotiating) this.negotiate(r, { fresh: true });
        this.changed();
        break;
      }
      case 'answer':
      case 'cand':
        r.link?.onSignal(body, sid).catch((error) => this.linkError(r, error));
        break;
      case 'restart':
        this.negotiate(r, { fresh: body.fresh === true || !r.link || r.link.dead || r.restarts >= MAX_ICE_RESTARTS });
        break;
      case 'bye':
        r.cancelledByReceiver = true;
        this.endReceiver(r, 'cancelled', 'they cancelled the download');
        break;
      case 'alarm':
        this.onSecurity({ from, kind: 'tampered', reason: 'the receiver could not verify our messages' });
        break;
      default:
        break;
    }
  }

  onSecurity({ from, kind }) {
    const r = this.receiver(from);
    // Bad envelopes cost their sender one answer and us one notice a minute, however many come.
    const answer = this.alarms.admit(from, Date.now());
    if (kind === 'wrong-key') {
      // Someone opened the link with another secret: answer so that their page can say so.
      r.status = 'wrong-key';
      r.error = 'opened the link with a wrong or incomplete key';
      if (answer) this.sealed.send(from, r.sid, { k: 'hello', role: 'sender' });
    } else {
      if (answer) this.sealed.send(from, r.sid, { k: 'alarm' });
      r.status = 'unverified';
      r.error = 'This connection could not be verified. Someone may be tampering with the server; no data was sent.';
      r.link?.close();
      r.link = null;
      r.generation++;
      if (answer) {
        this.notice('error', 'A connection could not be verified — someone may be tampering with the server. Nothing was sent to it.');
      }
    }
    this.changed();
  }

  /** Start (fresh) or repair (ICE restart) the connection to `r` under a new session id. */
  negotiate(r, { fresh }) {
    r.sid += 1;
    r.negotiatedAt = Date.now();
    const extra = { re: r.epoch };
    if (fresh || !r.link) {
      r.link?.close();
      r.restarts = 0;
      r.link = this.makeLink(r);
      r.link.connect(r.sid, extra).catch((error) => this.linkError(r, error));
    } else {
      r.restarts++;
      r.link.restartIce(r.sid, extra).catch((error) => this.linkError(r, error));
    }
  }

  makeLink(r) {
    const link = new PeerLink({
      role: 'offerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sealed.send(r.peer, sid, body),
    });
    link.addEventListener('channel', (event) => this.onChannel(r, link, event.detail));
    link.addEventListener('channel-closed', () => {
      if (link !== r.link) return;
      r.generation++;
      if (['transferring', 'connected'].includes(r.status)) r.status = r.present ? 'connecting' : 'gone';
      this.changed();
    });
    link.addEventListener('failed', () => {
      if (link !== r.link || this.stopped) return;
      if (!r.present) {
        // They left the room and their connection died: nothing to repair until they return.
        if (r.status !== 'done') r.status = 'gone';
        this.changed();
        return;
      }
      this.negotiate(r, { fresh: r.restarts >= MAX_ICE_RESTARTS });
    });
    return link;
  }

  linkError(r, error) {
    console.warn('peer connection error', error);
  }

  onChannel(r, link, channel) {
    if (link !== r.link) return;
    r.restarts = 0;
    if (['connecting', 'gone'].includes(r.status)) r.status = 'connected';
    clearTimeout(r.wantTimer); // wants waiting for the old channel are void
    r.wantTimer = null;
    r.wantGate.reset();
    channel.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let message;
      try {
        message = parseControl(event.data);
      } catch (error) {
        if (error instanceof WireError) console.warn('bad control frame from receiver', error.message);
        return;
      }
      this.onControl(r, channel, message);
    };
    channel.onbufferedamountlow = () => r.wake();
    channel.send(encodeControl({ t: 'hello', protocol: PROTOCOL }));
    this.sendManifest(r);
    this.changed();
  }

  sendManifest(r) {
    const channel = r.link?.channel;
    if (channel?.readyState !== 'open') return;
    channel.send(
      encodeControl({
        t: 'manifest',
        id: this.manifestId,
        blockSize: BLOCK_SIZE,
        missing: this.missingFiles.length,
        files: this.files.map((s) => s.info),
      }),
    );
  }

  onControl(r, channel, message) {
    switch (message.t) {
      case 'want':
        this.onWant(r, channel, message.files);
        break;
      case 'ack': {
        const info = this.files[message.f]?.info;
        if (!info) return;
        r.inflight = Math.max(0, r.inflight - 1);
        r.lastAckAt = Date.now();
        r.doneBytes += blockLength(info.size, message.i);
        r.wake();
        this.changedSoon();
        break;
      }
      case 'fail':
        r.status = 'failed';
        r.error = failureText(message.reason, this.files[message.f]?.info.path);
        this.changed();
        break;
      case 'done':
        r.status = 'done';
        r.doneBytes = r.wantedBytes;
        r.generation++;
        this.changed();
        break;
      case 'cancel':
        r.cancelledByReceiver = true;
        this.endReceiver(r, 'cancelled', 'they cancelled the download');
        break;
      default:
        break;
    }
  }

  /** A want, through the receiver's gate: acted on now, or the latest one a little later. */
  onWant(r, channel, entries) {
    const { act, retryInMs } = r.wantGate.offer(entries, Date.now());
    if (act) this.startSending(r, channel, act);
    else if (retryInMs !== null) this.scheduleWant(r, channel, retryInMs);
  }

  scheduleWant(r, channel, delayMs) {
    clearTimeout(r.wantTimer);
    r.wantTimer = setTimeout(() => {
      r.wantTimer = null;
      if (channel.readyState !== 'open' || this.stopped) {
        r.wantGate.reset(); // else every later want would wait for a timer that never comes
        return;
      }
      const { act, retryInMs } = r.wantGate.due(Date.now());
      if (act) this.startSending(r, channel, act);
      else if (retryInMs !== null) this.scheduleWant(r, channel, retryInMs);
    }, delayMs);
  }

  startSending(r, channel, wanted) {
    r.generation++;
    r.inflight = 0;
    r.queue = wanted
      .filter((w) => w.f < this.files.length)
      .map((w) => ({ f: w.f, from: Math.min(w.from, blockCount(this.files[w.f].info.size)), chain: w.chain, next: 0, started: false }));
    r.wantedBytes = 0;
    r.doneBytes = 0;
    for (const item of r.queue) {
      r.wantedBytes += this.files[item.f].info.size;
      r.doneBytes += Math.min(item.from * BLOCK_SIZE, this.files[item.f].info.size);
    }
    r.resumedBytes = r.doneBytes;
    r.lastAckAt = Date.now();
    r.status = r.queue.length ? 'transferring' : 'done';
    this.changed();
    const generation = r.generation;
    this.pump(r, channel, generation).catch((error) => {
      if (generation !== r.generation) return;
      r.status = 'failed';
      r.error = String(error.message ?? error);
      this.notice('error', `Sending stopped: ${r.error}`);
      this.changed();
    });
  }

  /** The send loop for one receiver; it ends when the generation changes (new want, close). */
  async pump(r, channel, generation) {
    const current = () => generation === r.generation && channel.readyState === 'open' && !this.stopped;
    /** @type {{f: number, index: number, ready: Promise<{bytes: Uint8Array, hash: Uint8Array}>}|null} */
    let ahead = null;
    while (current() && r.queue.length) {
      const item = r.queue[0];
      const shared = this.files[item.f];
      const fd = this.digests[item.f];
      const count = blockCount(shared.info.size);
      if (!shared.file && shared.info.size > 0) {
        r.status = 'connected';
        r.error = 'waiting for you to add the files again';
        this.changed();
        return;
      }
      if (!item.started) {
        if (item.from > 0 && (item.chain === null || (await fd.chainAt(item.from)) !== item.chain)) {
          // The receiver's part does not match this file: send it whole.
          r.doneBytes -= Math.min(item.from * BLOCK_SIZE, shared.info.size);
          item.from = 0;
        }
        if (!current()) return;
        item.next = item.from;
        item.started = true;
        channel.send(encodeControl({ t: 'start', f: item.f, from: item.from }));
      }
      if (item.next >= count) {
        const sha256 = await fd.finalHash();
        if (!current()) return;
        channel.send(encodeControl({ t: 'eof', f: item.f, sha256 }));
        r.queue.shift();
        continue;
      }
      const index = item.next;
      // Read and hash the block while the window is closed, not after it opens.
      if (ahead?.f !== item.f || ahead.index !== index) ahead = prepareBlock(fd, item.f, index);
      await this.windowOpen(r, channel, current);
      if (!current()) return;
      const { bytes, hash } = await ahead.ready;
      ahead = null;
      if (!current()) return;
      channel.send(encodeControl({ t: 'block', f: item.f, i: index, len: bytes.length, h: toHex(hash) }));
      for (let offset = 0; offset < bytes.length; offset += CHUNK_SIZE) {
        channel.send(bytes.subarray(offset, offset + CHUNK_SIZE));
      }
      r.sentBytes += bytes.length;
      r.inflight++;
      item.next++;
      // Read ahead: the next block is ready when the next ack comes (one block per receiver).
      if (item.next < count) ahead = prepareBlock(fd, item.f, item.next);
    }
  }

  /** Wait until `r` may have another block in flight. */
  windowOpen(r, channel, current) {
    const open = () => !current() || (r.inflight < WINDOW_BLOCKS && channel.bufferedAmount <= HIGH_WATER_BYTES);
    if (open()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (open()) {
          clearInterval(timer);
          r.wake = () => {};
          resolve();
        }
      };
      // Acks and bufferedamountlow wake us; the timer catches a channel closing under us.
      const timer = setInterval(check, 500);
      r.wake = check;
    });
  }

  /** Stop sending to one receiver (the sender pressed its Cancel). */
  cancelReceiver(peer) {
    const r = this.receivers.get(peer);
    if (!r) return;
    this.sendBye(r, 'cancelled');
    this.endReceiver(r, 'cancelled', 'cancelled by you');
  }

  sendBye(r, reason) {
    try {
      r.link?.channel?.send(encodeControl({ t: 'cancel', reason }));
    } catch {
      // channel already closing
    }
    return this.sealed.send(r.peer, r.sid, { k: 'bye', reason });
  }

  endReceiver(r, status, error) {
    r.status = status;
    r.error = error;
    r.generation++;
    r.link?.close();
    r.link = null;
    this.changed();
  }

  /** Stop sharing with everyone and leave the room. */
  async stopSharing() {
    this.stopped = true;
    clearInterval(this.reaper);
    const byes = [];
    for (const r of this.receivers.values()) {
      if (!['cancelled', 'done'].includes(r.status)) byes.push(this.sendBye(r, 'stopped'));
      r.generation++;
    }
    await Promise.race([Promise.all(byes), new Promise((resolve) => setTimeout(resolve, 1500))]);
    for (const r of this.receivers.values()) {
      if (!['done', 'cancelled'].includes(r.status)) r.status = 'cancelled';
      r.link?.close();
      r.link = null;
    }
    this.changed();
  }

  /** waiting | transferring | done | error, for the page's transfer-state. */
  get aggregateState() {
    const all = [...this.receivers.values()];
    if (all.some((r) => r.status === 'transferring')) return 'transferring';
    if (all.some((r) => ['unverified', 'failed'].includes(r.status))) return 'error';
    if (all.some((r) => r.status === 'done')) return 'done';
    return 'waiting';
  }
}

/** The path a File was chosen under: its folder-relative path, or just its name. */
export function relativePath(file) {
  return file.relativePath || file.webkitRelativePath || file.name;
}

/** @param {File} file @returns {FileInfo} */
export function fileInfo(file) {
  return { path: relativePath(file), size: file.size, mtime: file.lastModified, type: file.type || '' };
}

function failureText(reason, path) {
  const what = path ? ` (${path})` : '';
  switch (reason) {
    case 'disk-full':
      return `ran out of disk space${what}`;
    case 'hash-mismatch':
      return `received a file that did not verify${what}`;
    default:
      return `could not save a file${what}: ${reason}`;
  }
}
