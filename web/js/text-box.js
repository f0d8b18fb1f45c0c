// The sender's text box (`text-input`, `send-text`): one box, on the home page ("Send text":
// starts a share) and then in the share view ("Add text"), where share-page.js moves it.
// It says the limit, counts the bytes when a text comes near it, and refuses, saying why, a
// text that cannot be sent; `send(text)` does the rest and returns a problem or null.

import { localize, msg } from './i18n.js';
import { $ } from './ui-dom.js';
import { MAX_TEXT_BYTES, textBytes, textProblem } from './text-items.js';

/** The byte count shows from this share of the limit on. */
const COUNT_FROM = 0.8;
const HINT = msg('text.hint');

/**
 * Hook up the box once. `send(text)` shares the text (share-page.js's shareText) and
 * returns null, or a problem ({message}) to show.
 * @param {(text: string) => {message: import('./i18n.js').Message}|null} send
 */
export function wireTextBox(send) {
  const input = /** @type {HTMLTextAreaElement} */ ($('text-input'));
  const button = /** @type {HTMLButtonElement} */ ($('send-text'));
  const update = () => {
    const text = input.value;
    button.disabled = !text.trim();
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count only when it may be near.
    const bytes = text.length * 3 >= COUNT_FROM * MAX_TEXT_BYTES ? textBytes(text) : 0;
    if (bytes > MAX_TEXT_BYTES) hint(textProblem(text)?.message ?? HINT, 'error');
    else if (bytes >= COUNT_FROM * MAX_TEXT_BYTES) {
      hint(msg('text.count', { bytes, limit: MAX_TEXT_BYTES }), 'info');
    } else hint(HINT, 'info');
  };
  input.addEventListener('input', update);
  button.addEventListener('click', () => {
    const problem = send(input.value);
    if (problem) {
      hint(problem.message, 'error');
      return;
    }
    input.value = '';
    update();
  });
  update();
}

/**
 * The line under the box: the limit, the byte count, or why a text was refused (its message
 * kept on it, so it follows a language switch).
 * @param {import('./i18n.js').Message} message @param {'info'|'error'} level
 */
function hint(message, level) {
  const line = $('text-hint');
  localize(line, message.key, message.params);
  line.dataset.level = level;
  line.setAttribute('role', level === 'error' ? 'alert' : 'status');
}

/** Put the box in the share view, as "Add text" to the current share. */
export function moveTextBoxToShare() {
  const box = $('text-box');
  $('share-text-slot').append(box);
  localize($('text-label'), 'text.labelShare');
  localize($('send-text'), 'text.add');
}
