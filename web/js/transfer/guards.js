// Per-peer limits on what a peer can make us do. Pure: the caller passes the clock (ms).
//
// A receiver's `want` restarts the sender's send loop for that receiver (each restart reads a
// block ahead), and a bad sealed envelope makes the page reply and warn. Without limits, one
// link holder can make a sender read hundreds of blocks at once, or warn a hundred times.

/** Wants a receiver may have acted on per second, after a burst of WANT_BURST. */
export const WANT_RATE_PER_S = 4;
export const WANT_BURST = 8;
/** Replies (and notices) to a peer's bad envelopes: at most one per this many ms. */
export const ALARM_INTERVAL_MS = 60000;

export class TokenBucket {
  /** @param {number} ratePerS @param {number} burst @param {number} nowMs */
  constructor(ratePerS, burst, nowMs) {
    this.ratePerMs = ratePerS / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.stampMs = nowMs;
  }

  refill(nowMs) {
    if (nowMs > this.stampMs) this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.stampMs) * this.ratePerMs);
    this.stampMs = Math.max(this.stampMs, nowMs);
  }

  /** Take one token if there is one. */
  take(nowMs) {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(nowMs) {
    this.refill(nowMs);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.ratePerMs);
  }
}

/**
 * One entry per file, the first one listed: a want that names a file twice sends it once.
 * @template {{f: number}} T
 * @param {T[]} entries
 * @returns {T[]}
 */
export function uniqueWants(entries) {
  const seen = new Set();
  return entries.filter((w) => !seen.has(w.f) && seen.add(w.f));
}

/**
 * Coalesces a receiver's wants: each is acted on at once while the rate allows; past it only
 * the latest waiting one is kept, for when a token comes (a want replaces the one before, so
 * nothing a well-behaved receiver asks for is lost, and a flood costs one restart a tick).
 */
export class WantGate {
  /** @param {number} nowMs */
  constructor(nowMs) {
    this.bucket = new TokenBucket(WANT_RATE_PER_S, WANT_BURST, nowMs);
    /** @type {any[]|null} the latest want waiting for a token */
    this.waiting = null;
  }

  /**
   * A want arrived. Returns {act: entries} to act on now, or {retryInMs} when it waits
   * (the caller calls `due` then; a later want replaces this one meanwhile).
   * @param {{f: number}[]} entries @param {number} nowMs
   */
  offer(entries, nowMs) {
    const unique = uniqueWants(entries);
    if (this.waiting === null && this.bucket.take(nowMs)) return { act: unique };
    const first = this.waiting === null;
    this.waiting = unique;
    return first ? { retryInMs: this.bucket.waitMs(nowMs) } : { retryInMs: null };
  }

  /** Forget the waiting want (its channel closed; a new channel brings new wants). */
  reset() {
    this.waiting = null;
  }

  /** The timer the last `offer` asked for fired: the waiting want, if a token is there now. */
  due(nowMs) {
    if (this.waiting === null) return { act: null, retryInMs: null };
    if (!this.bucket.take(nowMs)) return { act: null, retryInMs: this.bucket.waitMs(nowMs) };
    const act = this.waiting;
    this.waiting = null;
    return { act, retryInMs: null };
  }
}

/** Whether to answer (and show) a peer's bad envelope: once per ALARM_INTERVAL_MS per peer. */
export class AlarmGate {
  constructor() {
    /** @type {Map<string, number>} peer -> when we last answered */
    this.lastMs = new Map();
  }

  /** @param {string} peer @param {number} nowMs */
  admit(peer, nowMs) {
    const last = this.lastMs.get(peer);
    if (last !== undefined && nowMs - last < ALARM_INTERVAL_MS) return false;
    if (this.lastMs.size >= 1024) this.lastMs.clear(); // a room holds a few peers; bounded anyway
    this.lastMs.set(peer, nowMs);
    return true;
  }
}
