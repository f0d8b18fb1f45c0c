// Nearby devices, the shell: the group's socket (/ws/nearby.<group>), who is there, and each
// offer's messages carried out as transfer/nearby-offer.js decides, with nearby-keys.js's
// crypto. A nearby transfer is an ordinary share: the offer only agrees on keys, asks the
// other device's user, and hands it the share's link (docs/protocol.md: Nearby).
//
// Events: 'change' (re-render), 'open-share' {path, from} (an accepted offer's link came),
// 'problem' {text} (something the user should know: an offer that did not match, a mismatch;
// a message, i18n.js's msg).

import { msg } from './i18n.js';
import { commitment, directionKeys, newOfferId, newSide, openBox, sealBox, transcript, verificationCode } from './nearby-keys.js';
import { PairingError, linkOf, parsePairing, summaryOf } from './nearby-wire.js';
import { IncomingGuard, InState, OfferIn, OfferOut } from './transfer/nearby-offer.js';
import { bytesEqual, fromBase64Url, toBase64Url } from './util.js';

const TICK_MS = 1000;
/** How long an ended offer of ours stays listed (its row says how it ended), past its deadline. */
const KEEP_ENDED_MS = 600_000;
/** Offer ids to us remembered (a replayed commit is ignored), oldest dropped first. */
const SEEN_OFFERS = 512;

export class NearbyController extends EventTarget {
  /**
   * @param {object} options
   * @param {(profile: {name: string, device: string}) => import('./nearby-socket.js').NearbySocket} options.connect
   * @param {{name: string, device: string}} options.profile
   * @param {() => number} [options.now]
   */
  constructor({ connect, profile, now = Date.now }) {
    super();
    this.connect = connect;
    this.profile = profile;
    this.now = now;
    /** @type {import('./nearby-socket.js').NearbySocket|null} */
    this.socket = null;
    this.me = '';
    /** @type {Map<string, {id: string, name: string, device: string}>} */
    this.peers = new Map();
    /** @type {Map<string, any>} offer id -> our offer to one device */
    this.outgoing = new Map();
    /** @type {Map<string, any>} offer id -> an offer from one device */
    this.incoming = new Map();
    this.guard = new IncomingGuard();
    /** @type {Set<string>} */
    this.seen = new Set();
    this.timer = 0;
    this.state = 'off';
  }

  get visible() {
    return this.socket !== null;
  }

  show() {
    if (this.socket) return;
    const socket = this.connect(this.profile);
    this.socket = socket;
    socket.addEventListener('state', (event) => {
      this.state = event.detail;
      if (event.detail !== 'open') this.dropPeers();
      this.changed();
    });
    socket.addEventListener('near-welcome', (event) => {
      this.me = event.detail.you;
      this.dropPeers();
      for (const peer of event.detail.peers) if (peer.id !== this.me) this.peers.set(peer.id, peer);
      this.changed();
    });
    socket.addEventListener('near-peer', (event) => {
      const { id, name, device } = event.detail;
      if (id !== this.me) this.peers.set(id, { id, name, device });
      this.changed();
    });
    socket.addEventListener('near-left', (event) => this.gone(event.detail.id));
    socket.addEventListener('near-relayed', (event) => this.received(event.detail.from, event.detail.data));
    socket.addEventListener('fatal', (event) => this.dispatchEvent(new CustomEvent('fatal', { detail: event.detail })));
    socket.start();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  hide() {
    for (const [id] of this.peers) this.gone(id);
    this.socket?.stop();
    this.socket = null;
    clearInterval(this.timer);
    this.state = 'off';
    this.changed();
  }

  rename(name) {
    this.profile = { ...this.profile, name };
    if (this.socket) this.socket.profile = this.profile;
    this.socket?.send({ type: 'near-name', name });
    this.changed();
  }

  dropPeers() {
    for (const [id] of [...this.peers]) this.gone(id);
  }

  gone(id) {
    this.peers.delete(id);
    this.guard.forget(id);
    for (const [oid, entry] of [...this.outgoing, ...this.incoming]) {
      if (entry.peer === id) this.apply(oid, entry, entry.offer.step('gone'));
    }
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event('change'));
  }

  send(to, message) {
    return this.socket?.send({ type: 'near-relay', to, data: JSON.stringify(message) }) ?? false;
  }

