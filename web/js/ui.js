// The DOM side: renders controller state into the static page, and nothing else.
// Text that came from a peer (file names, device names) only ever goes in via textContent,
// and so does every text of the catalogues (i18n.js). Notices, the status line and the
// message view keep their messages, and say them again after a language switch.

import { formatBytes, formatDuration, formatSpeed, localize, onLanguageChange, t, translate } from './i18n.js';
import { qrSvg } from './qr.js';
import { isTextItem, itemsPhrase, textOf, textPreview } from './text-items.js';
import { $, reconcile, setText } from './ui-dom.js';
import { RateMeter } from './util.js';
import { peerTag, receiverRow } from './view-model.js';

export { peerTag };


const VIEWS = ['view-home', 'view-share', 'view-receive', 'view-message'];

export function showView(id) {
  for (const view of VIEWS) $(view).hidden = view !== id;
  $('statusbar').hidden = id === 'view-home' || id === 'view-message';
}

/** @typedef {import('./i18n.js').Message} Message */

/**
 * The status bar: the state's badge (its word in the current language; `data-state` the
 * contract) and the status line.
 * @param {'waiting'|'transferring'|'done'|'error'} state @param {string|Message} text
 */
export function setState(state, text) {
  const badge = $('transfer-state');
  badge.dataset.state = state;
  localize(badge, `state.${state}`);
  lastState = { state, text };
  setText($('status-text'), translate(text));
}
let lastState = { state: 'waiting', text: /** @type {string|Message} */ ('') };

/** What the notices say, by key: said again in the new language after a switch. */
const shownNotices = new Map();

/**
 * Show a notice. The same `key` replaces an earlier one instead of piling up.
 * @param {'info'|'warning'|'error'} level
 * @param {string|Message} text a message (or a text already in words: an error's detail)
 * @param {{key?: string, actions?: {label: string|Message, onClick: () => void}[]}} [options]
 */
export function notice(level, text, { key, actions = [] } = {}) {
  const box = $('notices');
  const id = key ?? `n${box.childElementCount}-${Date.now()}`;
  shownNotices.set(id, { level, text, actions });
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
  p.textContent = translate(text);
  node.append(p);
  if (actions.length) {
    const row = document.createElement('div');
    row.className = 'actions';
    for (const action of actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = translate(action.label);
      button.addEventListener('click', action.onClick);
      row.append(button);
    }
    node.append(row);
  }
  return node;
}

export function clearNotice(key) {
  shownNotices.delete(key);
  $('notices').querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
}

/** The message (a Message or words) a notice shows now, or null: what callers compare. */
export function noticeShown(key) {
  return $('notices').querySelector(`[data-key="${CSS.escape(key)}"]`) ? (shownNotices.get(key)?.text ?? null) : null;
}

/** The dead-end view: a title and what to do. @param {Message} title @param {string|Message} text */
export function showMessage(title, text) {
  message = { title, text };
  $('message-title').textContent = translate(title);
  $('message-text').textContent = translate(text);
  showView('view-message');
  document.title = t('common.documentTitle', { title: translate(title) });
}
/** @type {{title: Message, text: string|Message} | null} */
let message = null;

// After a language switch: the status line, the notices and the message view say it again.
onLanguageChange(() => {
  setState(/** @type {any} */ (lastState.state), lastState.text);
  for (const node of /** @type {NodeListOf<HTMLElement>} */ ($('notices').querySelectorAll('[data-key]'))) {
    const shown = shownNotices.get(node.dataset.key);
    if (shown) notice(shown.level, shown.text, { key: node.dataset.key, actions: shown.actions });
  }
  if (message && !$('view-message').hidden) showMessage(message.title, message.text);
});

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
  const percent = Math.floor((100 * doneBytes) / Math.max(1, wantedBytes));
  const parts = [t('share.progressOf', { percent, total: formatBytes(wantedBytes) })];
  if (rate > 0) {
    parts.push(formatSpeed(rate));
    const eta = formatDuration((wantedBytes - doneBytes) / rate);
    if (eta) parts.push(t('common.timeLeft', { time: eta }));
  }
  return parts.join(t('common.separator'));
}

/** @param {import('./sender.js').SenderController} sender */
export function renderSender(sender, { onCancel }) {
  const files = sender.shared.files;
  const showConnection = /** @type {HTMLInputElement} */ ($('connection-details')).checked;
  setText($('share-summary'), t('share.summary', { items: itemsPhrase(files.map((s) => s.info)), size: formatBytes(sender.shared.totalBytes) }));
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
    // Names and texts are isolated, their direction their own (an English name on an Arabic page).
    li.children[0].setAttribute('dir', 'auto');
    setText(li.children[0], text === undefined ? shared.info.path : t('share.textPreview', { text: textPreview(text) }));
    const size = formatBytes(shared.info.size);
    setText(li.children[1], !shared.file ? t('share.sizeMissing', { size }) : li.dataset.kind === 'text' ? t('share.sizeText', { size }) : size);
  });

  const missing = sender.shared.missingFiles;
  $('readd').hidden = missing.length === 0 || sender.stopped;
  if (missing.length) {
    localize($('readd-text'), missing.length === files.length ? 'share.readdAll' : 'share.readdSome', { count: missing.length });
  }

  const receivers = [...sender.receivers.values()].sort((a, b) => a.session.joinedAtMs - b.session.joinedAtMs);
  const list = $('receivers');
  if (!receivers.length) {
    if (!list.querySelector('.empty')) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.dataset.key = 'empty';
      localize(li, 'share.noReceivers');
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
      cancel.textContent = t('common.cancel');
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
      setText(cancel, t('common.cancel'));
      cancel.setAttribute('aria-label', t('share.cancelReceiver', { who: view.label }));
      cancel.hidden = view.cancelHidden;
      li.dataset.status = view.state;
      li.dataset.sentBytes = String(view.sentBytes);
      li.dataset.doneBytes = String(view.doneBytes);
      li.dataset.lanes = String(view.lanes);
      li.dataset.lanesMax = String(view.lanesMax);
      connection.hidden = !showConnection;
      setText(connection, showConnection ? view.connection : '');
      progress.value = view.fraction;
      progress.setAttribute('aria-label', t('share.receiverProgress', { who: view.label }));
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
