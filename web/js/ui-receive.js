// The receiving page's DOM: the file list (one row per file: status, progress, Save), the
// overall progress with speed and time left, and the controls that apply. Peer-given text
// (file names, text items: text-view.js) only ever goes in via textContent, as do the
// catalogues' texts (i18n.js).

import { readText, savedFiles } from './delivery.js';
import { isTextItem, itemsPhrase } from './text-items.js';
import { renderTextItem } from './text-view.js';
import { $, reconcile, setText } from './ui-dom.js';
import { formatBytes, formatDuration, formatNumber, formatSpeed, t } from './i18n.js';
import { MEMORY_CAP_BYTES } from './sink.js';
import { fileRow, peerTag } from './view-model.js';

const STALL_NOTICE_S = 10;
const lastReceived = { bytes: -1, at: 0 };

/**
 * @param {import('./receiver.js').ReceiverController} receiver
 * @param {{onSave: (file: import('./receive-store.js').IncomingFile) => void}} actions
 */
export function renderReceiver(receiver, { onSave }) {
  const files = receiver.files;
  const total = receiver.totalBytes;
  if (receiver.manifest) {
    const params = { items: itemsPhrase(files.map((f) => f.info)), size: formatBytes(total) };
    setText($('receive-summary'), t(receiver.manifest.missing ? 'receive.summaryReadding' : 'receive.summary', params));
  }
  const list = $('receive-files');
  const items = reconcile(list, files.map((f) => f.key), () => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.dir = 'auto'; // the sender's name for it, in its own direction
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
    save.hidden = true;
    save.addEventListener('click', () => {
      const file = receiver.files.find((f) => f.key === li.dataset.key);
      if (file) onSave(file);
    });
    const slot = document.createElement('div');
    slot.className = 'text-slot';
    li.append(name, status, progress, size, save, slot);
    return li;
  });
  items.forEach((li, i) => {
    const file = files[i];
    const view = fileRow(file, receiver.mode);
    const [name, status, progress, size, save, slot] = li.children;
    li.dataset.kind = isTextItem(file.info) ? 'text' : 'file';
    // A text verified by an earlier page (a reload): read back from where it is kept.
    if (isTextItem(file.info) && file.status === 'verified' && !file.shown && !file.reading) {
      file.reading = true;
      readText(file, receiver.dir).then(() => receiver.changed());
    }
    renderTextItem(/** @type {HTMLElement} */ (slot), file);
    save.hidden = view.saveHidden;
    setText(save, t('receive.save'));
    save.setAttribute('aria-label', t('receive.saveAgain', { path: file.info.path }));
    setText(name, file.info.path);
    status.dataset.name = file.info.path;
    status.dataset.size = String(file.info.size);
    status.dataset.received = String(file.from); // verified and kept
    status.dataset.arrived = String(view.arrived); // verified or not
    status.dataset.status = file.status;
    setText(status, view.text);
    progress.value = view.fraction;
    progress.setAttribute('aria-label', t('receive.fileProgress', { path: file.info.path, status: view.text }));
    progress.hidden = view.progressHidden;
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
    const parts = [
      t('common.percent', { percent: Math.floor(fraction * 100) }),
      t('receive.gotOf', { got: formatBytes(got), total: formatBytes(total) }),
    ];
    const stalledS = Math.floor((now - lastReceived.at) / 1000);
    if (receiver.phase === 'transferring' && stalledS >= STALL_NOTICE_S && got < total) {
      parts.push(t('receive.stalled', { time: formatDuration(stalledS) }));
    } else if (receiver.phase === 'transferring' && rate > 0) {
      parts.push(formatSpeed(rate), eta ? t('common.timeLeft', { time: eta }) : '');
    }
    setText($('overall-text'), parts.filter(Boolean).join(t('common.separator')));
  }
  const zip = $('save-zip');
  const verified = savedFiles(files).filter((f) => f.status === 'verified' && !f.savedToFolder);
  zip.hidden = receiver.phase !== 'done' || verified.length < 2 || (receiver.mode === 'memory' && !verified.every((f) => f.blob));
  const me = receiver.signaling.welcome?.peer;
  setText($('whoami'), me ? t('receive.whoami', { tag: peerTag(me) }) : '');

  const accept = /** @type {HTMLButtonElement} */ ($('accept'));
  const canAccept = Boolean(receiver.manifest) && !receiver.isFinal;
  accept.hidden = (receiver.accepted && receiver.wantsSent > 0) || receiver.isFinal;
  accept.disabled = !canAccept;
  setText(accept, t(receiver.accepted ? 'receive.resume' : 'receive.accept'));
  $('pick-folder').hidden = !receiver.caps.pickFolder || receiver.wantsSent > 0 || receiver.isFinal || !receiver.manifest;
  $('cancel-receive').hidden = !(receiver.phase === 'transferring' || (receiver.accepted && !receiver.isFinal));
  let destination = '';
  if (receiver.folder) destination = t('receive.destinationFolder', { folder: receiver.folderName });
  else if (receiver.mode === 'memory') destination = t('receive.destinationMemory', { size: formatNumber(MEMORY_CAP_BYTES / 1e9, { style: 'unit', unit: 'gigabyte', unitDisplay: 'short' }) });
  else if (receiver.manifest && !receiver.isFinal) destination = t('receive.destinationDownloads');
  setText($('destination'), destination);
}
