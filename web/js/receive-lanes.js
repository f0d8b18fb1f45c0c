// Lanes on the receiving side (lanes.js has the sender's and what both share): the sender's
// offers for extra lanes, taken on the lanes' channel and answered, each lane a PeerLink
// whose blocks and bytes go to the stream with the lane's number. Offers are taken only
// while the page receives, and at most LANE_OFFERS_PER_MINUTE: each makes a peer connection.

import { LANES_CHANNEL_LABEL, laneFrame } from './lanes.js';
import { PeerLink } from './peer.js';
import { WireError, encodeControl, parseControl } from './wire.js';

/** Fresh lane offers a receiver takes a minute. */
export const LANE_OFFERS_PER_MINUTE = 30;

export class ReceiverLanes {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers
   * @param {{block: (message: object, n: number) => void, bytes: (buffer: ArrayBuffer, n: number) => void,
   *   closed: (n: number) => void}} options.handlers
   */
  constructor({ iceServers, handlers }) {
    Object.assign(this, { iceServers, handlers });
    /** @type {Map<number, PeerLink>} */
    this.links = new Map();
    /** @type {RTCDataChannel|null} the sender's lanes' channel */
    this.signals = null;
    /** whether an extra lane was ever open (a block can be lost with one) */
    this.hadLanes = false;
    /** @type {number[]} when fresh offers were taken (ms), the last minute's */
    this.offersAtMs = [];
    /** whether offers are taken now (after Accept, while receiving) */
    this.open = () => true;
  }

  /** A channel the sender opened beside the first: the lanes' channel, or ignored. */
  adoptChannel(channel) {
    if (channel.label !== LANES_CHANNEL_LABEL) {
      channel.close();
      return;
    }
    this.signals?.close();
    this.signals = channel;
    channel.onmessage = (event) => {
      const frame = laneFrame(event.data);
      if (frame && channel === this.signals) this.onLane(frame);
    };
  }

  sendSignal(message) {
    if (this.signals?.readyState === 'open') this.signals.send(encodeControl(message));
  }

  /** A `lane` frame from the sender: an offer opens (or replaces) lane `n`. */
  onLane({ n, sid, s }) {
    let link = this.links.get(n);
    if (s.k === 'offer' && (!link || s.fresh !== false)) {
      if (!this.takesOffer(performance.now())) return;
      this.close(n);
      link = this.openLane(n);
    }
    link?.onSignal(s, sid).catch((error) => console.warn('lane signal failed', error));
  }

  /** Offers only while receiving, and at most LANE_OFFERS_PER_MINUTE (a sender churning lanes). */
  takesOffer(nowMs) {
    this.offersAtMs = this.offersAtMs.filter((at) => nowMs - at < 60_000);
    if (!this.open() || this.offersAtMs.length >= LANE_OFFERS_PER_MINUTE) return false;
    this.offersAtMs.push(nowMs);
    return true;
  }

  openLane(n) {
    const link = new PeerLink({
      role: 'answerer',
      iceServers: this.iceServers,
      signal: (body, sid) => this.sendSignal({ t: 'lane', n, sid, s: body }),
    });
    this.links.set(n, link);
    link.addEventListener('channel', (event) => {
      this.hadLanes = true;
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
    link.addEventListener('extra-channel', (event) => event.detail.close()); // lanes carry one
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
    this.signals?.close();
    this.signals = null;
  }
}

/**
 * The receiving page's lanes, wired to its stream (receive-stream.js); offers are taken only
 * while it receives (after Accept).
 * @param {import('./receiver.js').ReceiverController} rc @param {RTCIceServer[]} iceServers
 */
export function receiverLanes(rc, iceServers) {
  const lanes = new ReceiverLanes({
    iceServers,
    handlers: {
      block: (message, n) => rc.stream.onBlock(message, n),
      bytes: (buffer, n) => rc.stream.onBytes(buffer, n),
      closed: (n) => rc.stream.laneClosed(n),
    },
  });
  lanes.open = () => rc.receiving;
  return lanes;
}
