// The DOM side: renders controller state into the static page, and nothing else.
// Text that came from a peer (file names, device names) only ever goes in via textContent.

import { qrSvg } from './qr.js';
import { RateMeter, formatBytes, formatDuration, formatSpeed } from './util.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const VIEWS = ['view-home', 'view-share', 'view-receive', 'view-message'];

export function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
  $('statusbar').hidden = id === 'view-home' || id === 'view-message';
}

/** @param {'waiting'|'transferring'|'done'|'error'} state @param {string} text */
export function setState(state, text) {
  const badge = $('transfer-state');
  if (badge.textContent !== state) {
    badge.textContent = state;
    badge.dataset.state = state;
  }
  const status = $('status-text');
  if (status.textContent !== text) status.textContent = text;
}

/**
 * Show a notice. The same `key` replaces an earlier one instead of piling up.
 * @param {'info'|'warning'|'error'} level
 * @param {string} text
 * @param {{key?: string, actions?: {label: string, onClick: () => void}[]}} [options]
 */
export function notice(level, text, { key, actions = [] } = {}) {
  const box = $('notices');
  const id = key ?? `n${box.childElementCount}-${Date.now()}`;
  let node = /** @type {HTMLElement|null} */ (box.querySelector(`[data-key="${CSS.escape(id)}"]`));
  if (!node) {
    node = document.createElement('div');
    node.dataset.key = id;
    box.append(node);
  }
  node.className = `notice ${level}`;
  node.setAttribute('role', level === 'error' ? 'alert' : 'status');
  node.replaceChildren();
  const p = document.createElement('p');
  p.textContent = text;
  node.append(p);
  if (actions.length) {
    const row = document.createElement('div');
    row.className = 'actions';
    for (const action of actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = action.label;
      button.addEventListener('click', action.onClick);
      row.append(button);
    }
    node.append(row);
  }
  return node;
}

export function clearNotice(key) {
  $('notices').querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
}

export function showMessage(title, text) {
  $('message-title').textContent = title;
  $('message-text').textContent = text;
  showView('view-message');
  document.title = `${title} — p2pshare`;
}

