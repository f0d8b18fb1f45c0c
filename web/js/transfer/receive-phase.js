// The receiving page's phase: one enum, one table of moves. Pure.
//
// A phase says what the page is doing for the person (the status line, the transfer-state
// badge). `done` and `error` are final but for two moves the table names: `done` reopens to
// `ready` when the sender offers more files, and either may be reached again to change the
// text. Link events that arrive after the end (a late "connecting") are the caller's to
// ignore (ReceiverController.setStatus); any other move throws IllegalTransition.

import { IllegalTransition } from './receive-file.js';

/** @enum {string} */
export const Phase = Object.freeze({
  CONNECTING: 'connecting',
  WAITING_SENDER: 'waiting-sender',
  READY: 'ready',
  TRANSFERRING: 'transferring',
  DONE: 'done',
  ERROR: 'error',
});

const LIVE = Object.freeze([Phase.CONNECTING, Phase.WAITING_SENDER, Phase.READY, Phase.TRANSFERRING, Phase.DONE, Phase.ERROR]);

/** Allowed moves: phase -> the phases it may go to. */
export const PHASE_TRANSITIONS = Object.freeze({
  [Phase.CONNECTING]: LIVE,
  [Phase.WAITING_SENDER]: LIVE,
  [Phase.READY]: LIVE,
  [Phase.TRANSFERRING]: LIVE,
  [Phase.DONE]: Object.freeze([Phase.DONE, Phase.READY, Phase.ERROR]),
  [Phase.ERROR]: Object.freeze([Phase.ERROR]),
});

export const FINAL_PHASES = Object.freeze([Phase.DONE, Phase.ERROR]);

/**
 * The phase after moving from `from` to `to` (`to`), or IllegalTransition.
 * @param {string} from @param {string} to @param {string} why what asked for the move
 */
export function nextPhase(from, to, why) {
  if (!PHASE_TRANSITIONS[from]?.includes(to)) throw new IllegalTransition(from, to, why);
  return to;
}
