// Lanes, the shell: extra peer connections between the sender and one receiver (docs/
// protocol.md, Lanes; when to open and close them is transfer/lanes.js's policy). Each lane
// is a PeerLink (peer.js) of its own, negotiated by `lane` frames on a second data channel
// of the first lane's connection, `p2pshare-lanes`: that connection is already
// authenticated end to end (its DTLS fingerprints came in sealed, signed signaling), so the
// server sees nothing of it; and a channel of its own, because SCTP serves channels in turn
// while the `p2pshare` channel may hold 4 MiB of blocks (2 s at 2 MB/s) ahead of an offer.
// Extra lanes carry blocks only.
//
// SenderLanes (one per receiver) opens, drains and closes lanes and knows which blocks are in
// flight on which, so that a lane lost hands them back; ReceiverLanes (receive-lanes.js)
// answers offers and passes each lane's blocks and bytes on with the lane's number.

import { PeerLink } from './peer.js';
import { MAX_LANES, WireError, encodeControl, parseControl } from './wire.js';

/** The label of the first lane's second channel, which carries the `lane` frames. */
export const LANES_CHANNEL_LABEL = 'p2pshare-lanes';

/** The first lane's round-trip time in ms (the selected ICE candidate pair), or null. */
export async function roundTripMs(pc) {
  if (!pc) return null;
  try {
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') {
        return Number.isFinite(report.currentRoundTripTime) ? report.currentRoundTripTime * 1000 : null;
      }
    }
  } catch {
    // closing under us
  }
  return null;
}

const blockKey = (f, index) => `${f}:${index}`;

export class SenderLanes {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {() => RTCPeerConnection|null} options.firstPc  the first lane's connection
   * @param {() => void} options.wake  a lane opened or drained: the send loop looks again
   * @param {(blocks: {f: number, index: number}[]) => void} options.lost  blocks in flight on a lane lost
   */
  constructor({ iceServers, firstPc, wake, lost }) {
    Object.assign(this, { iceServers, firstPc, wake, lost });
    /** @type {RTCDataChannel|null} the `lane` frames' channel (made with the first lane) */
    this.signals = null;
    /** @type {string[]} frames waiting for it to open */
    this.waiting = [];
    /** @type {Map<number, {link: PeerLink, open: boolean, draining: boolean}>} */
    this.lanes = new Map();
    /** @type {Map<string, number>} block in flight on an extra lane -> the lane */
    this.laneOfBlock = new Map();
    this.sid = 0;
    /** the most lanes open at once, the first included (for the detail line and the tests) */
    this.mostOpen = 1;
    /** the first lane's round trip, ms (null: not known yet), and the least one seen: the
     * path's (a busy CPU or a full queue only ever adds) */
    this.rttMs = null;
    this.minRttMs = null;
  }

  /** Read the first lane's round trip (getStats: not free, so not every tick). */
  sampleRtt() {
    roundTripMs(this.firstPc()).then((rttMs) => {
      if (rttMs === null) return;
      this.rttMs = rttMs;
      this.minRttMs = Math.min(this.minRttMs ?? Infinity, rttMs);
    });
  }

  get openCount() {
    let n = 1;
    for (const lane of this.lanes.values()) if (lane.open && !lane.draining) n++;
    return n;
  }

  get openingCount() {
    let n = 0;
    for (const lane of this.lanes.values()) if (!lane.open) n++;
    return n;
  }

  /** Open one more lane (the lowest free number). */
  add() {
    let n = 1;
    while (this.lanes.has(n)) n++;
    if (n >= MAX_LANES) return;
    const link = new PeerLink({
      role: 'offerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sendSignal({ t: 'lane', n, sid, s: body }),
    });
    const lane = { link, open: false, draining: false };
    this.lanes.set(n, lane);
    link.addEventListener('channel', (event) => {
      lane.open = true;
      event.detail.onbufferedamountlow = () => this.wake();
      this.mostOpen = Math.max(this.mostOpen, this.openCount);
      this.wake();
    });
    link.addEventListener('channel-closed', () => this.laneLost(n, lane));
    link.addEventListener('failed', () => this.laneLost(n, lane));
    link.addEventListener('extra-channel', (event) => event.detail.close()); // lanes carry one
    link.connect(++this.sid).catch((error) => {
      console.warn('lane offer failed', error);
      this.laneLost(n, lane);
    });
  }

