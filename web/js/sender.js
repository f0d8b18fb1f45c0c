// The sender: offers its files to every receiver of the room, each over its own WebRTC data
// channel, each at its own pace (a slow receiver only ever waits on its own window).
//
// A thin shell. Per receiver it holds a PeerSession (peer-session.js: the connection, its
// repair, the validated control channel) and a SendSession (transfer/send-session.js: the
// state, the plan, the window), and runs the send loop (send-loop.js) the session asks for.
// Files are read block by block (file-digest.js: hashed once for every receiver).
//
// Events: 'change' (re-render), 'notice' (detail: {level, text}).

import { msg } from './i18n.js';
import { SenderLanes } from './lanes.js';
import { ChangeThrottle, PeerSession } from './peer-session.js';
import { sendLoop } from './send-loop.js';
import { listenToRoom } from './send-room.js';
import { SharedFiles, fileInfo, relativePath } from './shared-files.js';
import { LaneAction, LanePolicy } from './transfer/lanes.js';
import { SendReason, SendSession, SendState } from './transfer/send-session.js';
import { PROTOCOL } from './wire.js';

/** @typedef {import('./shared-files.js').SharedFile} SharedFile */

/** How often the lane policy looks (its measurements last transfer/lanes.js's PROBE_MS). */
const LANE_TICK_MS = 250;
/** The round trip is read every this many ticks (getStats is not free). */
const RTT_EVERY_TICKS = 4;

/** Everything the sender knows about one receiver. */
class Receiver {
  constructor(peer, nowMs) {
    this.peer = peer;
    this.session = new SendSession(nowMs);
    /** @type {PeerSession|null} */
    this.link = null;
    this.epoch = 0;
    this.device = '';
    this.wake = () => {};
    this.wantTimer = 0;
    /** the latest sid of its connections: a new PeerSession goes on from it (sids only grow) */
    this.lastSid = 0;
    /** @type {SenderLanes|null} its extra peer connections (lanes.js), with the first one */
    this.lanes = null;
    /** @type {LanePolicy|null} when to add or drop one, for the current plan */
    this.lanePolicy = null;
    this.ticks = 0;
  }

  get status() {
    return this.session.state;
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
    this.shared = new SharedFiles(files);
    /** @type {Map<string, Receiver>} */
    this.receivers = new Map();
    this.stopped = false;
    this.throttle = new ChangeThrottle(500, () => this.changed());
    listenToRoom(this);
    // A receiver that left and went silent is gone before WebRTC notices (up to half a minute).
    this.reaper = setInterval(() => {
      for (const r of this.receivers.values()) if (r.session.checkVanished(Date.now())) this.closeLink(r);
    }, 1000);
    this.laneTicker = setInterval(() => {
      for (const r of this.receivers.values()) this.tickLanes(r);
    }, LANE_TICK_MS);
  }

  async init() {
    await this.shared.init();
    return this;
  }

  /** Offer more files; receivers still downloading get them too, the others choose again. */
  async addFiles(list) {
    const added = await this.shared.add(list);
    if (added) this.manifestToAll();
    return added;
  }

  /** Re-attach File objects after a reload (SharedFiles.reattach); returns how many matched. */
  reattach(candidates) {
    const matched = this.shared.reattach(candidates);
    if (matched) this.manifestToAll();
    return matched;
  }

  manifestToAll() {
    for (const r of this.receivers.values()) this.sendManifest(r);
    this.changed();
  }

  changed() {
    this.dispatchEvent(new CustomEvent('change'));
  }

