// Lanes, the shell: extra peer connections between the sender and one receiver (docs/
// protocol.md, Lanes; when to open and close them is transfer/lanes.js's policy). Each lane
// is a PeerLink (peer.js) of its own, negotiated by `lane` frames on the first lane's data
// channel, which is already authenticated end to end (its DTLS fingerprints came in sealed,
// signed signaling): the server sees nothing of it. Extra lanes carry blocks only.
//
// SenderLanes (one per receiver) opens, drains and closes lanes and knows which blocks are in
// flight on which, so that a lane lost hands them back; ReceiverLanes answers offers and
// passes each lane's blocks and bytes on with the lane's number.

import { PeerLink } from './peer.js';
import { MAX_LANES, WireError, parseControl } from './wire.js';

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
   * @param {(message: object) => boolean} options.sendControl  on the first lane
   * @param {() => void} options.wake  a lane opened or drained: the send loop looks again
   * @param {(blocks: {f: number, index: number}[]) => void} options.lost  blocks in flight on a lane lost
   */
  constructor({ iceServers, sendControl, wake, lost }) {
    Object.assign(this, { iceServers, sendControl, wake, lost });
    /** @type {Map<number, {link: PeerLink, open: boolean, draining: boolean}>} */
    this.lanes = new Map();
    /** @type {Map<string, number>} block in flight on an extra lane -> the lane */
    this.laneOfBlock = new Map();
    this.sid = 0;
    /** the most lanes open at once, the first included (for the detail line and the tests) */
    this.mostOpen = 1;
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
      signal: (body, sid) => this.sendControl({ t: 'lane', n, sid, s: body }),
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
    link.connect(++this.sid).catch((error) => {
      console.warn('lane offer failed', error);
      this.laneLost(n, lane);
    });
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

  /** A new plan (its blocks are new) or the end: every extra lane goes. */
  closeAll() {
    for (const lane of this.lanes.values()) lane.link.close();
    this.lanes.clear();
    this.laneOfBlock.clear();
  }
}

export class ReceiverLanes {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {(message: object) => boolean} options.sendControl  on the first lane
   * @param {{block: (message: object, n: number) => void, bytes: (buffer: ArrayBuffer, n: number) => void,
   *   closed: (n: number) => void}} options.handlers
   */
  constructor({ iceServers, sendControl, handlers }) {
    Object.assign(this, { iceServers, sendControl, handlers });
    /** @type {Map<number, PeerLink>} */
    this.links = new Map();
  }

  get count() {
    return this.links.size;
  }

  /** A `lane` frame from the sender: an offer opens (or replaces) lane `n`. */
  onLane({ n, sid, s }) {
    let link = this.links.get(n);
    if (s.k === 'offer' && (!link || s.fresh !== false)) {
      this.close(n);
      link = this.open(n);
    }
    link?.onSignal(s, sid).catch((error) => console.warn('lane signal failed', error));
  }

  open(n) {
    const link = new PeerLink({
      role: 'answerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sendControl({ t: 'lane', n, sid, s: body }),
    });
    this.links.set(n, link);
    link.addEventListener('channel', (event) => {
      event.detail.onmessage = (message) => {
        if (this.links.get(n) !== link) return;
        if (typeof message.data !== 'string') {
          this.handlers.bytes(message.data, n);
          return;
        }
        try {
          const control = parseControl(message.data);
          if (control.t === 'block') this.handlers.block(control, n);
          else console.warn(`lane ${n}: ${control.t} frame ignored (lanes carry blocks only)`);
        } catch (error) {
          if (!(error instanceof WireError)) throw error;
          console.warn(`lane ${n}: bad control frame`, error.message);
        }
      };
    });
    const lost = () => {
      if (this.links.get(n) === link) this.close(n);
    };
    link.addEventListener('channel-closed', lost);
    link.addEventListener('failed', lost);
    return link;
  }

  close(n) {
    const link = this.links.get(n);
    if (!link) return;
    this.links.delete(n);
    link.close();
    this.handlers.closed(n);
  }

  closeAll() {
    for (const n of [...this.links.keys()]) this.close(n);
  }
}

/**
 * The receiving page's lanes, wired to its stream (receive-stream.js), and the watch for a
 * stall: bytes expected and none for a while (a block lost with a lane) asks again.
 * @param {import('./receiver.js').ReceiverController} rc @param {RTCIceServer[]} iceServers
 */
export function receiverLanes(rc, iceServers) {
  rc.stallWatch = setInterval(() => rc.stream.stalled(performance.now()) && rc.resync({ quiet: true }), 1000);
  return new ReceiverLanes({
    iceServers,
    sendControl: (message) => rc.send(message),
    handlers: {
      block: (message, n) => rc.stream.onBlock(message, n),
      bytes: (buffer, n) => rc.stream.onBytes(buffer, n),
      closed: (n) => rc.stream.laneClosed(n),
    },
  });
}
