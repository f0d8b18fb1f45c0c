// One WebRTC connection between the sender (always the offerer) and one receiver.
//
// Session ids (sid): every offer gets a new, larger sid; answers and ICE candidates carry
// the sid they belong to, and anything for an older sid is ignored, so messages of an
// abandoned negotiation (a reload, a restart) can never be applied to the current one.
// A fresh offer (`fresh: true`) replaces the RTCPeerConnection; an ICE-restart offer keeps
// it and its data channel (the SCTP association survives a change of network path).
//
// The signaling transport is injected (`signal(body, sid)`), sealed by the caller.
// Events: 'channel' (detail: RTCDataChannel, open), 'channel-closed', 'state' (detail:
// RTCPeerConnectionState), 'failed' (ICE gave up on this path), 'extra-channel' (detail: a
// channel the other side opened with another label: lanes.js's signaling channel).

const CHANNEL_LABEL = 'p2pshare';
const DISCONNECTED_GRACE_MS = 4000;

export class PeerLink extends EventTarget {
  /**
   * @param {object} options
   * @param {'offerer'|'answerer'} options.role
   * @param {RTCIceServer[]} options.iceServers
   * @param {(body: object, sid: number) => void} options.signal
   * @param {number} [options.bufferedLowBytes]
   */
  constructor({ role, iceServers, signal, bufferedLowBytes = 1 << 20 }) {
    super();
    this.role = role;
    this.iceServers = iceServers;
    this.signal = signal;
    this.bufferedLowBytes = bufferedLowBytes;
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** @type {RTCDataChannel|null} */
    this.channel = null;
    this.sid = 0;
    /** @type {RTCIceCandidateInit[]} candidates that arrived before the remote description */
    this.pendingCandidates = [];
    this.disconnectedTimer = 0;
    this.closed = false;
    // A connection closed under us (e.g. by the browser) fires no state event: watch for it.
    this.watchdog = setInterval(() => {
      const pc = this.pc;
      if (pc && !this.closed && (pc.connectionState === 'closed' || pc.signalingState === 'closed') && !pc.p2pReported) {
        pc.p2pReported = true;
        this.dispatchEvent(new CustomEvent('failed', { detail: { closed: true } }));
      }
    }, 1000);
  }

  /** Whether our RTCPeerConnection is gone for good (a fresh one is needed, not an ICE restart). */
  get dead() {
    return !this.pc || this.pc.connectionState === 'closed' || this.pc.signalingState === 'closed';
  }

  get connectionState() {
    return this.pc?.connectionState ?? 'new';
  }

  get channelOpen() {
    return this.channel?.readyState === 'open';
  }

  /** Offerer: a new connection (and data channel) under a new sid. */
  async connect(sid, extra = {}) {
    this.sid = sid;
    this.replacePeerConnection();
    const channel = this.pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
    this.adoptChannel(channel);
    await this.sendOffer({ fresh: true, ...extra });
  }

  /** Offerer: restart ICE on the existing connection under a new sid. */
  async restartIce(sid, extra = {}) {
    if (!this.pc || this.pc.connectionState === 'closed') return this.connect(sid, extra);
    this.sid = sid;
    this.pendingCandidates = [];
    await this.sendOffer({ fresh: false, iceRestart: true, ...extra });
  }

  async sendOffer({ fresh, iceRestart = false, ...extra }) {
    const pc = this.pc;
    const sid = this.sid;
    const offer = await pc.createOffer({ iceRestart });
    if (pc !== this.pc || sid !== this.sid) return; // superseded meanwhile
    await pc.setLocalDescription(offer);
    this.signal({ k: 'offer', sdp: pc.localDescription.sdp, fresh, ...extra }, sid);
  }

  /**
   * Apply a signaling message from the other side.
   * @param {{k: string} & Record<string, any>} body @param {number} sid
   * @returns {Promise<boolean>} false when it was stale and ignored
   */
  async onSignal(body, sid) {
    if (this.closed) return false;
    if (body.k === 'offer' && this.role === 'answerer') {
      if (sid < this.sid || (sid === this.sid && this.pc)) return false;
      this.sid = sid;
      if (body.fresh || !this.pc || this.pc.connectionState === 'closed') this.replacePeerConnection();
      const pc = this.pc;
      this.pendingCandidates = [];
      await pc.setRemoteDescription({ type: 'offer', sdp: body.sdp });
      const answer = await pc.createAnswer();
      if (pc !== this.pc || sid !== this.sid) return false;
      await pc.setLocalDescription(answer);
      this.signal({ k: 'answer', sdp: pc.localDescription.sdp }, sid);
      await this.flushCandidates();
      return true;
    }
    if (sid !== this.sid || !this.pc) return false;
    if (body.k === 'answer' && this.role === 'offerer') {
      if (this.pc.signalingState !== 'have-local-offer') return false;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
      await this.flushCandidates();
      return true;
    }
    if (body.k === 'cand') {
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(body.c);
      } else {
        await this.addCandidate(body.c);
      }
      return true;
    }
    return false;
  }

  async flushCandidates() {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of queued) await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate ?? undefined);
    } catch {
      // A candidate the browser cannot use (e.g. an mDNS name it cannot resolve): skip it.
    }
  }

  replacePeerConnection() {
    this.teardown();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    pc.onicecandidate = (event) => {
      if (pc !== this.pc) return;
      // Trickle every candidate at once; never wait for gathering to complete.
      this.signal({ k: 'cand', c: event.candidate ? event.candidate.toJSON() : null }, this.sid);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      const state = pc.connectionState;
      clearTimeout(this.disconnectedTimer);
      if (state === 'failed') {
        this.dispatchEvent(new CustomEvent('failed'));
      } else if (state === 'disconnected') {
        // Often transient (a Wi-Fi hiccup); call it failed only if it lasts.
        this.disconnectedTimer = setTimeout(() => {
          if (pc === this.pc && pc.connectionState === 'disconnected') this.dispatchEvent(new CustomEvent('failed'));
        }, DISCONNECTED_GRACE_MS);
      }
      this.dispatchEvent(new CustomEvent('state', { detail: state }));
    };
    pc.ondatachannel = (event) => {
      if (pc !== this.pc) return;
      if (event.channel.label === CHANNEL_LABEL) this.adoptChannel(event.channel);
      else this.dispatchEvent(new CustomEvent('extra-channel', { detail: event.channel }));
    };
  }

  /** @param {RTCDataChannel} channel */
  adoptChannel(channel) {
    if (this.channel && this.channel !== channel) this.channel.close();
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = this.bufferedLowBytes;
    const opened = () => {
      if (channel === this.channel) this.dispatchEvent(new CustomEvent('channel', { detail: channel }));
    };
    if (channel.readyState === 'open') queueMicrotask(opened);
    else channel.addEventListener('open', opened, { once: true });
    channel.addEventListener('close', () => {
      if (channel === this.channel) this.dispatchEvent(new CustomEvent('channel-closed', { detail: channel }));
    });
  }

  teardown() {
    clearTimeout(this.disconnectedTimer);
    if (this.channel) {
      const channel = this.channel;
      this.channel = null;
      channel.close();
    }
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.close();
    }
  }

  close() {
    this.closed = true;
    clearInterval(this.watchdog);
    this.teardown();
  }
}