  notice(level, text) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { level, text } }));
  }

  receiver(peer) {
    let r = this.receivers.get(peer);
    if (!r) {
      r = new Receiver(peer, Date.now());
      this.receivers.set(peer, r);
    }
    return r;
  }

  /** The receiver's PeerSession, made on first use (the sender is always the offerer). */
  linkOf(r) {
    r.link ??= new PeerSession({
      role: 'offerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sealed.send(r.peer, sid, body),
      isPresent: () => r.session.present && !this.stopped,
      offerExtra: () => ({ re: r.epoch }),
      handlers: {
        open: () => this.onChannel(r),
        lost: () => {
          r.lanes?.closeAll();
          r.session.channelClosed();
          this.changed();
        },
        control: (message) => this.onControl(r, message),
        badFrame: (error) => console.warn('bad control frame from receiver', error.message),
        drained: () => r.wake(),
        awayLost: () => {
          r.session.lostWhileAway();
          this.changed();
        },
      },
    });
    r.link.sid = r.lastSid;
    r.lanes ??= new SenderLanes({
      iceServers: this.iceServers,
      firstPc: () => r.link?.link?.pc ?? null,
      wake: () => r.wake(),
      lost: (blocks) => r.session.laneLost(blocks),
    });
    return r.link;
  }

  /**
   * Every LANE_TICK_MS while it transfers: the lane policy (transfer/lanes.js) looks at the
   * throughput and the first lane's round trip; extra lanes go when the transfer does.
   */
  tickLanes(r) {
    const lanes = r.lanes;
    if (!lanes || !r.link?.channelOpen) return;
    const session = r.session;
    const busy = session.queue.length || session.again.length || session.inflightBlocks;
    if (session.ended || !busy) {
      if (lanes.lanes.size) {
        lanes.closeAll();
        this.changed();
      }
      return;
    }
    if (++r.ticks % RTT_EVERY_TICKS === 1) lanes.sampleRtt();
    if (!r.lanePolicy || session.state !== SendState.TRANSFERRING) return;
    const step = r.lanePolicy.tick({
      nowMs: Date.now(),
      ackedBytes: session.doneBytes,
      rttMs: lanes.minRttMs,
      lanesOpen: lanes.openCount,
      lanesOpening: lanes.openingCount,
      remainingBytes: session.wantedBytes - session.doneBytes,
    });
    for (let n = 0; n < step.lanes; n++) {
      if (step.action === LaneAction.ADD) lanes.add();
      else lanes.removeOne();
    }
    if (step.lanes) this.changed();
  }

  onChannel(r) {
    clearTimeout(r.wantTimer); // wants waiting for the old channel are void
    r.session.channelOpened();
    r.link?.send({ t: 'hello', protocol: PROTOCOL });
    this.sendManifest(r);
    this.changed();
  }

  sendManifest(r) {
    r.link?.send(this.shared.manifest());
  }

  onControl(r, message) {
    const session = r.session;
    const now = Date.now();
    switch (message.t) {
      case 'want':
        this.afterWant(r, session.want(message.files, this.shared.sizesBytes, now, message.lanes ?? 1));
        break;
      case 'ack':
        if (session.ack(message.f, message.i, this.shared.sizesBytes, now)) {
          r.lanes?.acked(message.f, message.i);
          r.wake();
          this.throttle.poke();
        }
        break;

      case 'fail':
        session.receiverFailed(message.f, message.reason, this.shared.files[message.f]?.info.path ?? '');
        this.changed();
        break;
      case 'done':
        session.receiverDone();
        this.changed();
        break;
      case 'cancel':
        session.cancelledByReceiver = true;
        this.endReceiver(r, SendState.CANCELLED, SendReason.THEY_CANCELLED);
        break;
      default:
        break;
    }
  }

  /** A want was planned (start its loop), or waits for the gate (look again then). */
  afterWant(r, { plan, retryInMs }) {
    if (plan) this.startLoop(r);
    else if (retryInMs !== null) {
      clearTimeout(r.wantTimer);
      r.wantTimer = setTimeout(() => {
        if (!r.link?.channelOpen || this.stopped) r.session.wantGate.reset();
        else this.afterWant(r, r.session.due(this.shared.sizesBytes, Date.now()));
      }, retryInMs);
    }
  }

  startLoop(r) {
    const channel = r.link?.channel;
    const generation = r.session.generation;
    this.changed();
    if (!channel) return;
    // A new plan: blocks in flight on the lanes are the old plan's (the lanes stay open).
    r.lanes?.newPlan();
    r.lanePolicy = new LanePolicy(r.session.lanesTaken, Date.now());
    sendLoop(r, channel, this.shared, () => this.stopped, generation).then(
      (outcome) => {
        if (outcome !== 'files-missing' || generation !== r.session.generation) return;
        r.session.waitForFiles();
        this.changed();
      },
      (error) => {
        if (generation !== r.session.generation) return;
        r.session.sendFailed(String(error.message ?? error));
        this.notice('error', msg('notice.sendStopped', { error: r.session.detail }));
        this.changed();
      },
    );
  }

  /** Stop sending to one receiver (the sender pressed its Cancel). */
  cancelReceiver(peer) {
    const r = this.receivers.get(peer);
    if (!r || r.status === SendState.UNVERIFIED) return;
    this.sendBye(r, 'cancelled');
    this.endReceiver(r, SendState.CANCELLED, SendReason.YOU_CANCELLED);
  }

  sendBye(r, reason) {
    r.link?.send({ t: 'cancel', reason });
    return this.sealed.send(r.peer, r.link?.sid ?? 0, { k: 'bye', reason });
  }

  endReceiver(r, state, reason) {
    r.session.end(state, reason);
    this.closeLink(r);
    this.changed();
  }

  closeLink(r) {
    clearTimeout(r.wantTimer);
    r.lastSid = r.link?.sid ?? r.lastSid;
    r.lanes?.closeAll();
    r.link?.drop({ forGood: true });
    r.link = null;
  }

  /** Stop sharing with everyone and leave the room. */
  async stopSharing() {
    this.stopped = true;
    clearInterval(this.reaper);
    clearInterval(this.laneTicker);
    const byes = [];
    for (const r of this.receivers.values()) {
      if (r.status !== SendState.CANCELLED && r.status !== SendState.DONE) byes.push(this.sendBye(r, 'stopped'));
      r.session.halt();
    }
    await Promise.race([Promise.all(byes), new Promise((resolve) => setTimeout(resolve, 1500))]);
    for (const r of this.receivers.values()) {
      if (![SendState.DONE, SendState.CANCELLED, SendState.UNVERIFIED].includes(r.status)) {
        r.session.end(SendState.CANCELLED, SendReason.STOPPED);
      }
      this.closeLink(r);
    }
    this.changed();
  }
}

export { fileInfo, relativePath };
