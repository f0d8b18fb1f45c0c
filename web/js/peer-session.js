// One peer, for either role: its connection (PeerLink, replaced when a fresh one is needed),
// the repair policy (transfer/repair.js) carried out, the validated control channel (text
// frames through wire.js's parseControl, binary frames as they are) and `send`, which never
// throws at a closing channel. The sender holds one per receiver; a receiver holds one.
//
// Each role injects what differs: the offerer (sender) makes offers itself under its own
// sids (`offerExtra` adds fields to them); the answerer (receiver) takes offers and asks for
// repairs (`askRepair`). Handlers (all optional): open(channel), lost(), control(message),
// bytes(ArrayBuffer), badFrame(WireError), drained() (bufferedamountlow), awayLost() (the
// connection died while the other side was out of the room), extraChannel(RTCDataChannel)
// (one the other side opened beside the `p2pshare` channel).

import { PeerLink } from './peer.js';
import { Repair, RepairPolicy } from './transfer/repair.js';
import { WireError, encodeControl, parseControl } from './wire.js';

/**
 * Runs `fn` at most once every `intervalMs`: at once when it may, else once when the interval
 * is over (so the last change is always shown). Both roles re-render through one: acks and
 * block writes come many times a second.
 */
export class ChangeThrottle {
  /** @param {number} intervalMs @param {() => void} fn */
  constructor(intervalMs, fn) {
    this.intervalMs = intervalMs;
    this.fn = fn;
    this.lastMs = -Infinity;
    this.timer = 0;
  }

  poke() {
    if (this.timer) return;
    const waitMs = this.lastMs + this.intervalMs - performance.now();
    if (waitMs <= 0) {
      this.run();
      return;
    }
    this.timer = setTimeout(() => this.run(), waitMs);
  }

  run() {
    this.timer = 0;
    this.lastMs = performance.now();
    this.fn();
  }
}

/**
 * The ICE servers for new connections: the page's (/config.json: STUN) and the TURN servers
 * that `welcome` brings, with credentials made for this member only.
 * @param {RTCIceServer[]} base @param {{turn?: RTCIceServer[]}} welcome
 */
export function iceServersWith(base, welcome) {
  return [...base, ...(welcome.turn ?? [])];
}

export class PeerSession {
  /**
   * @param {object} options
   * @param {'offerer'|'answerer'} options.role
   * @param {RTCIceServer[]} options.iceServers
   * @param {(body: object, sid: number) => void} options.signal  sealed signaling to the peer
   * @param {() => boolean} options.isPresent  whether the other side is in the room
   * @param {Record<string, Function>} options.handlers
   * @param {(fresh: boolean) => void} [options.askRepair]  answerer: ask the offerer to repair
   * @param {() => object} [options.offerExtra]  offerer: fields every offer carries
   */
  constructor({ role, iceServers, signal, isPresent, handlers, askRepair = () => {}, offerExtra = () => ({}) }) {
    this.role = role;
    this.iceServers = iceServers;
    this.signal = signal;
    this.isPresent = isPresent;
    this.handlers = handlers;
    this.askRepair = askRepair;
    this.offerExtra = offerExtra;
    this.policy = new RepairPolicy(role);
    /** @type {PeerLink|null} */
    this.link = null;
    /** the offerer's latest session id (docs/protocol.md: sids) */
    this.sid = 0;
    this.lostTimer = 0;
    this.closed = false;
  }

  get channel() {
    return this.link?.channel ?? null;
  }

  get channelOpen() {
    return Boolean(this.link?.channelOpen);
  }

  get dead() {
    return !this.link || this.link.dead;
  }

  /** Send a control message; false if the channel is not open (the next want resyncs). */
  send(message) {
    const channel = this.channel;
    if (channel?.readyState !== 'open') return false;
    try {
      channel.send(encodeControl(message));
      return true;
    } catch {
      return false; // closing under us
    }
  }

