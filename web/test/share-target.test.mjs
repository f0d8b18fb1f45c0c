// The share target's pure part (js/share-target.js): the id in the URL and the folded text.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sharedText, shareTargetRequest } from '../js/share-target.js';

test('the share-target query: an id to take, the server or worker saying why not, or nothing', () => {
  assert.deepEqual(shareTargetRequest(''), { kind: 'none' });
  assert.deepEqual(shareTargetRequest('?x=1'), { kind: 'none' });
  const id = 'AbCdEfGhIjKlMnOpQrSt_-';
  assert.deepEqual(shareTargetRequest(`?share-target=${id}`), { kind: 'take', id });
  assert.deepEqual(shareTargetRequest('?share-target=unavailable'), { kind: 'unavailable' });
  assert.deepEqual(shareTargetRequest('?share-target=unreadable'), { kind: 'unreadable' });
  assert.deepEqual(shareTargetRequest('?share-target=../../etc'), { kind: 'unavailable' });
  assert.deepEqual(shareTargetRequest(`?share-target=${id}x`), { kind: 'unavailable' });
});

test('title, text and url fold into one text, each once, in that order', () => {
  assert.equal(sharedText({}), '');
  assert.equal(sharedText({ title: ' ', text: '\n', url: '' }), '');
  assert.equal(sharedText({ text: 'hello' }), 'hello');
  assert.equal(sharedText({ title: 'A page', url: 'https://example.org/a' }), 'A page\nhttps://example.org/a');
  assert.equal(sharedText({ title: 'T', text: 'Body', url: 'https://u.test/' }), 'T\nBody\nhttps://u.test/');
  // The URL already in the text, the title repeated by it: left out.
  assert.equal(sharedText({ text: 'see https://u.test/', url: 'https://u.test/' }), 'see https://u.test/');
  assert.equal(sharedText({ title: 'News', text: 'News: it works' }), 'News: it works');
  assert.equal(sharedText({ title: 'Same', text: 'Same' }), 'Same');
});
