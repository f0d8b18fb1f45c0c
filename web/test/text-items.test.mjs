// Text items (web/js/text-items.js) and their manifest entries (web/js/wire.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fileInfo } from '../js/shared-files.js';
import {
  MAX_TEXT_BYTES,
  MAX_TEXT_ITEMS,
  TEXT_TYPE,
  bidiControls,
  decodeText,
  isTextFile,
  isTextItem,
  itemsPhrase,
  textBytes,
  textFile,
  textName,
  textOf,
  textPreview,
  textProblem,
} from '../js/text-items.js';
import { BLOCK_SIZE, WireError, checkTextItems, parseControl } from '../js/wire.js';
import { translate } from '../js/i18n.js';
import { useLanguage } from './catalogues.mjs';

useLanguage('en');

const manifest = (files) => JSON.stringify({ t: 'manifest', id: 'x', blockSize: BLOCK_SIZE, missing: 0, files });
const text = (n, size = 5, extra = {}) => ({ path: `Text ${n}.txt`, size, mtime: 1, type: TEXT_TYPE, text: true, ...extra });

test('the limits: one block of text, 16 texts a manifest', () => {
  assert.equal(MAX_TEXT_BYTES, BLOCK_SIZE);
  assert.equal(MAX_TEXT_ITEMS, 16);
});

test('a manifest takes text items within the limits', () => {
  const files = [...Array.from({ length: MAX_TEXT_ITEMS }, (_, n) => text(n + 1, MAX_TEXT_BYTES)), { path: 'a.bin', size: 9e9, mtime: 1, type: '' }];
  assert.equal(parseControl(manifest(files)).files.length, MAX_TEXT_ITEMS + 1);
});

test('a manifest with a text over the limit, too many texts or a `text` that is not true is refused', () => {
  const refused = [
    [text(1, MAX_TEXT_BYTES + 1)],
    [text(1, 2 * MAX_TEXT_BYTES)],
    Array.from({ length: MAX_TEXT_ITEMS + 1 }, (_, n) => text(n + 1)),
    [text(1, 5, { text: false })],
    [text(1, 5, { text: null })],
    [text(1, 5, { text: 'true' })],
    [text(1, 5, { text: 1 })],
  ];
  for (const files of refused) {
    assert.throws(() => parseControl(manifest(files)), (e) => e instanceof WireError && e.frameType === 'manifest', JSON.stringify(files).slice(0, 80));
  }
  assert.throws(() => checkTextItems([text(1, MAX_TEXT_BYTES + 1)]), /over 1 MiB, the limit for text/);
  assert.throws(() => checkTextItems(Array.from({ length: 17 }, (_, n) => text(n))), /more than 16 text items/);
});

test('textFile makes a marked File whose manifest entry says text: true, last', async () => {
  const file = textFile('héllo\n', { name: 'Text 2.txt', mtime: 7 });
  assert.ok(isTextFile(file));
  assert.equal(textOf(file), 'héllo\n');
  assert.equal(await file.text(), 'héllo\n');
  assert.deepEqual(Object.keys(fileInfo(file)), ['path', 'size', 'mtime', 'type', 'text']);
  assert.deepEqual(fileInfo(file), { path: 'Text 2.txt', size: 7, mtime: 7, type: TEXT_TYPE, text: true });
  assert.ok(isTextItem(fileInfo(file)));
  const plain = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 1 });
  assert.equal(isTextFile(plain), false);
  assert.equal(textOf(plain), undefined);
  assert.deepEqual(Object.keys(fileInfo(plain)), ['path', 'size', 'mtime', 'type']);
  assert.equal(isTextItem({ path: 'a', size: 1, mtime: 1, type: '' }), false);
  assert.equal(textFile('x').name, 'Text 1.txt');
});

test('text names: the first "Text n.txt" not offered yet, case ignored', () => {
  assert.equal(textName(), 'Text 1.txt');
  assert.equal(textName(['text 1.TXT', 'Text 2.txt', 'a.bin']), 'Text 3.txt');
  assert.equal(textName(['Text 2.txt']), 'Text 1.txt');
});

test('textProblem: empty, over the limit (saying it and what to do), too many', () => {
  assert.equal(textProblem('hello'), null);
  assert.equal(textProblem(' \n\t').kind, 'empty');
  assert.equal(textProblem('é'.repeat(MAX_TEXT_BYTES / 2)), null); // exactly the limit
  const big = textProblem('é'.repeat(MAX_TEXT_BYTES / 2) + 'x');
  assert.equal(big.kind, 'too-big');
  assert.equal(big.bytes, MAX_TEXT_BYTES + 1);
  assert.match(translate(big.message), /1,048,577 bytes.*1,048,576 bytes.*file/);
  assert.equal(textProblem('x', MAX_TEXT_ITEMS).kind, 'too-many');
  assert.equal(textProblem('x', MAX_TEXT_ITEMS - 1), null);
  assert.equal(textBytes('€😀'), 7);
});

test('a preview is the first line with something on it, cut short', () => {
  assert.equal(textPreview('\n\n  first line  \nsecond'), 'first line');
  assert.equal(textPreview('a\r\nb'), 'a');
  assert.equal(textPreview('x'.repeat(200)).length, 80);
  assert.ok(textPreview('x'.repeat(200)).endsWith('…'));
  assert.equal(textPreview(''), '');
});

test('bidi controls are counted: overrides, embeddings, isolates and the marks', () => {
  const all = '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c';
  assert.equal(bidiControls(all), 12);
  assert.equal(bidiControls('plain עברית عربي text'), 0);
  assert.equal(bidiControls('a\u202eb'), 1);
});

test('decodeText: strict UTF-8, exactly the text (a BOM kept), or an error and never the bytes', () => {
  const bytes = new TextEncoder().encode('\ufeffhi \u202e!');
  assert.deepEqual(decodeText(bytes), { text: '\ufeffhi \u202e!', bidi: 1 });
  const bad = decodeText(new Uint8Array([0x68, 0xff, 0x69]));
  assert.ok('error' in bad && /not valid UTF-8/.test(translate(bad.error)));
  assert.ok(!('text' in bad));
  assert.ok('error' in decodeText(new Uint8Array([0xed, 0xa0, 0x80]))); // a lone surrogate
});

test('itemsPhrase counts files and texts', () => {
  assert.equal(itemsPhrase([]), '0 files');
  assert.equal(itemsPhrase([text(1)]), '1 text');
  assert.equal(itemsPhrase([text(1), text(2), { path: 'a' }]), '1 file and 2 texts');
});