  /** Offers to one device, newest first (what its row shows). */
  offersTo(peerId) {
    return [...this.outgoing.values()].filter((entry) => entry.peer === peerId).reverse();
  }

  // --- our offers -------------------------------------------------------------------------

  /**
   * Offer a share to a nearby device.
   * @param {string} peerId
   * @param {() => {path: string, items: Array<{path: string, size: number, text?: boolean}>}} share
   * @param {{confirmCode?: boolean}} [options]
   */
  async offer(peerId, share, { confirmCode = false } = {}) {
    const o = newOfferId();
    const side = newSide();
    const entry = { o, peer: peerId, offer: new OfferOut(this.now(), { confirmCode }), side, share, code: '', chain: Promise.resolve() };
    this.outgoing.set(o, entry);
    this.send(peerId, { k: 'commit', o, c: await commitment(side.publicKey, side.nonce) });
    this.changed();
    return o;
  }

  cancelOffer(o) {
    const entry = this.outgoing.get(o) ?? this.incoming.get(o);
    if (entry) this.apply(o, entry, entry.offer.step('user-cancel'));
  }

  /** Our user compared the code and lets the link go (only when confirming was asked for). */
  confirmOffer(o) {
    const entry = this.outgoing.get(o);
    if (entry) this.apply(o, entry, entry.offer.step('confirm'));
  }

  // --- offers to us -----------------------------------------------------------------------

  answerOffer(o, accept) {
    const entry = this.incoming.get(o);
    if (entry) this.apply(o, entry, entry.offer.step(accept ? 'user-accept' : 'user-decline'));
  }

  /** Open incoming offers, oldest first (the prompts). */
  get prompts() {
    return [...this.incoming.entries()].filter(([, entry]) => entry.offer.state === InState.PROMPTED || entry.offer.state === InState.ACCEPTED);
  }

  // --- messages ---------------------------------------------------------------------------

  received(from, data) {
    let message;
    try {
      message = parsePairing(data);
    } catch (error) {
      if (!(error instanceof PairingError)) throw error;
      console.warn('refused a nearby message:', error.message);
      return;
    }
    if (message.k === 'commit') {
      this.committed(from, message);
      return;
    }
    const entry = this.outgoing.get(message.o) ?? this.incoming.get(message.o);
    if (!entry || entry.peer !== from) return; // not ours, or not from that device: ignored
    // One message at a time per offer: the crypto awaits, the state machine must not interleave.
    entry.chain = entry.chain.then(() => this.handle(message.o, entry, message)).catch((error) => {
      console.warn('nearby offer failed:', error.message);
      this.apply(message.o, entry, entry.offer.step('bad'));
    });
  }

  async committed(from, message) {
    const peer = this.peers.get(from);
    if (!peer || this.seen.has(message.o) || this.outgoing.has(message.o)) return;
    const held = [...this.incoming.values()].map((entry) => ({ from: entry.peer, offer: entry.offer }));
    if (this.guard.refuse(from, held, this.now())) return;
    this.seen.add(message.o);
    if (this.seen.size > SEEN_OFFERS) this.seen.delete(this.seen.values().next().value);
    const side = newSide();
    const entry = {
      o: message.o,
      peer: from,
      // Who it was at the offer: a rename later (anyone may take any name) does not change it.
      fromName: peer.name,
      fromDevice: peer.device,
      offer: new OfferIn(this.now()),
      side,
      commit: message.c,
      code: '',
      summary: null,
      promptedMs: 0,
      chain: Promise.resolve(),
    };
    this.incoming.set(message.o, entry);
    this.send(from, { k: 'key', o: message.o, pk: toBase64Url(side.publicKey), n: toBase64Url(side.nonce) });
  }

