// The layout rule (DEVELOPERS.md): no module of web/js grows past about 300 lines unless it
// says why at its top.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('../js/', import.meta.url);
const LIMIT_LINES = 320;

function modules(dir = ROOT) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const url = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    return entry.isDirectory() ? modules(url) : entry.name.endsWith('.js') ? [url] : [];
  });
}

test(`every web/js module is under ${LIMIT_LINES} lines, or says at its top why not`, () => {
  const found = modules();
  assert.ok(found.length > 20, 'the modules were found');
  const over = found
    .map((url) => ({ path: url.pathname.split('/web/')[1], text: readFileSync(url, 'utf8') }))
    .filter(({ text }) => text.split('\n').length > LIMIT_LINES && !/^\/\/ Why this module is over/m.test(text.slice(0, 3000)))
    .map(({ path }) => path);
  assert.deepEqual(over, []);
});