/** Reuse list items by key so that re-rendering keeps focus and does not flicker. */
function reconcile(list, keys, create) {
  const existing = new Map([...list.children].map((li) => [li.dataset.key, li]));
  const items = keys.map((key) => {
    let li = existing.get(key);
    if (!li) {
      li = create(key);
      li.dataset.key = key;
    }
    existing.delete(key);
    return li;
  });
  for (const stale of existing.values()) stale.remove();
  items.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  return items;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// --- sender -------------------------------------------------------------------------------

let qrFor = '';

/** @param {string} link */
export function renderShareLink(link) {
  const input = /** @type {HTMLInputElement} */ ($('share-link'));
  input.value = link;
  if (qrFor !== link) {
    qrFor = link;
    $('qr').replaceChildren(qrSvg(link));
  }
}

const RECEIVER_STATUS = {
  connecting: 'Connecting…',
  connected: 'Connected, has not started yet',
  transferring: 'Receiving',
  done: 'Done: all files received and verified',
  cancelled: 'Cancelled',
  gone: 'Left',
  'wrong-key': 'Problem',
  unverified: 'Problem',
  failed: 'Failed',
};

/** A short tag both sides show, so the sender can tell which receiver is whom. */
export function peerTag(peer) {
  return peer ? peer.slice(0, 4) : '';
}

/** Per-receiver speed, measured from the acknowledged bytes the sender reports. */
const receiverRates = new Map();

function progressDetail(doneBytes, wantedBytes, meter) {
  meter.add(performance.now(), doneBytes);
  const rate = meter.rate();
  const parts = [`${Math.floor((100 * doneBytes) / Math.max(1, wantedBytes))}% of ${formatBytes(wantedBytes)}`];
  if (rate > 0) {
    parts.push(formatSpeed(rate));
    const eta = formatDuration((wantedBytes - doneBytes) / rate);
    if (eta) parts.push(`${eta} left`);
  }
  return parts.join(' · ');
}

/** @param {import('./sender.js').SenderController} sender */
export function renderSender(sender, { onCancel }) {
  const files = sender.files;
  setText($('share-summary'), `(${files.length} ${files.length === 1 ? 'file' : 'files'}, ${formatBytes(sender.totalBytes)})`);
  const fileList = $('share-files');
  const fileItems = reconcile(fileList, files.map((_, i) => String(i)), () => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    const size = document.createElement('span');
    size.className = 'size';
    li.append(name, size);
    return li;
  });
  fileItems.forEach((li, i) => {
    const shared = files[i];
    setText(li.children[0], shared.info.path);
    setText(li.children[1], shared.file ? formatBytes(shared.info.size) : `${formatBytes(shared.info.size)} · missing`);
  });

  const missing = sender.missingFiles;
  $('readd').hidden = missing.length === 0 || sender.stopped;
  if (missing.length) {
    setText(
      $('readd-text'),
      `This page was reloaded, so your browser needs the files again: add ${missing.length === files.length ? 'the same files' : `the ${missing.length} missing file(s)`} and everyone continues where they stopped.`,
    );
  }

  const receivers = [...sender.receivers.values()].sort((a, b) => a.joinedAt - b.joinedAt);
  const list = $('receivers');
  if (!receivers.length) {
    if (!list.querySelector('.empty')) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.dataset.key = 'empty';
      li.textContent = 'No one has opened the link yet.';
      list.replaceChildren(li);
    }
  } else {
    const items = reconcile(list, receivers.map((r) => r.peer), (peer) => {
      const li = document.createElement('li');
      li.className = 'receiver';
      li.dataset.testid = 'receiver-row';
      const who = document.createElement('span');
      who.className = 'who';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'small danger';
      cancel.textContent = 'Cancel';
      cancel.addEventListener('click', () => onCancel(peer));
      const progress = document.createElement('progress');
      progress.max = 1;
      const row = document.createElement('div');
      row.className = 'row-status';
      const status = document.createElement('span');
      const detail = document.createElement('span');
      detail.className = 'detail';
      row.append(status, detail);
      li.append(who, cancel, progress, row);
      return li;
    });
    items.forEach((li, i) => {
      const r = receivers[i];
      const [who, cancel, progress, row] = li.children;
      const label = `Receiver ${i + 1} (${peerTag(r.peer)})${r.device ? ` · ${r.device}` : ''}`;
      setText(who, label);
      cancel.setAttribute('aria-label', `Cancel ${label}`);
      cancel.hidden = ['cancelled', 'done', 'gone', 'unverified', 'wrong-key'].includes(r.status) || sender.stopped;
      li.dataset.status = r.status;
      li.dataset.sentBytes = String(r.sentBytes);
      li.dataset.doneBytes = String(r.doneBytes);
      const fraction = r.wantedBytes ? r.doneBytes / r.wantedBytes : r.status === 'done' ? 1 : 0;
      progress.value = fraction;
      progress.setAttribute('aria-label', `${label} progress`);
      progress.hidden = !['transferring', 'done'].includes(r.status) && !r.wantedBytes;
      let status = RECEIVER_STATUS[r.status] ?? r.status;
      if (r.error && ['failed', 'unverified', 'wrong-key', 'connected', 'cancelled'].includes(r.status)) {
        status = `${status}: ${r.error}`;
      }
      if (r.status === 'wrong-key' || r.status === 'unverified') status = r.error || status;
      if (r.status === 'transferring' && !r.present) status = 'Receiving (their connection to the server dropped; files still flowing)';
      setText(row.children[0], status);
      if (!receiverRates.has(r.peer)) receiverRates.set(r.peer, new RateMeter());
      const meter = receiverRates.get(r.peer);
      if (r.status !== 'transferring') meter.reset();
      setText(row.children[1], r.status === 'transferring' ? progressDetail(r.doneBytes, r.wantedBytes, meter) : '');
    });
  }
  $('stop-sharing').hidden = sender.stopped;
  document.querySelector('.share-box').classList.toggle('stopped', sender.stopped);
  /** @type {HTMLButtonElement} */ ($('copy-link')).disabled = sender.stopped;
  /** @type {HTMLInputElement} */ ($('share-link')).disabled = sender.stopped;
  if (sender.stopped) $('stop-confirm').hidden = true;
  $('add-more').hidden = sender.stopped || missing.length > 0;
  $('new-share').hidden = !sender.stopped;
}

// --- receiver -----------------------------------------------------------------------------

const STALL_NOTICE_S = 10;
const lastReceived = { bytes: -1, at: 0 };

const FILE_STATUS = {
  pending: 'not started',
  receiving: 'receiving',
  verifying: 'checking',
  verified: 'verified',
  failed: 'failed',
};

/**
 * @param {import('./receiver.js').ReceiverController} receiver
 * @param {{onSave: (file: import('./receiver.js').IncomingFile) => void}} actions
 */
