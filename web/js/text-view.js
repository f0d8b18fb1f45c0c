// A received text item on the page: its text shown inertly in its row (`text-item`), a Copy
// button, and a warning when it holds bidi controls. The text came from a peer: it only ever
// goes in as textContent (never HTML, so no markup runs and no link is made clickable), with
// `dir="auto"` and CSS `unicode-bidi: plaintext` so it cannot reorder the page around it.

import { localize, t, translate } from './i18n.js';
import { isTextItem } from './text-items.js';

const COPIED_FOR_MS = 3000;

/**
 * Fill a receiving row's text slot: nothing until the item is verified and read back
 * (`file.shown`, delivery.js's readText), then the text (or why it is not shown), once.
 * @param {HTMLElement} slot
 * @param {{info: import('./wire.js').FileInfo, status: string, shown?: {text: string, bidi: number}|{error: string}}} file
 */
export function renderTextItem(slot, file) {
  const shown = isTextItem(file.info) && file.status === 'verified' ? file.shown : undefined;
  if (!shown) {
    if (slot.childElementCount) slot.replaceChildren();
    delete slot.dataset.shown;
    return;
  }
  if (slot.dataset.shown === document.documentElement.lang) return; // a verified text does not change: keep the selection
  slot.dataset.shown = document.documentElement.lang;
  if ('error' in shown) {
    const error = document.createElement('p');
    error.className = 'notice error';
    error.dataset.testid = 'text-error';
    error.textContent = translate(shown.error);
    slot.replaceChildren(error);
    return;
  }
  const text = document.createElement('div');
  text.className = 'text-item';
  text.dataset.testid = 'text-item';
  text.dir = 'auto';
  text.tabIndex = 0; // it scrolls: reachable by keyboard
  text.setAttribute('role', 'region');
  text.setAttribute('aria-label', t('text.itemLabel', { path: file.info.path }));
  text.textContent = shown.text;
  const parts = [text];
  if (shown.bidi) parts.push(bidiWarning(shown.bidi));
  parts.push(copyTools(shown.text, file.info.path));
  slot.replaceChildren(...parts);
}

function bidiWarning(count) {
  const warning = document.createElement('p');
  warning.className = 'notice warning text-warning';
  warning.dataset.testid = 'text-warning';
  warning.textContent = t('text.bidiWarning', { count });
  return warning;
}

function copyTools(value, path) {
  const row = document.createElement('div');
  row.className = 'text-tools';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'small';
  button.dataset.testid = 'copy-text';
  button.textContent = t('text.copy');
  button.setAttribute('aria-label', t('text.copyLabel', { path }));
  const status = document.createElement('span');
  status.className = 'hint';
  status.setAttribute('aria-live', 'polite');
  button.addEventListener('click', async () => {
    localize(status, (await copyText(value)) ? 'text.copied' : 'text.copyFailed');
    setTimeout(() => localize(status, ''), COPIED_FOR_MS);
  });
  row.append(button, status);
  return row;
}

/** Put `value` on the clipboard; without the Clipboard API, through a selected textarea. */
async function copyText(value) {
  try {
    await navigator.clipboard.writeText(value);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = value;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}
