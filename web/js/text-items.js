// Text items: a typed or pasted text shared as one more item of a share (docs/protocol.md:
// a manifest entry with `text: true`). Pure (no DOM): the sender makes a File of the text
// that the transfer engine sends like any file, marked so that its manifest entry says
// `text: true`; the receiver decodes the verified bytes (strict UTF-8) and shows them.
//
// Text from a peer is shown inertly (text-view.js: textContent, never HTML); bidiControls()
// counts the invisible direction characters that can make a text read differently from
// what is copied, so the page can say so.

import { msg, t } from './i18n.js';
import { MAX_TEXT_BYTES, MAX_TEXT_ITEMS } from './wire.js';

export { MAX_TEXT_BYTES, MAX_TEXT_ITEMS };

/** The MIME type of a text item. */
export const TEXT_TYPE = 'text/plain;charset=utf-8';
/** Where a text item's File keeps its text (the sender's record keeps it for a reload). */
const TEXT_OF = Symbol('p2pshare.text');
/** Bidi controls: embeddings and overrides, isolates, the marks (LRM, RLM, ALM). */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const PREVIEW_CHARS = 80;

/** Bytes of `text` in UTF-8. */
export function textBytes(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * Why `text` cannot be sent as a text item (null: it can). `count` is how many text items
 * the share holds already.
 * @returns {null | {kind: 'empty'|'too-big'|'too-many', message: import('./i18n.js').Message, bytes: number}}
 */
export function textProblem(text, count = 0) {
  const bytes = textBytes(text);
  if (!text.trim()) return { kind: 'empty', bytes, message: msg('text.empty') };
  if (bytes > MAX_TEXT_BYTES) return { kind: 'too-big', bytes, message: msg('text.tooBig', { bytes, limit: MAX_TEXT_BYTES }) };
  if (count >= MAX_TEXT_ITEMS) return { kind: 'too-many', bytes, message: msg('text.tooMany', { count: MAX_TEXT_ITEMS }) };
  return null;
}

/** "Text 1.txt", or the first "Text n.txt" none of `taken` (paths already offered) is. */
export function textName(taken = []) {
  const used = new Set(taken.map((p) => p.toLowerCase()));
  let n = 1;
  while (used.has(`text ${n}.txt`)) n++;
  return `Text ${n}.txt`;
}

/**
 * A File holding `text` (UTF-8), marked as a text item: fileInfo() gives it `text: true`.
 * `name` and `mtime` rebuild the same item after a reload of the sender's page.
 * @param {string} text
 * @param {{name?: string, mtime?: number}} [options]
 */
export function textFile(text, { name = textName(), mtime = Date.now() } = {}) {
  const file = new File([text], name, { type: TEXT_TYPE, lastModified: mtime });
  Object.defineProperty(file, TEXT_OF, { value: text });
  return file;
}

/** Is this File a text item (made by textFile)? */
export function isTextFile(file) {
  return typeof file?.[TEXT_OF] === 'string';
}

/** The text of a File made by textFile (undefined for any other). */
export function textOf(file) {
  return file?.[TEXT_OF];
}

/** Is this manifest entry (FileInfo) a text item? */
export function isTextItem(info) {
  return info?.text === true;
}

/** The first line with something on it, cut to a preview's length. */
export function textPreview(text, max = PREVIEW_CHARS) {
  const line = text.split(/\r\n|\r|\n/).find((l) => l.trim()) ?? '';
  const trimmed = line.trim();
  return trimmed.length > max ? `${trimmed.slice(0, max - 1)}…` : trimmed;
}

/** How many bidi control characters `text` holds. */
export function bidiControls(text) {
  return text.match(BIDI_CONTROLS)?.length ?? 0;
}

/**
 * The text of a received item's bytes: strict UTF-8 (a byte order mark is kept, so the
 * text is exactly what was sent), or why not.
 * @param {ArrayBuffer|Uint8Array} bytes
 * @returns {{text: string, bidi: number} | {error: import('./i18n.js').Message}}
 */
export function decodeText(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { error: msg('text.invalidUtf8') };
  }
  return { text, bidi: bidiControls(text) };
}

/**
 * "3 files and 1 text", for a list of FileInfos, in the current language.
 * @param {import('./wire.js').FileInfo[]} infos
 */
export function itemsPhrase(infos) {
  const texts = infos.filter(isTextItem).length;
  return countsPhrase(infos.length - texts, texts);
}

/** "2 files", "1 text", "3 files and 1 text" (`nothing`: what none is called). */
export function countsPhrase(files, texts, nothing = 'common.files') {
  if (!files && !texts) return t(nothing, { count: 0 });
  if (!texts) return t('common.files', { count: files });
  if (!files) return t('common.texts', { count: texts });
  return t('common.filesAndTexts', { files: t('common.files', { count: files }), texts: t('common.texts', { count: texts }) });
}
