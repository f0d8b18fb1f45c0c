// The DOM side: renders controller state into the static page, and nothing else.
// Text that came from a peer (file names, device names) only ever goes in via textContent.

import { qrSvg } from './qr.js';
import { isTextItem, itemsPhrase, textOf, textPreview } from './text-items.js';
import { $, reconcile, setText } from './ui-dom.js';
import { RateMeter, formatBytes, formatDuration, formatSpeed } from './util.js';
import { peerTag, receiverRow } from './view-model.js';

export { peerTag };


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
  const files = sender.shared.files;
  const showConnection = /** @type {HTMLInputElement} */ ($('connection-details')).checked;
  setText($('share-summary'), `(${itemsPhrase(files.map((s) => s.info))}, ${formatBytes(sender.shared.totalBytes)})`);
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
    // A text item shows its first line (the sender's own words, still only as text).
    const text = isTextItem(shared.info) ? textOf(shared.file) : undefined;
    li.dataset.kind = isTextItem(shared.info) ? 'text' : 'file';
    if (text === undefined) li.children[0].removeAttribute('dir');
    else li.children[0].setAttribute('dir', 'auto');
    setText(li.children[0], text === undefined ? shared.info.path : `“${textPreview(text)}”`);
    const kind = li.dataset.kind === 'text' ? ' · text' : '';
    setText(li.children[1], shared.file ? `${formatBytes(shared.info.size)}${kind}` : `${formatBytes(shared.info.size)} · missing`);
  });

  const missing = sender.shared.missingFiles;
  $('readd').hidden = missing.length === 0 || sender.stopped;
  if (missing.length) {
    setText(
      $('readd-text'),
      `This page was reloaded, so your browser needs the files again: add ${missing.length === files.length ? 'the same files' : `the ${missing.length} missing file(s)`} and everyone continues where they stopped.`,
    );
  }

  const receivers = [...sender.receivers.values()].sort((a, b) => a.session.joinedAtMs - b.session.joinedAtMs);
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
      const connection = document.createElement('span');
      connection.className = 'detail connection';
      connection.dataset.testid = 'receiver-connection';
      li.append(who, cancel, progress, row, connection);
      return li;
    });
    items.forEach((li, i) => {
      const r = receivers[i];
      const view = receiverRow(r, i + 1, sender.stopped);
      const [who, cancel, progress, row, connection] = li.children;
      setText(who, view.label);
      cancel.setAttribute('aria-label', `Cancel ${view.label}`);
      cancel.hidden = view.cancelHidden;
      li.dataset.status = view.state;
      li.dataset.sentBytes = String(view.sentBytes);
      li.dataset.doneBytes = String(view.doneBytes);
      li.dataset.lanes = String(view.lanes);
      li.dataset.lanesMax = String(view.lanesMax);
      connection.hidden = !showConnection;
      setText(connection, showConnection ? view.connection : '');
      progress.value = view.fraction;
      progress.setAttribute('aria-label', `${view.label} progress`);
      progress.hidden = view.progressHidden;
      setText(row.children[0], view.text);
      if (!receiverRates.has(r.peer)) receiverRates.set(r.peer, new RateMeter());
      const meter = receiverRates.get(r.peer);
      if (!view.transferring) meter.reset();
      setText(row.children[1], view.transferring ? progressDetail(view.doneBytes, view.wantedBytes, meter) : '');
    });
  }
  $('stop-sharing').hidden = sender.stopped;
  document.querySelector('.share-box').classList.toggle('stopped', sender.stopped);
  /** @type {HTMLButtonElement} */ ($('copy-link')).disabled = sender.stopped;
  /** @type {HTMLInputElement} */ ($('share-link')).disabled = sender.stopped;
  if (sender.stopped) $('stop-confirm').hidden = true;
  $('add-more').hidden = sender.stopped || missing.length > 0;
  $('text-box').hidden = sender.stopped || missing.length > 0;
  $('new-share').hidden = !sender.stopped;
}

export { renderReceiver } from './ui-receive.js';