export function renderReceiver(receiver, { onSave }) {
  const files = receiver.files;
  const total = receiver.totalBytes;
  if (receiver.manifest) {
    const count = files.length;
    setText(
      $('receive-summary'),
      `${count} ${count === 1 ? 'file' : 'files'}, ${formatBytes(total)} in all.${receiver.manifest.missing ? ' (The sender is re-adding some of them.)' : ''}`,
    );
  }
  const list = $('receive-files');
  const items = reconcile(list, files.map((f) => f.key), () => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    const status = document.createElement('span');
    status.className = 'file-status';
    status.dataset.testid = 'file-status';
    const progress = document.createElement('progress');
    progress.max = 1;
    const size = document.createElement('span');
    size.className = 'size';
    const save = document.createElement('button');
    save.type = 'button';
    save.className = 'small';
    save.textContent = 'Save';
    save.hidden = true;
    save.addEventListener('click', () => {
      const file = receiver.files.find((f) => f.key === li.dataset.key);
      if (file) onSave(file);
    });
    li.append(name, status, progress, size, save);
    return li;
  });
  items.forEach((li, i) => {
    const file = files[i];
    const [name, status, progress, size, save] = li.children;
    save.hidden = file.status !== 'verified' || Boolean(file.savedToFolder) || (receiver.mode === 'memory' && !file.blob);
    save.setAttribute('aria-label', `Save ${file.info.path} again`);
    setText(name, file.info.path);
    status.dataset.name = file.info.path;
    status.dataset.size = String(file.info.size);
    status.dataset.received = String(file.from); // verified and kept
    status.dataset.arrived = String(Math.max(file.received, file.from)); // verified or not
    status.dataset.status = file.status;
    const fraction = file.info.size ? Math.min(1, Math.max(file.received, file.from) / file.info.size) : file.status === 'verified' ? 1 : 0;
    let text = FILE_STATUS[file.status] ?? file.status;
    if (file.status === 'receiving') text = `receiving ${Math.floor(fraction * 100)}%`;
    if (file.status === 'failed') text = `failed: ${file.error}`;
    if (file.status === 'verified' && file.error) text = `verified (${file.error})`;
    setText(status, text);
    progress.value = fraction;
    progress.setAttribute('aria-label', `${file.info.path}: ${text}`);
    progress.hidden = file.status === 'pending' && !file.from;
    setText(size, formatBytes(file.info.size));
  });

  const active = receiver.accepted && receiver.wantsSent > 0;
  $('overall').hidden = !active;
  if (active) {
    const got = receiver.receivedBytes;
    const now = performance.now();
    // Sample at render time too, so that the speed falls to zero when nothing arrives.
    receiver.meter.add(now, got);
    if (got !== lastReceived.bytes) Object.assign(lastReceived, { bytes: got, at: now });
    const fraction = total ? got / total : 1;
    /** @type {HTMLProgressElement} */ ($('overall-progress')).value = fraction;
    const rate = receiver.rate;
    const eta = rate > 0 ? formatDuration((total - got) / rate) : '';
    const parts = [`${Math.floor(fraction * 100)}%`, `${formatBytes(got)} of ${formatBytes(total)}`];
    const stalledS = Math.floor((now - lastReceived.at) / 1000);
    if (receiver.phase === 'transferring' && stalledS >= STALL_NOTICE_S && got < total) {
      parts.push(`nothing from the sender for ${stalledS} s: their page may be closed, asleep or offline`);
    } else if (receiver.phase === 'transferring' && rate > 0) {
      parts.push(formatSpeed(rate), eta ? `${eta} left` : '');
    }
    setText($('overall-text'), parts.filter(Boolean).join(' · '));
  }
  const zip = $('save-zip');
  const verified = files.filter((f) => f.status === 'verified' && !f.savedToFolder);
  zip.hidden = receiver.phase !== 'done' || verified.length < 2 || (receiver.mode === 'memory' && !verified.every((f) => f.blob));
  const me = receiver.signaling.welcome?.peer;
  setText($('whoami'), me ? `The sender sees you as “${peerTag(me)}”.` : '');

  const accept = /** @type {HTMLButtonElement} */ ($('accept'));
  const canAccept = Boolean(receiver.manifest) && !receiver.isFinal;
  accept.hidden = (receiver.accepted && receiver.wantsSent > 0) || receiver.isFinal;
  accept.disabled = !canAccept;
  setText(accept, receiver.accepted ? 'Resume download' : 'Accept and download');
  $('pick-folder').hidden = !receiver.caps.pickFolder || receiver.wantsSent > 0 || receiver.isFinal || !receiver.manifest;
  $('cancel-receive').hidden = !(receiver.phase === 'transferring' || (receiver.accepted && !receiver.isFinal));
  let destination = '';
  if (receiver.folder) destination = `Files will be saved in the folder “${receiver.folderName}”.`;
  else if (receiver.mode === 'memory')
    destination =
      'This page is not secure (plain http), so files are kept in memory (up to 2 GB) and a reload starts over. For large files ask for the https:// link.';
  else if (receiver.manifest && !receiver.isFinal) destination = 'Files go to your downloads as each one is verified.';
  setText($('destination'), destination);
}
