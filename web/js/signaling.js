// The signaling connection: one WebSocket to /ws/<room> on this page's origin, kept alive.
//
// Reconnects with exponential backoff and jitter after any drop, at once when the browser
// says it is back online; answers the server's pings and treats a silent server as dead.
// Close codes that mean "do not come back" (replaced by a newer tab, malformed room, role
// refused) stop it for good. Messages are the typed frames of docs/protocol.md; payloads are
// opaque (sealed by seal.js).
//
// Events (CustomEvent, `detail` is the server message unless said):
//   state     detail: 'connecting' | 'open' | 'reconnecting' | 'closed'
//   welcome, peer-joined, peer-left, relay, error
//   fatal     detail: {code, reason}  the connection will not be retried

import { CLOSE, ProtocolError, SIGNALING_VERSION, parseServerFrame } from './protocol.js';
import { sha256 } from '../vendor/noble-hashes/sha2.js';

/**
 * A client's peer id in a room, as the server derives it (room.py peer_id_for): 96 bits of
 * SHA-256("p2pshare-peer\0" + room + "\0" + cid).
 */
export function peerIdFor(room, cid) {
  return toBase64Url(sha256(utf8.encode(`p2pshare-peer\u0000${room}\u0000${cid}`)).subarray(0, 12));
}
import { backoffDelayMs, toBase64Url, utf8 } from './util.js';

export { CLOSE };

const FATAL_CLOSES = new Set([CLOSE.REPLACED, CLOSE.BAD_ROOM, CLOSE.ROLE_REFUSED, CLOSE.PROTOCOL_ERROR, CLOSE.ADMISSION_REFUSED]);

export class SignalingClient extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.url ws(s)://host/ws/<room>
   * @param {string} options.cid this tab's client id
   * @param {string|null} [options.token] creator token (sender only)
   * @param {typeof WebSocket} [options.WebSocketImpl]
   */
  constructor({ url, cid, token = null, admission = {}, WebSocketImpl = globalThis.WebSocket }) {
    super();
    this.url = url;
    this.cid = cid;
    this.token = token;
    /** @type {{access?: string, proof?: string}} the join's proof of the link's secret (admission.js) */
    this.admission = admission;
    /** the peer id the server must give us: it derives it from room and cid, and so do we */
    this.expectedPeer = peerIdFor(decodeURIComponent(url.split('/ws/')[1] ?? ''), cid);
    this.WebSocketImpl = WebSocketImpl;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.state = 'closed';
    this.attempt = 0;
    this.stopped = false;
    this.heartbeatS = 5;
    this.lastHeard = 0;
    this.retryTimer = 0;
    this.watchdog = 0;
    /** @type {any} */
    this.welcome = null;
    /** the frame type that opens the connection (NearbySocket: 'near-welcome') */
    this.welcomeType = 'welcome';
    /** close codes after which it never reconnects on its own */
    this.fatalCloses = FATAL_CLOSES;
    this.onOnline = () => {
      if (this.state === 'reconnecting') this.connectNow();
    };
  }

  start() {
    this.stopped = false;
    globalThis.addEventListener?.('online', this.onOnline);
    this.connectNow();
  }

  /** Close for good (leaving the room cleanly). */
  stop() {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this.onOnline);
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close(CLOSE.NORMAL, 'leaving');
    this.ws = null;
    this.setState('closed');
  }

  /** Drop the current socket and reconnect (used by tests and after network changes). */
  reconnect() {
    if (this.ws) this.ws.close(CLOSE.NORMAL, 'reconnecting');
  }

  get isOpen() {
    return this.state === 'open';
  }

  /** @param {string} to @param {number} sid @param {string} data @returns {boolean} sent */
  relay(to, sid, data) {
    return this.send({ type: 'relay', to, sid, data });
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== 1 || this.state !== 'open') return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      ws.send(JSON.stringify(this.joinFrame()));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      this.onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      clearInterval(this.watchdog);
      if (this.stopped) return;
      if (this.fatalCloses.has(event.code)) {
        this.stopped = true;
        this.setState('closed');
        this.dispatchEvent(new CustomEvent('fatal', { detail: { code: event.code, reason: event.reason } }));
        return;
      }
      if (event.code === CLOSE.ROOM_FULL) this.attempt = Math.max(this.attempt, 4);
      this.scheduleRetry();
    };
    ws.onerror = () => {};
  }

  scheduleRetry() {
    this.setState('reconnecting');
    const delay = backoffDelayMs(this.attempt++);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  /** The first frame on every connection. */
  joinFrame() {
    const join = { type: 'join', cid: this.cid, v: SIGNALING_VERSION };
    if (this.token) join.token = this.token;
    return Object.assign(join, this.admission);
  }

  /** @returns {any} the server's frame, validated @throws {ProtocolError} */
  parseFrame(text) {
    return parseServerFrame(text);
  }

  /** Why a welcome cannot be taken (null: it can), and the heartbeat it sets. */
  checkWelcome(message) {
    // A server that hands us another peer's id could make the sender's messages to that
    // peer (and its Cancel) ours: refuse, and say so.
    if (message.peer !== this.expectedPeer) return { problem: 'the server gave this page a peer id that is not its own' };
    return { problem: null, heartbeatS: message.heartbeat_s };
  }

  onFrame(text) {
    let message;
    try {
      message = this.parseFrame(text);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      console.warn('refused a frame from the server:', error.message);
      return;
    }
    switch (message.type) {
      case 'ping':
        this.ws?.send('{"type":"pong"}');
        return;
      case 'pong':
        return;
      case this.welcomeType: {
        const { problem, heartbeatS } = this.checkWelcome(message);
        if (problem) {
          this.stopped = true;
          this.ws?.close(CLOSE.NORMAL);
          this.setState('closed');
          this.dispatchEvent(new CustomEvent('fatal', { detail: { code: CLOSE.PROTOCOL_ERROR, reason: problem } }));
          return;
        }
        this.attempt = 0;
        this.welcome = message;
        this.heartbeatS = heartbeatS;
        this.startWatchdog();
        this.setState('open');
        break;
      }
      default:
        break;
    }
    this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
  }

  startWatchdog() {
    clearInterval(this.watchdog);
    const deadMs = (2 * this.heartbeatS + 5) * 1000;
    this.watchdog = setInterval(() => {
      if (this.ws && Date.now() - this.lastHeard > deadMs) {
        // The server went silent (network change, sleep): start over.
        const ws = this.ws;
        this.ws = null;
        ws.close();
        this.scheduleRetry();
      } else if (this.ws && Date.now() - this.lastHeard > 2 * this.heartbeatS * 1000) {
        // The server pings idle connections every heartbeat_s; ask only if one went missing.
        this.send({ type: 'ping' });
      }
    }, 1000);
  }
}

/** ws(s)://<this origin>/ws/<room> for a page at `location`. */
export function signalingUrl(location, room) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/${room}`;
}
