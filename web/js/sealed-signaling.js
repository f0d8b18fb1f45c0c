// Sealed messages between the peers of a room, over the server's relay.
//
// Outgoing messages to one peer are sealed and sent strictly in order (sealing is async, and
// the receiving side rejects a sequence number that goes backwards). Incoming ones are opened
// strictly in order, checked for replay, and dispatched:
//   message   detail: {from, sid, body, epoch, newEpoch}   newEpoch: the peer reloaded its page
//   security  detail: {from, kind: 'wrong-key'|'tampered', reason}
// Stale messages (from an older page of the peer) are dropped silently.

import { ProtocolError, parseSealedBody } from './protocol.js';
import { ReplayGuard, SealError } from './seal.js';
import { signEnvelope, verifiedEnvelope } from './signing.js';

export class SealedSignaling extends EventTarget {
  /**
   * @param {import('./signaling.js').SignalingClient} signaling
   * @param {import('./seal.js').Sealer} sealer
   * @param {{signWith?: string, senderKey?: string}} [signatures]  the sender signs everything
   *        it sends with its seed; a receiver opens only what the link's sender key signed
   */
  constructor(signaling, sealer, { signWith = '', senderKey = '' } = {}) {
    super();
    this.signaling = signaling;
    this.sealer = sealer;
    this.signWith = signWith;
    this.senderKey = senderKey;
    this.guard = new ReplayGuard();
    /** peers we have opened at least one message from (so a key mismatch later is tampering) */
    this.trusted = new Set();
    /** @type {Map<string, Promise<void>>} */
    this.outgoing = new Map();
    this.incoming = Promise.resolve();
    this.me = '';
    signaling.addEventListener('welcome', (event) => {
      this.me = event.detail.peer;
    });
    signaling.addEventListener('relay', (event) => {
      const { from, sid, data } = event.detail;
      // One failure must never stall the chain: everything after it would be dropped.
      this.incoming = this.incoming
        .then(() => this.receive(from, sid, data))
        .catch((error) => {
          const reason = `a message could not be handled: ${error?.message ?? error}`;
          this.dispatchEvent(new CustomEvent('security', { detail: { from, kind: 'tampered', reason } }));
        });
    });
  }

  /** Seal `body` for `to` under session `sid` and relay it (in order; best effort). */
  send(to, sid, body) {
    const previous = this.outgoing.get(to) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const envelope = await this.sealer.seal(this.me, to, sid, body);
        this.signaling.relay(to, sid, this.signWith ? await signEnvelope(this.signWith, envelope) : envelope);
      })
      .catch(() => {});
    this.outgoing.set(to, next);
    return next;
  }

  /** The newest page epoch seen from `peer` (0 if none). */
  epochOf(peer) {
    return this.guard.epochOf(peer);
  }

  async receive(from, sid, data) {
    let envelope = data;
    if (this.senderKey) {
      // Only the sender messages a receiver; anything its key did not sign is someone else's.
      envelope = await verifiedEnvelope(this.senderKey, data);
      if (envelope === null) {
        const reason = "a message was not signed by the sender's key in the link";
        this.dispatchEvent(new CustomEvent('security', { detail: { from, kind: 'tampered', reason } }));
        return;
      }
    }
    let opened;
    try {
      opened = await this.sealer.open(from, this.me, sid, envelope);
    } catch (error) {
      const kind =
        error instanceof SealError && error.kind === 'wrong-key' && !this.trusted.has(from) ? 'wrong-key' : 'tampered';
      this.dispatchEvent(new CustomEvent('security', { detail: { from, kind, reason: String(error.message) } }));
      return;
    }
    const verdict = this.guard.check(from, opened.epoch, opened.seq);
    if (verdict === 'stale') return;
    if (verdict === 'replay') {
      this.dispatchEvent(
        new CustomEvent('security', { detail: { from, kind: 'tampered', reason: 'a payload was replayed' } }),
      );
      return;
    }
    this.trusted.add(from);
    try {
      parseSealedBody(opened.body);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      console.warn('refused a sealed body from a peer:', error.message);
      return;
    }
    this.dispatchEvent(
      new CustomEvent('message', {
        detail: { from, sid, body: opened.body, epoch: opened.epoch, newEpoch: verdict === 'new-epoch' },
      }),
    );
  }
}