  /** A `lane` frame to the receiver, on the lanes' channel (opened at the first). */
  sendSignal(message) {
    if (!this.signals || this.signals.readyState === 'closed' || this.signals.readyState === 'closing') {
      const pc = this.firstPc();
      if (!pc) return;
      const channel = pc.createDataChannel(LANES_CHANNEL_LABEL, { ordered: true });
      this.signals = channel;
      this.waiting = [];
      channel.onopen = () => {
        for (const text of this.waiting.splice(0)) channel.send(text);
      };
      channel.onmessage = (event) => {
        const frame = laneFrame(event.data);
        if (frame && channel === this.signals) this.onLane(frame);
      };
    }
    const text = encodeControl(message);
    if (this.signals.readyState === 'open') this.signals.send(text);
    else this.waiting.push(text);
  }

  /** Close the newest lane once its blocks are acknowledged (no block is sent twice). */
  removeOne() {
    const n = Math.max(...[...this.lanes.entries()].filter(([, lane]) => !lane.draining).map(([k]) => k));
    const lane = this.lanes.get(n);
    if (!lane) return;
    lane.draining = true;
    this.closeIfDrained(n, lane);
  }

  /** A `lane` frame from the receiver (its answer, its candidates). */
  onLane({ n, sid, s }) {
    this.lanes.get(n)?.link.onSignal(s, sid).catch((error) => console.warn('lane signal failed', error));
  }

  /** The lanes a block may take now, with what each buffers (the first lane is `first`). */
  loads(first) {
    const loads = [{ n: 0, bufferedBytes: first.bufferedAmount }];
    for (const [n, lane] of this.lanes) {
      if (lane.open && !lane.draining && lane.link.channelOpen) loads.push({ n, bufferedBytes: lane.link.channel.bufferedAmount });
    }
    return loads;
  }

  channel(n) {
    return this.lanes.get(n)?.link.channel ?? null;
  }

  sent(n, f, index) {
    if (n > 0) this.laneOfBlock.set(blockKey(f, index), n);
  }

  acked(f, index) {
    const key = blockKey(f, index);
    const n = this.laneOfBlock.get(key);
    if (n === undefined) return;
    this.laneOfBlock.delete(key);
    const lane = this.lanes.get(n);
    if (lane?.draining) this.closeIfDrained(n, lane);
  }

  closeIfDrained(n, lane) {
    for (const m of this.laneOfBlock.values()) if (m === n) return;
    this.lanes.delete(n);
    lane.link.close();
  }

  laneLost(n, lane) {
    if (this.lanes.get(n) !== lane) return;
    this.lanes.delete(n);
    lane.link.close();
    const blocks = [];
    for (const [key, m] of this.laneOfBlock) {
      if (m !== n) continue;
      this.laneOfBlock.delete(key);
      const [f, index] = key.split(':').map(Number);
      blocks.push({ f, index });
    }
    if (blocks.length) this.lost(blocks);
    this.wake();
  }

  /** A new plan: blocks in flight are the old plan's; lanes being drained go now. */
  newPlan() {
    this.laneOfBlock.clear();
    for (const [n, lane] of this.lanes) if (lane.draining) this.closeIfDrained(n, lane);
  }

  /**
   * Nothing left to send, or the first lane lost: every extra lane goes (and the lanes'
   * channel); blocks still in flight on them are handed back.
   */
  closeAll() {
    for (const [n, lane] of [...this.lanes]) this.laneLost(n, lane);
    this.signals?.close();
    this.signals = null;
  }
}

/** A `lane` frame from the lanes' channel, validated (anything else there: null, and a warning). */
export function laneFrame(data) {
  try {
    const frame = typeof data === 'string' ? parseControl(data) : null;
    if (frame?.t === 'lane') return frame;
    console.warn('the lanes channel carries lane frames only');
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
    console.warn('bad lane frame', error.message);
  }
  return null;
}
