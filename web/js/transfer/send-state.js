// A receiver's state on the sending side: one enum, one table of moves, the reasons. Pure.
//
//   connecting ─channel open─▶ connected ─want─▶ transferring ─done─▶ done
//        ▲                        │  ▲               │   └──fail──▶ failed ─want─▶ transferring
//        └──────channel lost──────┴──┴───────────────┘
//   any ─left, nothing open─▶ gone;  ─user or receiver cancels─▶ cancelled;
//   ─bad envelopes─▶ unverified (final);  ─a wrong key─▶ wrong-key (until a good message).
// A move the table does not list throws IllegalTransition (send-session.js).

/** @enum {string} */
export const SendState = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  TRANSFERRING: 'transferring',
  DONE: 'done',
  FAILED: 'failed',
  GONE: 'gone',
  CANCELLED: 'cancelled',
  WRONG_KEY: 'wrong-key',
  UNVERIFIED: 'unverified',
});

const S = SendState;
const ENDS = [S.GONE, S.CANCELLED, S.WRONG_KEY, S.UNVERIFIED];

/** Why a receiver is where it is, for the view (view-model.js words it). */
export const SendReason = Object.freeze({
  NONE: '',
  YOU_CANCELLED: 'you-cancelled',
  THEY_CANCELLED: 'they-cancelled',
  STOPPED: 'stopped',
  FILES_MISSING: 'files-missing',
  RECEIVER_FAILED: 'receiver-failed',
  SEND_ERROR: 'send-error',
  WRONG_KEY: 'wrong-key',
  UNVERIFIED: 'unverified',
});

/** Allowed moves: state -> the states it may go to. */
export const SEND_TRANSITIONS = Object.freeze({
  [S.CONNECTING]: Object.freeze([S.CONNECTING, S.CONNECTED, ...ENDS]),
  [S.CONNECTED]: Object.freeze([S.CONNECTING, S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, ...ENDS]),
  [S.TRANSFERRING]: Object.freeze([S.CONNECTING, S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, ...ENDS]),
  [S.DONE]: Object.freeze([S.CONNECTING, S.TRANSFERRING, S.DONE, S.FAILED, ...ENDS]),
  [S.FAILED]: Object.freeze([S.CONNECTING, S.TRANSFERRING, S.FAILED, ...ENDS]),
  // Gone, but its channel still works (it comes back by asking): as connected.
  [S.GONE]: Object.freeze([S.CONNECTING, S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, ...ENDS]),
  // A receiver that cancelled and opens the link again starts afresh; one the user cancelled does not.
  [S.CANCELLED]: Object.freeze([S.CONNECTING, S.CANCELLED, S.UNVERIFIED]),
  [S.WRONG_KEY]: Object.freeze([S.CONNECTING, ...ENDS]),
  [S.UNVERIFIED]: Object.freeze([S.UNVERIFIED]),
});

/** States in which nothing more is sent to this receiver until it comes back anew. */
export const ENDED_STATES = Object.freeze([S.CANCELLED, S.WRONG_KEY, S.UNVERIFIED]);
/** States in which its data-channel frames (want, ack, fail, done) are acted on; else ignored. */
export const FRAME_STATES = Object.freeze([S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, S.GONE]);
