// The receiving page's DOM: the file list (one row per file: status, progress, Save), the
// overall progress with speed and time left, and the controls that apply. Peer-given text
// (file names, text items: text-view.js) only ever goes in via textContent.

import { readText, savedFiles } from './delivery.js';
import { isTextItem, itemsPhrase } from './text-items.js';
import { renderTextItem } from './text-view.js';
import { $, reconcile, setText } from './ui-dom.js';
import { formatBytes, formatDuration, formatSpeed } from './util.js';
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
    setText(
      $('receive-summary'),
      `${itemsPhrase(files.map((f) => f.info))}, ${formatBytes(total)} in all.${receiver.manifest.missing ? ' (The sender is re-adding some of them.)' : ''}`,
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
    save.setAttribute('aria-label', `Save ${file.info.path} again`);
    setText(name, file.info.path);
    status.dataset.name = file.info.path;
    status.dataset.size = String(file.info.size);
    status.dataset.received = String(file.from); // verified and kept
    status.dataset.arrived = String(view.arrived); // verified or not
    status.dataset.status = file.status;
    setText(status, view.text);
    progress.value = view.fraction;
    progress.setAttribute('aria-label', `${file.info.path}: ${view.text}`);
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
  const verified = savedFiles(files).filter((f) => f.status === 'verified' && !f.savedToFolder);
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
