// One nearby offer on each side, as state machines (docs/protocol.md: Nearby pairing), and
// the limits on what other devices may ask of this one. Pure: events in, effects out; the
// clock is an argument, crypto and sockets are the shell's (nearby.js).
//
// The offering device (OfferOut): commit sent -> the other's key came (the code is known, the
// reveal goes out) -> answered -> the link sent. The target (OfferIn): commit came (our key
// sent) -> the reveal matched its commitment (prompt and code shown) -> accepted by its user
// -> the link came (the share opens). Anything out of turn fails the offer; nothing repeats.

export const OutState = Object.freeze({
  COMMITTED: 'committed', // our commitment sent; waiting for their key
  OFFERED: 'offered', // reveal sent, code shown; waiting for their answer
  CONFIRMING: 'confirming', // they accepted; waiting for our user to confirm the code
  LINKED: 'linked', // the link is sent: the transfer runs in the share from here
  DECLINED: 'declined',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  FAILED: 'failed',
});

export const InState = Object.freeze({
  KEYED: 'keyed', // their commitment came, our key sent; waiting for the reveal
  PROMPTED: 'prompted', // the reveal matched: code and prompt shown
  ACCEPTED: 'accepted', // our user accepted; waiting for the link
  OPENED: 'opened', // the link came: the share is open
  DECLINED: 'declined',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  FAILED: 'failed',
});

/** How long an offer may wait for the other side (its user deciding included). */
export const OFFER_TIMEOUT_MS = 120_000;
/**
 * How long an offer to us may wait for its reveal, which the other page sends by itself at
 * once: an offer that never reveals must not hold one of the few open places for long.
 */
export const REVEAL_TIMEOUT_MS = 10_000;
/** Incoming offers open at once, in all, and from one device. */
export const MAX_OPEN_INCOMING = 3;
/** Offers one device may start toward this one per minute (more are ignored). */
export const MAX_OFFERS_PER_MINUTE = 6;
/** ... and all devices together (peer ids are per connection: a reconnecting one is new). */
export const MAX_ALL_OFFERS_PER_MINUTE = 20;
const MINUTE_MS = 60_000;
/** Events of this device's own user: out of turn they are ignored (a double tap), not fatal. */
const USER_EVENTS = new Set(['user-accept', 'user-decline', 'user-cancel', 'confirm']);

/** (state, event) -> next state. An event missing here is out of turn: the offer fails. */
const OUT_MOVES = {
  committed: { key: 'offered', 'user-cancel': 'cancelled', cancel: 'cancelled', gone: 'cancelled', timeout: 'expired' },
  offered: {
    accept: 'linked',
    'accept-confirm': 'confirming',
    decline: 'declined',
    'user-cancel': 'cancelled',
    cancel: 'cancelled',
    gone: 'cancelled',
    timeout: 'expired',
  },
  confirming: { confirm: 'linked', 'user-cancel': 'cancelled', cancel: 'cancelled', gone: 'cancelled', timeout: 'expired' },
};

const IN_MOVES = {
  keyed: { reveal: 'prompted', tampered: 'failed', cancel: 'cancelled', gone: 'cancelled', timeout: 'expired' },
  prompted: {
    'user-accept': 'accepted',
    'user-decline': 'declined',
    'user-cancel': 'declined',
    cancel: 'cancelled',
    gone: 'cancelled',
    timeout: 'expired',
  },
  accepted: { link: 'opened', 'user-cancel': 'cancelled', cancel: 'cancelled', gone: 'cancelled', timeout: 'expired' },
};

/**
 * The messages the other device may send in each state. A cancel needs the keys, which exist
 * from `offered` and `prompted` on; before that the offer just runs out.
 */
const OUT_EXPECTS = { committed: ['key'], offered: ['answer', 'cancel'], confirming: ['cancel'] };
const IN_EXPECTS = { keyed: ['reveal'], prompted: ['cancel'], accepted: ['link', 'cancel'] };

/** Effects that a move into a state carries out (besides showing it). */
const OUT_EFFECTS = {
  offered: ['send-reveal'],
  linked: ['send-link'],
  cancelled: ['send-cancel'],
  expired: ['send-cancel'],
  failed: ['send-cancel'],
};
const IN_EFFECTS = {
  accepted: ['send-accept'],
  declined: ['send-decline'],
  cancelled: ['send-cancel'],
  opened: ['open-share'],
  expired: ['send-cancel'],
  failed: ['send-cancel'],
};

