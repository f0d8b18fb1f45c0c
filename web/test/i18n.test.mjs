// i18n.js: which language, t() with placeholders and plurals, the English fallback, and the
// Intl formatting of sizes, speeds, times and lists; the catalogues themselves are checked by
// tests/web/test_i18n_catalogues.py.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  LANGUAGES,
  MissingKey,
  chooseLanguage,
  direction,
  formatBytes,
  formatDuration,
  formatList,
  formatNumber,
  formatSpeed,
  matchLanguage,
  msg,
  setLanguage,
  t,
  translate,
  useCatalogues,
} from '../js/i18n.js';
import { CODES, catalogue, useLanguage } from './catalogues.mjs';

test('chooseLanguage: the saved choice, else the first of navigator.languages shipped, else English', () => {
  assert.equal(chooseLanguage(['ja-JP', 'en-US']), 'ja');
  assert.equal(chooseLanguage(['pt-BR', 'de-AT', 'fr']), 'de');
  assert.equal(chooseLanguage(['zh-TW']), 'zh-CN');
  assert.equal(chooseLanguage(['zh-Hans-CN']), 'zh-CN');
  assert.equal(chooseLanguage(['es-419']), 'es');
  assert.equal(chooseLanguage(['ar-EG']), 'ar');
  assert.equal(chooseLanguage(['pt-BR', 'ko']), 'en');
  assert.equal(chooseLanguage([]), 'en');
  assert.equal(chooseLanguage(undefined), 'en');
  assert.equal(chooseLanguage(['ja'], 'fr'), 'fr');
  assert.equal(chooseLanguage(['ja'], 'xx'), 'ja', 'a saved value we do not ship is ignored');
  assert.equal(chooseLanguage(['ja'], '__proto__'), 'ja');
  assert.equal(matchLanguage('ZH-cn'), 'zh-CN');
  assert.equal(matchLanguage(''), null);
  assert.equal(matchLanguage(42), null);
});

test('every shipped language has a catalogue named in its own language; ar is right to left', () => {
  for (const code of CODES) assert.equal(catalogue(code)['lang.name'], LANGUAGES[code], code);
  assert.equal(direction('ar'), 'rtl');
  assert.equal(direction('ja'), 'ltr');
});

test('t: placeholders, plural forms by Intl.PluralRules, messages inside messages', () => {
  useLanguage('en');
  assert.equal(t('share.status.sending', { count: 1 }), 'Sending to 1 person…');
  assert.equal(t('share.status.sending', { count: 2 }), 'Sending to 2 people…');
  assert.equal(t('common.bytes', { count: 1048577 }), '1,048,577 bytes');
  assert.equal(t('notice.fileFailed', { path: 'a.txt', reason: msg('receive.fileError.hashMismatch') }), 'a.txt could not be received: its SHA-256 did not match the sender’s. It was not kept as complete.');
  assert.equal(translate('as it is'), 'as it is');
  useLanguage('ar');
  for (const [count, form] of [[0, 'zero'], [1, 'one'], [2, 'two'], [3, 'few'], [11, 'many'], [100, 'other']]) {
    assert.equal(t('common.files', { count }), catalogue('ar')['common.files'][form].replace('{count}', formatNumber(count)), `${count}`);
  }
  useLanguage('fr');
  assert.equal(t('common.files', { count: 0 }), t('common.files', { count: 1 }).replace(formatNumber(1), formatNumber(0)), 'fr: one covers 0');
  useLanguage('ja');
  assert.match(t('share.status.sending', { count: 3 }), /3/);
});

test('a key the chosen language lacks falls back to English; one English lacks throws', () => {
  const english = catalogue('en');
  useCatalogues('de', { english, chosen: { 'lang.name': 'Deutsch' } });
  assert.equal(t('home.title'), 'Send files');
  assert.throws(() => t('no.such.key'), MissingKey);
  assert.throws(() => t('share.receiver', { n: 1 }), MissingKey, 'a missing placeholder');
});

test('sizes, speeds, times and lists follow the locale', () => {
  useLanguage('en');
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(1), '1 byte');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(64 * 2 ** 20), '67.1 MB');
  assert.equal(formatBytes(-1), '?');
  assert.match(formatSpeed(2.5e6), /^2\.50 MB\/s$/);
  assert.match(formatDuration(59), /^59 sec/);
  assert.match(formatDuration(125), /^2 min,? 5 sec/);
  assert.match(formatDuration(7300), /^2 hr,? 1 min/);
  assert.equal(formatDuration(NaN), '');
  assert.equal(formatList(['a', 'b', 'c']), 'a, b, and c');
  useLanguage('de');
  assert.equal(formatBytes(1.5e6), '1,50 MB');
  assert.equal(formatNumber(1048576), '1.048.576');
  assert.equal(formatList(['a', 'b', 'c']), 'a, b und c');
  useLanguage('fr');
  assert.match(formatBytes(1.5e6), /^1,50\s?Mo$/);
  useLanguage('ja');
  assert.match(formatDuration(200), /3\s?分\s?20\s?秒/);
});

test('setLanguage loads through an injected loader, falls back to English when it fails', async () => {
  const loads = [];
  const loader = async (code) => {
    loads.push(code);
    if (code === 'es') throw new Error('offline');
    return catalogue(code);
  };
  assert.equal(await setLanguage('de', { remember: false, loader }), 'de');
  assert.equal(t('home.title'), catalogue('de')['home.title']);
  assert.equal(await setLanguage('es', { remember: false, loader }), 'en');
  assert.equal(t('home.title'), 'Send files');
  assert.equal(await setLanguage('nope', { remember: false, loader }), 'en');
  assert.deepEqual(loads.filter((c) => c === 'en').length, 1, 'English is loaded once');
});
