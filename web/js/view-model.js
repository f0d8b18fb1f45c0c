// What the page shows, as plain data: the words and numbers for each row and status line,
// computed from the controllers' state. Pure (no DOM): ui.js puts it on the page, and
// web/test/view-model.test.mjs checks it, among others that nothing failed reads as done.

import { SendReason, SendState } from './transfer/send-session.js';

const RECEIVER_STATUS = {
  [SendState.CONNECTING]: 'Connecting…',
  [SendState.CONNECTED]: 'Connected, has not started yet',
  [SendState.TRANSFERRING]: 'Receiving',
  [SendState.DONE]: 'Done: all files received and verified',
  [SendState.FAILED]: 'Failed',
  [SendState.GONE]: 'Left',
  [SendState.CANCELLED]: 'Cancelled',
  [SendState.WRONG_KEY]: 'Problem',
  [SendState.UNVERIFIED]: 'Problem',
};

/** What went wrong on the receiver's side with one file, from its `fail` reason. */
export function failureText(reason, path) {
  const what = path ? ` (${path})` : '';
  switch (reason) {
    case 'disk-full':
      return `ran out of disk space${what}`;
    case 'hash-mismatch':
      return `received a file that did not verify${what}`;
    case 'protocol':
      return `refused a file that did not keep to the protocol${what}`;
    default:
      return `could not save a file${what}: ${reason}`;
  }
}

/** The words for a SendSession's reason (empty when it has none worth saying). */
export function reasonText(session) {
  switch (session.reason) {
    case SendReason.YOU_CANCELLED:
      return 'cancelled by you';
    case SendReason.THEY_CANCELLED:
      return 'they cancelled the download';
    case SendReason.FILES_MISSING:
      return 'waiting for you to add the files again';
    case SendReason.WRONG_KEY:
      return 'opened the link with a wrong or incomplete key';
    case SendReason.UNVERIFIED:
      return 'This connection could not be verified. Someone may be tampering with the server; no data was sent.';
    case SendReason.SEND_ERROR:
      return session.detail;
    case SendReason.RECEIVER_FAILED: {
      const last = session.failures[session.failures.length - 1];
      const more = session.failures.length > 1 ? ` and ${session.failures.length - 1} more` : '';
      return last ? `${failureText(last.reason, last.path)}${more}` : '';
    }
    default:
      return '';
  }
}

/** A short tag both sides show, so the sender can tell which receiver is whom. */
export function peerTag(peer) {
  return peer ? peer.slice(0, 4) : '';
}

/**
 * One receiver's row on the sender's page.
 * @param {{peer: string, device: string, session: import('./transfer/send-session.js').SendSession}} r
 * @param {number} n its place (1, 2, ...) @param {boolean} stopped the sender stopped sharing
 */
export function receiverRow(r, n, stopped) {
  const s = r.session;
  const state = s.state;
  const label = `Receiver ${n} (${peerTag(r.peer)})${r.device ? ` · ${r.device}` : ''}`;
  const why = reasonText(s);
  let text = RECEIVER_STATUS[state] ?? state;
  if (state === SendState.WRONG_KEY || state === SendState.UNVERIFIED) text = why || text;
  else if (why && state !== SendState.TRANSFERRING && state !== SendState.DONE) text = `${text}: ${why}`;
  if (state === SendState.TRANSFERRING && !s.present) text = 'Receiving (their connection to the server dropped; files still flowing)';
  return {
    label,
    state,
    text,
    transferring: state === SendState.TRANSFERRING,
    fraction: s.wantedBytes ? s.doneBytes / s.wantedBytes : state === SendState.DONE ? 1 : 0,
    progressHidden: state !== SendState.TRANSFERRING && state !== SendState.DONE && !s.wantedBytes,
    cancelHidden: stopped || [SendState.CANCELLED, SendState.DONE, SendState.GONE, SendState.UNVERIFIED, SendState.WRONG_KEY].includes(state),
    sentBytes: s.sentBytes,
    doneBytes: s.doneBytes,
    wantedBytes: s.wantedBytes,
    lanes: r.lanes?.openCount ?? 1,
    lanesMax: r.lanes?.mostOpen ?? 1,
    connection: connectionDetail(r.lanes?.openCount ?? 1, r.lanes?.rttMs ?? null),
  };
}

/** The optional detail line of a receiver: "3 connections · 41 ms". */
export function connectionDetail(lanes, rttMs) {
  const count = `${lanes} connection${lanes === 1 ? '' : 's'}`;
  return rttMs === null ? count : `${count} · ${rttMs < 10 ? rttMs.toFixed(1) : Math.round(rttMs)} ms`;
}

/** waiting | transferring | done | error over every receiver, for the page's transfer-state. */
export function senderState(states) {
  if (states.includes(SendState.TRANSFERRING)) return 'transferring';
  if (states.some((state) => state === SendState.UNVERIFIED || state === SendState.FAILED)) return 'error';
  if (states.includes(SendState.DONE)) return 'done';
  return 'waiting';
}

/**
 * The sender page's status line and title.
 * @param {{stopped: boolean, missing: number, states: string[]}} sender
 */
export function senderStatus({ stopped, missing, states }) {
  const state = senderState(states);
  const active = states.filter((s) => s === SendState.TRANSFERRING).length;
  const done = states.filter((s) => s === SendState.DONE).length;
  let text;
  if (stopped) text = 'Sharing stopped. The link no longer works.';
  else if (missing) text = 'Add the files again to continue sharing.';
  else if (active) text = `Sending to ${active} ${active === 1 ? 'person' : 'people'}…`;
  else if (state === 'error') text = 'A transfer failed; see below.';
  else if (done) text = `${done} ${done === 1 ? 'person has' : 'people have'} all the files. The link keeps working while this page is open.`;
  else text = 'Waiting for someone to open the link…';
  return { state, text, title: active ? `Sending to ${active} — p2pshare` : 'Sharing — p2pshare' };
}

const FILE_STATUS = {
  pending: 'not started',
  receiving: 'receiving',
  verifying: 'checking',
  verified: 'verified',
  failed: 'failed',
};

/**
 * One file's row on the receiving page.
 * @param {import('./receive-store.js').IncomingFile & {blob?: Blob, savedToFolder?: boolean}} file
 * @param {'opfs'|'memory'} mode
 */
export function fileRow(file, mode) {
  const arrived = Math.max(file.received, file.from);
  const fraction = file.info.size ? Math.min(1, arrived / file.info.size) : file.status === 'verified' ? 1 : 0;
  let text = FILE_STATUS[file.status] ?? file.status;
  if (file.status === 'receiving') text = `receiving ${Math.floor(fraction * 100)}%`;
  if (file.status === 'failed') text = `failed: ${file.error}`;
  if (file.status === 'verified' && file.error) text = `verified (${file.error})`;
  return {
    text,
    fraction,
    arrived,
    progressHidden: file.status === 'pending' && !file.from,
    saveHidden: file.status !== 'verified' || Boolean(file.savedToFolder) || (mode === 'memory' && !file.blob) || file.info.text === true,
  };
}