class Offer {
  constructor(moves, expects, effects, state, nowMs) {
    this.moves = moves;
    this.expects = expects;
    this.effects = effects;
    this.state = state;
    this.deadlineMs = nowMs + OFFER_TIMEOUT_MS;
    /** why it ended, for the page: an event name */
    this.reason = '';
  }

  get open() {
    return Object.hasOwn(this.moves, this.state);
  }

  /** May a message of `kind` from the other device come now? */
  expecting(kind) {
    return (this.expects[this.state] ?? []).includes(kind);
  }

  /**
   * Apply `event`; returns the effects to carry out. Out of turn: the offer fails (once).
   * A cancel that came from the other side is never answered with one.
   * @returns {string[]}
   */
  step(event) {
    if (!this.open) return [];
    const next = this.moves[this.state][event];
    if (!next && USER_EVENTS.has(event)) return [];
    const to = next ?? 'failed';
    this.state = to;
    this.reason = next ? event : `out of turn: ${event}`;
    const effects = this.effects[to] ?? [];
    return event === 'cancel' || event === 'gone' ? effects.filter((e) => e !== 'send-cancel') : [...effects];
  }

  /** The clock: an offer left waiting too long expires. */
  tick(nowMs) {
    return this.open && nowMs >= this.deadlineMs ? this.step('timeout') : [];
  }
}

/** The offering side of one offer, to one device. */
export class OfferOut extends Offer {
  constructor(nowMs, { confirmCode = false } = {}) {
    super(OUT_MOVES, OUT_EXPECTS, OUT_EFFECTS, OutState.COMMITTED, nowMs);
    /** whether our user confirms the code before the link leaves (docs/security.md) */
    this.confirmCode = confirmCode;
  }

  /** Their answer came: accepted (maybe to be confirmed first) or declined. */
  answered(accept) {
    return this.step(accept ? (this.confirmCode ? 'accept-confirm' : 'accept') : 'decline');
  }
}

/** The receiving side of one offer, from one device. */
export class OfferIn extends Offer {
  constructor(nowMs) {
    super(IN_MOVES, IN_EXPECTS, IN_EFFECTS, InState.KEYED, nowMs);
    this.deadlineMs = nowMs + REVEAL_TIMEOUT_MS;
  }

  /** The reveal matched: the prompt is shown, and its user has the usual time to decide. */
  revealed(nowMs) {
    const effects = this.step('reveal');
    if (this.state === InState.PROMPTED) this.deadlineMs = nowMs + OFFER_TIMEOUT_MS;
    return effects;
  }
}

/**
 * What other devices may start here: at most MAX_OPEN_INCOMING offers open at once, one per
 * device, and MAX_OFFERS_PER_MINUTE per device. A device over them is ignored, not answered:
 * nothing is shown, so nobody can fill this screen with prompts.
 */
export class IncomingGuard {
  constructor() {
    /** @type {Map<string, number[]>} device -> times of its recent offers */
    this.recent = new Map();
    /** @type {number[]} times of every device's recent offers */
    this.all = [];
  }

  /**
   * @param {string} from the device's peer id
   * @param {Iterable<{from: string, offer: {open: boolean}}>} incoming offers now held
   * @returns {string|null} why not, or null
   */
  refuse(from, incoming, nowMs) {
    const times = (this.recent.get(from) ?? []).filter((t) => nowMs - t < MINUTE_MS);
    this.recent.set(from, times);
    this.all = this.all.filter((t) => nowMs - t < MINUTE_MS);
    const open = [...incoming].filter((entry) => entry.offer.open);
    if (open.length >= MAX_OPEN_INCOMING) return 'too many offers open';
    if (open.some((entry) => entry.from === from)) return 'an offer from this device is open';
    if (times.length >= MAX_OFFERS_PER_MINUTE) return 'too many offers from this device';
    if (this.all.length >= MAX_ALL_OFFERS_PER_MINUTE) return 'too many offers';
    times.push(nowMs);
    this.all.push(nowMs);
    return null;
  }

  /** A device that left: its own count goes (the count of all devices stays). */
  forget(from) {
    this.recent.delete(from);
  }
}