  newLink() {
    this.link?.close();
    const link = new PeerLink({ role: this.role, iceServers: this.iceServers, signal: this.signal });
    this.link = link;
    link.addEventListener('channel', (event) => this.onChannel(link, event.detail));
    link.addEventListener('channel-closed', () => this.onChannelClosed(link));
    link.addEventListener('extra-channel', (event) => {
      if (link !== this.link) return;
      if (this.handlers.extraChannel) this.handlers.extraChannel(event.detail);
      else event.detail.close(); // a role that takes none
    });
    link.addEventListener('failed', () => {
      if (link !== this.link || this.closed) return;
      if (!this.isPresent()) {
        this.handlers.awayLost?.();
        return;
      }
      this.carryOut(this.policy.failed({ dead: link.dead, present: true, nowMs: Date.now() }));
    });
    return link;
  }

  /** A repair decision: the offerer makes it, the answerer asks for it. */
  carryOut({ repair }) {
    if (!repair || this.closed) return;
    if (this.role === 'answerer') this.askRepair(repair === Repair.FRESH);
    else this.offer(repair === Repair.FRESH);
  }

  // --- offerer ----------------------------------------------------------------------------

  /** Offer a fresh connection, or an ICE restart of this one, under a new sid. */
  offer(fresh) {
    this.sid += 1;
    this.policy.negotiated(Date.now());
    const extra = this.offerExtra();
    const warn = (error) => console.warn('peer connection error', error);
    if (fresh || !this.link) this.newLink().connect(this.sid, extra).catch(warn);
    else this.link.restartIce(this.sid, extra).catch(warn);
  }

  /** The answerer said hello: connect unless its channel is live or we are negotiating. */
  onHello({ live, reloaded }) {
    this.carryOut(this.policy.hello({ live: live && this.channelOpen, reloaded, nowMs: Date.now() }));
  }

  /** The answerer asked for a repair. */
  onRestartAsked(fresh) {
    this.carryOut(this.policy.asked({ fresh, dead: this.dead, nowMs: Date.now() }));
  }

  // --- answerer ---------------------------------------------------------------------------

  /** An offer (already checked to be for this page): a fresh one replaces the connection. */
  acceptOffer(body, sid) {
    if (!this.link || body.fresh) this.newLink();
    this.link.onSignal(body, sid).catch((error) => console.warn('offer failed', error));
  }

  /** An answer or an ICE candidate for the current connection. */
  onSignal(body, sid) {
    this.link?.onSignal(body, sid).catch((error) => console.warn('signal failed', error));
  }

  // --- the channel ------------------------------------------------------------------------

  onChannel(link, channel) {
    if (link !== this.link) return;
    clearTimeout(this.lostTimer);
    this.policy.opened();
    const { control, bytes, badFrame, drained } = this.handlers;
    channel.onmessage = (event) => {
      if (link !== this.link) return;
      if (typeof event.data !== 'string') {
        bytes?.(event.data);
        return;
      }
      let message;
      try {
        message = parseControl(event.data);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        if (badFrame) badFrame(error);
        else console.warn('bad control frame', error.message);
        return;
      }
      control?.(message);
    };
    channel.onbufferedamountlow = () => drained?.();
    this.handlers.open?.(channel);
  }

  onChannelClosed(link) {
    if (link !== this.link || this.closed) return;
    this.handlers.lost?.();
    const { checkAfterMs } = this.policy.channelLost();
    if (checkAfterMs === null) return;
    clearTimeout(this.lostTimer);
    this.lostTimer = setTimeout(() => {
      if (link !== this.link || this.closed) return;
      this.carryOut(this.policy.stillLost({ channelOpen: this.channelOpen, present: this.isPresent(), nowMs: Date.now() }));
    }, checkAfterMs);
  }

  /** Drop the connection (the other page reloaded, or we ended); `closed`: for good. */
  drop({ forGood = false } = {}) {
    clearTimeout(this.lostTimer);
    this.link?.close();
    this.link = null;
    if (forGood) this.closed = true;
  }
}
