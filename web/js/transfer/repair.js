// When and how to repair one peer connection. Pure (the caller passes the clock, in ms); one
// policy for both roles, each injecting its own parameters (REPAIR_ROLES):
// - the offerer (the sender) repairs itself: an ICE restart with a new sid, or a fresh
//   connection when the old one is gone or restarts did not help;
// - the answerer (a receiver) asks the offerer to (a sealed `restart`), at most every few
//   seconds, and also after its data channel closed while both pages are alive (the
//   offerer leaves that case to it, so that the two do not both start a fresh connection).
// A repair is { repair: 'ice' | 'fresh' | null }; the shell (peer-session.js) carries it out.

/** ICE restarts that did not help before a fresh connection. */
export const MAX_ICE_RESTARTS = 2;
/** A negotiation younger than this is not restarted by a hello (it may still succeed). */
export const NEGOTIATION_PATIENCE_MS = 15000;

/** @enum {string} */
export const Repair = Object.freeze({ ICE: 'ice', FRESH: 'fresh' });

export const REPAIR_ROLES = Object.freeze({
  offerer: Object.freeze({ minIntervalMs: 0, channelLostCheckMs: null }),
  answerer: Object.freeze({ minIntervalMs: 3000, channelLostCheckMs: 2000 }),
});

export class RepairPolicy {
  /** @param {'offerer'|'answerer'} role */
  constructor(role) {
    this.role = role;
    this.params = REPAIR_ROLES[role];
    this.restarts = 0;
    this.lastRepairMs = -Infinity;
    this.negotiatedAtMs = -Infinity;
  }

  /** A data channel opened: the connection works again. */
  opened() {
    this.restarts = 0;
  }

  /** The repair to make now (`fresh`: only a new connection can help), or null within the interval. */
  decide(fresh, nowMs) {
    if (nowMs - this.lastRepairMs < this.params.minIntervalMs) return { repair: null };
    this.lastRepairMs = nowMs;
    if (fresh || this.restarts >= MAX_ICE_RESTARTS) {
      this.restarts = 0;
      return { repair: Repair.FRESH };
    }
    this.restarts++;
    return { repair: Repair.ICE };
  }

  /**
   * ICE failed (or the connection closed under us). `dead`: the RTCPeerConnection is gone;
   * `present`: the other side is in the room (else there is nothing to repair until it is back).
   */
  failed({ dead, present, nowMs }) {
    if (!present) return { repair: null };
    return this.decide(dead, nowMs);
  }

  /** The data channel closed; returns when to look again (`stillLost`), or null. */
  channelLost() {
    return { checkAfterMs: this.params.channelLostCheckMs };
  }

  /** The look `channelLost` asked for: a fresh connection if nothing reopened meanwhile. */
  stillLost({ channelOpen, present, nowMs }) {
    if (channelOpen || !present) return { repair: null };
    return this.decide(true, nowMs);
  }

  /** The other side asked for a repair (offerer only). */
  asked({ fresh, dead, nowMs }) {
    return this.decide(fresh || dead, nowMs);
  }

  /**
   * The other side said hello (offerer only): connect afresh unless it says its channel is
   * live, or a negotiation for this same page is under way. `reloaded`: a new page of it.
   */
  hello({ live, reloaded, nowMs }) {
    if (live && !reloaded) return { repair: null };
    if (!reloaded && nowMs - this.negotiatedAtMs < NEGOTIATION_PATIENCE_MS) return { repair: null };
    this.restarts = 0;
    this.lastRepairMs = nowMs;
    return { repair: Repair.FRESH };
  }

  /** An offer went out (offerer): a hello soon after does not start another one. */
  negotiated(nowMs) {
    this.negotiatedAtMs = nowMs;
  }
}