  async handle(o, entry, message) {
    if (!entry.offer.expecting(message.k)) {
      this.apply(o, entry, entry.offer.step(`unexpected ${message.k}`));
      return;
    }
    const inbound = entry.offer instanceof OfferIn;
    if (message.k === 'cancel') {
      await openBox(inbound ? entry.keys.aToB : entry.keys.bToA, o, 'cancel', message.box);
      this.apply(o, entry, entry.offer.step('cancel'));
    } else if (message.k === 'key') {
      const pkB = fromBase64Url(message.pk);
      const nB = fromBase64Url(message.n);
      const t = await transcript(o, entry.side.publicKey, pkB, entry.side.nonce, nB);
      entry.keys = await directionKeys(entry.side.secretKey, pkB, t);
      entry.code = await verificationCode(t);
      this.apply(o, entry, entry.offer.step('key'));
    } else if (message.k === 'answer') {
      const body = await openBox(entry.keys.bToA, o, 'answer', message.box);
      this.apply(o, entry, entry.offer.answered(body.accept));
    } else if (message.k === 'reveal') {
      const pkA = fromBase64Url(message.pk);
      const nA = fromBase64Url(message.n);
      if (!bytesEqual(fromBase64Url(await commitment(pkA, nA)), fromBase64Url(entry.commit))) {
        // The key revealed is not the one committed to: the server changed it, or the device
        // that sent it misbehaves. Either way nothing of it is shown but this.
        this.problem(entry.peer, msg('nearby.problem.tampered', { name: entry.fromName }));
        this.apply(o, entry, entry.offer.step('tampered'));
        return;
      }
      const t = await transcript(o, pkA, entry.side.publicKey, nA, entry.side.nonce);
      entry.keys = await directionKeys(entry.side.secretKey, pkA, t);
      entry.code = await verificationCode(t);
      entry.summary = await openBox(entry.keys.aToB, o, 'reveal', message.box);
      entry.promptedMs = this.now();
      this.apply(o, entry, entry.offer.revealed(this.now()));
    } else if (message.k === 'link') {
      const body = await openBox(entry.keys.aToB, o, 'link', message.box);
      entry.path = body.path;
      this.apply(o, entry, entry.offer.step('link'));
    }
  }

  /**
   * Carry out a step's effects, in order: every message goes through the offer's chain, so a
   * cancel never overtakes a reveal still being sealed. Then re-render.
   */
  apply(o, entry, effects) {
    const inbound = entry.offer instanceof OfferIn;
    const seal = (kind, key, body, fields = {}) => {
      entry.chain = entry.chain.then(async () => {
        const box = await sealBox(key, o, kind, body);
        this.send(entry.peer, { k: kind, o, ...fields, box });
      });
    };
    for (const effect of effects) {
      if (effect === 'send-reveal') {
        const fields = { pk: toBase64Url(entry.side.publicKey), n: toBase64Url(entry.side.nonce) };
        seal('reveal', entry.keys.aToB, summaryOf(entry.share().items), fields);
      } else if (effect === 'send-link') {
        seal('link', entry.keys.aToB, { path: entry.share().path });
      } else if (effect === 'send-accept' || effect === 'send-decline') {
        seal('answer', entry.keys.bToA, { accept: effect === 'send-accept' });
      } else if (effect === 'send-cancel' && entry.keys) {
        seal('cancel', inbound ? entry.keys.bToA : entry.keys.aToB, {});
      } else if (effect === 'open-share' && linkOf(entry.path)) {
        const detail = { path: entry.path, from: entry.fromName, summary: entry.summary };
        this.dispatchEvent(new CustomEvent('open-share', { detail }));
      }
    }
    // An offer to us that ended is of no more use (its id stays in `seen`): forget it now.
    if (inbound && !entry.offer.open) {
      entry.chain.then(() => this.incoming.delete(o));
    }
    this.changed();
  }

  tick() {
    const now = this.now();
    for (const [o, entry] of [...this.outgoing, ...this.incoming]) {
      const effects = entry.offer.tick(now);
      if (effects.length) this.apply(o, entry, effects);
      // An ended offer is kept a while (its row says how it ended), then dropped.
      if (!entry.offer.open && now - entry.offer.deadlineMs > KEEP_ENDED_MS) {
        (entry.offer instanceof OfferIn ? this.incoming : this.outgoing).delete(o);
        this.changed();
      }
    }
  }

  nameOf(peerId) {
    return this.peers.get(peerId)?.name ?? msg('nearby.deviceLeft');
  }

  /** Something this device's user should know, about the device `peer` (one notice each). */
  problem(peer, text) {
    this.dispatchEvent(new CustomEvent('problem', { detail: { peer, text } }));
  }
}
