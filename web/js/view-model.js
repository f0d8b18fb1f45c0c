// What the page shows, as plain data: the words and numbers for each row and status line,
// computed from the controllers' state, in the current language (i18n.js's t). Pure (no DOM):
// ui.js puts it on the page, and web/test/view-model.test.mjs checks it, among others that
// nothing failed reads as done.

import { formatNumber, t, translate } from './i18n.js';
import { SendReason, SendState } from './transfer/send-session.js';

/** The catalogue key of a receiver's state on the sender's page. */
const RECEIVER_STATUS = {
  [SendState.CONNECTING]: 'share.receiverStatus.connecting',
  [SendState.CONNECTED]: 'share.receiverStatus.connected',
  [SendState.TRANSFERRING]: 'share.receiverStatus.receiving',
  [SendState.DONE]: 'share.receiverStatus.done',
  [SendState.FAILED]: 'share.receiverStatus.failed',
  [SendState.GONE]: 'share.receiverStatus.gone',
  [SendState.CANCELLED]: 'share.receiverStatus.cancelled',
  [SendState.WRONG_KEY]: 'share.receiverStatus.problem',
  [SendState.UNVERIFIED]: 'share.receiverStatus.problem',
};

const FAILURE = {
  'disk-full': 'share.failure.diskFull',
  'hash-mismatch': 'share.failure.hashMismatch',
  protocol: 'share.failure.protocol',
};

/** What went wrong on the receiver's side with one file, from its `fail` reason. */
export function failureText(reason, path) {
  const key = FAILURE[reason];
  if (key) return path ? t(`${key}.path`, { path }) : t(key);
  return path ? t('share.failure.other.path', { path, reason }) : t('share.failure.other', { reason });
}

/** The words for a SendSession's reason (empty when it has none worth saying). */
export function reasonText(session) {
  switch (session.reason) {
    case SendReason.YOU_CANCELLED:
      return t('share.reason.youCancelled');
    case SendReason.THEY_CANCELLED:
      return t('share.reason.theyCancelled');
    case SendReason.FILES_MISSING:
      return t('share.reason.filesMissing');
    case SendReason.WRONG_KEY:
      return t('share.reason.wrongKey');
    case SendReason.UNVERIFIED:
      return t('share.reason.unverified');
    case SendReason.SEND_ERROR:
      return session.detail;
    case SendReason.RECEIVER_FAILED: {
      const last = session.failures[session.failures.length - 1];
      if (!last) return '';
      const text = failureText(last.reason, last.path);
      const more = session.failures.length - 1;
      return more ? t('share.reason.andMore', { text, count: more }) : text;
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
  const label = t(r.device ? 'share.receiverDevice' : 'share.receiver', { n, tag: peerTag(r.peer), device: r.device });
  const why = reasonText(s);
  let text = RECEIVER_STATUS[state] ? t(RECEIVER_STATUS[state]) : state;
  if (state === SendState.WRONG_KEY || state === SendState.UNVERIFIED) text = why || text;
  else if (why && state !== SendState.TRANSFERRING && state !== SendState.DONE) text = t('share.receiverStatus.because', { status: text, why });
  if (state === SendState.TRANSFERRING && !s.present) text = t('share.receiverStatus.receivingAway');
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
  const count = t('share.connections', { count: lanes });
  if (rttMs === null) return count;
  const rtt = formatNumber(rttMs, { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: rttMs < 10 ? 1 : 0, minimumFractionDigits: rttMs < 10 ? 1 : 0 });
  return t('share.connectionsRtt', { connections: count, rtt });
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
  if (stopped) text = t('share.status.stopped');
  else if (missing) text = t('share.status.missing');
  else if (active) text = t('share.status.sending', { count: active });
  else if (state === 'error') text = t('share.status.failed');
  else if (done) text = t('share.status.done', { count: done });
  else text = t('share.status.waiting');
  return { state, text, title: active ? t('share.documentTitleSending', { count: active }) : t('share.documentTitle') };
}

const FILE_STATUS = {
  pending: 'receive.fileStatus.pending',
  receiving: 'receive.fileStatus.receiving',
  verifying: 'receive.fileStatus.verifying',
  verified: 'receive.fileStatus.verified',
  failed: 'receive.fileStatus.failed',
};

/**
 * One file's row on the receiving page.
 * @param {import('./receive-store.js').IncomingFile & {blob?: Blob, savedToFolder?: boolean}} file
 * @param {'opfs'|'memory'} mode
 */
export function fileRow(file, mode) {
  const arrived = Math.max(file.received, file.from);
  const fraction = file.info.size ? Math.min(1, arrived / file.info.size) : file.status === 'verified' ? 1 : 0;
  let text = FILE_STATUS[file.status] ? t(FILE_STATUS[file.status]) : file.status;
  if (file.status === 'receiving') text = t('receive.fileStatus.receivingPercent', { percent: Math.floor(fraction * 100) });
  if (file.status === 'failed') text = t('receive.fileStatus.failedBecause', { error: translate(file.error) });
  if (file.status === 'verified' && file.error) text = t('receive.fileStatus.verifiedBut', { error: translate(file.error) });
  return {
    text,
    fraction,
    arrived,
    progressHidden: file.status === 'pending' && !file.from,
    saveHidden: file.status !== 'verified' || Boolean(file.savedToFolder) || (mode === 'memory' && !file.blob) || file.info.text === true,
  };
}
