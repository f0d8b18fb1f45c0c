// Languages: the message catalogues (web/i18n/<code>.json, English the source), t() with
// placeholders and Intl.PluralRules plurals, Intl formatting of numbers, sizes, speeds, times
// and lists for the chosen locale, which language to use (navigator.languages, a saved
// choice), and the static markup's data-i18n / data-i18n-attr.
//
// The pure part (t, msg, translate, chooseLanguage, the formatters) needs no DOM: Node's tests
// install catalogues with useCatalogues(). setLanguage() and translateStatic() are the page's.
// Catalogue text is data: it only ever reaches the page as textContent or an attribute's value.
//
// Why this module is over 320 lines: it is the one i18n API (the languages, texts, formats and
// the page's switch); the formatters and the page's part are short and share its state.
//
// A message (`msg(key, params)`) is a text not yet translated: what controllers keep (status
// lines, notices, failures), so the page says it in whatever language is current when it
// renders, also after a switch. Its params may be messages themselves.

/** The languages shipped: code -> the language's own name (each catalogue's `lang.name`). */
export const LANGUAGES = Object.freeze({
  en: 'English',
  ja: '日本語',
  'zh-CN': '简体中文',
  de: 'Deutsch',
  fr: 'Français',
  es: 'Español',
  ar: 'العربية',
});
export const SOURCE_LANGUAGE = 'en';
const RIGHT_TO_LEFT = new Set(['ar']);
/** localStorage key of the person's own choice (the selector). */
export const STORAGE_KEY = 'p2pshare.language';
/** Fires 'languagechange' (detail: the code) after setLanguage: renderers render again. */
export const i18nEvents = new EventTarget();

/** @typedef {{key: string, params?: Record<string, unknown>}} Message */
/** @typedef {Record<string, string | Record<string, string>>} Catalogue */

const state = {
  code: SOURCE_LANGUAGE,
  /** @type {Catalogue} */ chosen: {},
  /** @type {Catalogue} */ english: {},
  plural: new Intl.PluralRules(SOURCE_LANGUAGE),
  /** @type {Map<string, any>} */ formats: new Map(),
  /** Throw on a key English lacks (Node's tests); the page logs it (console.error). */
  strict: typeof document === 'undefined',
};

/** A key that no catalogue has, not even English: a bug of the page, not of a translation. */
export class MissingKey extends Error {}

/** @param {string} code @returns {'rtl'|'ltr'} */
export const direction = (code) => (RIGHT_TO_LEFT.has(code) ? 'rtl' : 'ltr');

/** The current language's code (a key of LANGUAGES): also its BCP 47 locale for Intl. */
export const currentLocale = () => state.code;

/**
 * The language one BCP 47 tag asks for, among those shipped, or null: `de-AT` -> de, any
 * `zh-*` -> zh-CN (the one Chinese shipped), `pt-BR` -> null.
 * @param {unknown} tag
 */
export function matchLanguage(tag) {
  if (typeof tag !== 'string' || !tag) return null;
  const lower = tag.toLowerCase();
  const exact = Object.keys(LANGUAGES).find((code) => code.toLowerCase() === lower);
  if (exact) return exact;
  const primary = lower.split(/[-_]/)[0];
  if (primary === 'zh') return 'zh-CN';
  return Object.hasOwn(LANGUAGES, primary) ? primary : null;
}

/**
 * Which language to show: the saved choice, else the first of navigator.languages shipped,
 * else English. Pure.
 * @param {readonly unknown[] | null | undefined} navigatorLanguages @param {unknown} saved
 */
export function chooseLanguage(navigatorLanguages, saved = null) {
  if (typeof saved === 'string' && Object.hasOwn(LANGUAGES, saved)) return saved;
  for (const tag of navigatorLanguages ?? []) {
    const code = matchLanguage(tag);
    if (code) return code;
  }
  return SOURCE_LANGUAGE;
}

/**
 * Use these catalogues now (no event): `english` always, `chosen` for `code` (English's own
 * for en). What setLanguage does after loading them, and what Node's tests call directly.
 * @param {string} code @param {{english: Catalogue, chosen?: Catalogue}} catalogues
 */
export function useCatalogues(code, { english, chosen = english }) {
  if (!Object.hasOwn(LANGUAGES, code)) throw new RangeError(`not a shipped language: ${code}`);
  state.code = code;
  state.english = english;
  state.chosen = chosen;
  state.plural = new Intl.PluralRules(code);
  state.formats.clear();
}

/** @param {{strict: boolean}} options */
export function configure({ strict }) {
  state.strict = strict;
}

function missing(key) {
  if (state.strict) throw new MissingKey(`no catalogue has the key ${key}`);
  console.error('i18n: no catalogue has the key', key);
  return key;
}

/**
 * A value for a placeholder: numbers in the locale's digits, messages translated, and any
 * other text (a file name, a device's name, an error's detail) isolated in a right-to-left
 * language (FSI ... PDI), so "report (final).pdf" keeps its own order in an Arabic sentence.
 */
function placeholder(value) {
  if (typeof value === 'number') return formatNumber(value);
  if (value && typeof value === 'object' && typeof (/** @type {any} */ (value).key) === 'string') {
    return translate(/** @type {Message} */ (value));
  }
  return direction(state.code) === 'rtl' ? `\u2068${value}\u2069` : String(value);
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!Object.hasOwn(params, name)) {
      if (state.strict) throw new MissingKey(`the text of a key needs {${name}}`);
      return whole;
    }
    return placeholder(params[name]);
  });
}

/**
 * The text of `key` in the current language (English when it lacks the key), its
 * placeholders filled from `params`; a plural key takes `params.count`.
 * @param {string} key @param {Record<string, unknown>} [params]
 * @throws {MissingKey} when English lacks the key too (in Node; the page logs it)
 */
export function t(key, params = {}) {
  let entry = state.chosen[key];
  let rules = state.plural;
  if (entry === undefined) {
    entry = state.english[key];
    rules = new Intl.PluralRules(SOURCE_LANGUAGE);
  }
  if (entry === undefined) return missing(key);
  if (typeof entry === 'object') {
    const count = Number(params.count);
    entry = entry[rules.select(count)] ?? entry.other;
  }
  return fill(entry, params);
}

/** A text to translate when it is shown: @returns {Message} */
export function msg(key, params = {}) {
  return Object.freeze({ key, params });
}

/** A message's text now; a plain string (an error's own message) stays as it is. */
export function translate(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return t(value.key, value.params ?? {});
}

/** A message for an error: its own (LocalizedError), or its message as a detail. */
export function errorMessage(error) {
  if (error instanceof LocalizedError) return error.msg;
  return String(error?.message ?? error);
}

/** An error whose words for people are a message (its `message` stays English, for logs). */
export class LocalizedError extends Error {
  /** @param {Message} message @param {string} english */
  constructor(message, english) {
    super(english);
    this.msg = message;
  }
}

// --- formatting -------------------------------------------------------------------------

function cached(kind, options, make) {
  const id = `${kind}:${JSON.stringify(options)}`;
  let format = state.formats.get(id);
  if (!format) {
    format = make(state.code, options);
    state.formats.set(id, format);
  }
  return format;
}

const numberFormat = (options) => cached('n', options, (code, o) => new Intl.NumberFormat(code, o));

/** @param {number} n @param {Intl.NumberFormatOptions} [options] */
export function formatNumber(n, options = {}) {
  return numberFormat(options).format(n);
}

const SI_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];

/** A size in SI units (what file managers show, 1 kB = 1000 B) and per `suffix`. */
function siSize(n, perSecond) {
  if (!Number.isFinite(n) || n < 0) return '?';
  let unit = 0;
  let value = n;
  while (value >= 1000 && unit < SI_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return t(perSecond ? 'common.bytesPerSecond' : 'common.bytes', { count: Math.round(value) });
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return formatNumber(value, {
    style: 'unit',
    unit: perSecond ? `${SI_UNITS[unit]}-per-second` : SI_UNITS[unit],
    unitDisplay: 'short',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** "1.50 kB", "1,50 kB", "67.1 MB": a size in the locale's digits and unit symbols. */
export const formatBytes = (n) => siSize(n, false);

/** @param {number} bytesPerSecond */
export const formatSpeed = (bytesPerSecond) => siSize(bytesPerSecond, true);

/** "2 hr 5 min", "3 min 20 sec", "45 sec" (in the locale's words); '' when unknown. */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  const part = (value, unit) => formatNumber(value, { style: 'unit', unit, unitDisplay: 'short' });
  const m = Math.floor(s / 60);
  const parts = s < 60 ? [part(s, 'second')] : m < 60 ? [part(m, 'minute'), part(s % 60, 'second')] : [part(Math.floor(m / 60), 'hour'), part(m % 60, 'minute')];
  return cached('l', { type: 'unit', style: 'narrow' }, (code, o) => new Intl.ListFormat(code, o)).format(parts);
}

/** "a, b and c" in the locale's words. @param {string[]} items */
export function formatList(items, type = 'conjunction') {
  return cached('l', { type, style: 'long' }, (code, o) => new Intl.ListFormat(code, o)).format(items);
}

/** ... as parts ({type: 'element'|'literal', value}), so each item can be isolated on its own. */
export function formatListParts(items, type = 'unit') {
  return cached('l', { type, style: 'long' }, (code, o) => new Intl.ListFormat(code, o)).formatToParts(items);
}

// --- the page ---------------------------------------------------------------------------

/** @param {string} code @returns {Promise<Catalogue>} */
async function fetchCatalogue(code) {
  const response = await fetch(`/i18n/${code}.json`);
  if (!response.ok) throw new Error(`/i18n/${code}.json: ${response.status}`);
  return response.json();
}

/** @type {Map<string, Promise<Catalogue>>} */
const loaded = new Map();
function load(code, loader) {
  if (!loaded.has(code)) {
    const pending = loader(code);
    loaded.set(code, pending);
    pending.catch(() => loaded.delete(code));
  }
  return /** @type {Promise<Catalogue>} */ (loaded.get(code));
}

/**
 * Show the page in `code`: load its catalogue (and English's, the fallback), remember the
 * choice when `remember`, set `<html lang dir>`, translate the static markup and tell the
 * renderers (`languagechange` on i18nEvents). A catalogue that cannot be loaded leaves the
 * page in English.
 * @param {string} code a key of LANGUAGES
 * @param {{remember?: boolean, loader?: (code: string) => Promise<Catalogue>}} [options]
 */
export async function setLanguage(code, { remember = true, loader = fetchCatalogue } = {}) {
  if (!Object.hasOwn(LANGUAGES, code)) code = SOURCE_LANGUAGE;
  const english = await load(SOURCE_LANGUAGE, loader);
  let chosen = english;
  if (code !== SOURCE_LANGUAGE) {
    try {
      chosen = await load(code, loader);
    } catch (error) {
      console.error('i18n: could not load', code, error);
      code = SOURCE_LANGUAGE;
    }
  }
  useCatalogues(code, { english, chosen });
  if (remember) {
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, code);
    } catch {
      // storage refused (a private window's quota): the choice lasts for this page
    }
  }
  if (typeof document !== 'undefined') {
    document.documentElement.lang = code;
    document.documentElement.dir = direction(code);
    translateStatic(document);
  }
  i18nEvents.dispatchEvent(new CustomEvent('languagechange', { detail: code }));
  return code;
}

/** The saved choice (the selector's), if any. */
export function savedLanguage() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

/** At boot: the language to use (saved, else navigator.languages), loaded before the first render. */
export function startLanguage(options = {}) {
  return setLanguage(chooseLanguage(globalThis.navigator?.languages ?? [], savedLanguage()), { remember: false, ...options });
}

function paramsOf(node) {
  const raw = node.dataset.i18nParams;
  return raw ? JSON.parse(raw) : {};
}

/**
 * Translate the markup under `root`: `data-i18n="key"` (its textContent, params from
 * `data-i18n-params`, JSON) and `data-i18n-attr="aria-label:key;title:key2"`.
 * @param {ParentNode} root
 */
export function translateStatic(root) {
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('[data-i18n]'))) {
    const text = t(/** @type {string} */ (node.dataset.i18n), paramsOf(node));
    if (node.textContent !== text) node.textContent = text;
  }
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll('[data-i18n-attr]'))) {
    for (const pair of /** @type {string} */ (node.dataset.i18nAttr).split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key, paramsOf(node)));
    }
  }
}

/**
 * Give `node` a text from the catalogue that follows the language (textContent; the key and
 * params are kept on it for translateStatic). `key` '' empties it.
 * @param {HTMLElement} node @param {string} key @param {Record<string, unknown>} [params]
 */
export function localize(node, key, params = {}) {
  if (!key) {
    delete node.dataset.i18n;
    delete node.dataset.i18nParams;
    if (node.textContent) node.textContent = '';
    return;
  }
  node.dataset.i18n = key;
  if (Object.keys(params).length) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  const text = t(key, params);
  if (node.textContent !== text) node.textContent = text;
}

/** Call `render` again after every language switch. */
export function onLanguageChange(render) {
  i18nEvents.addEventListener('languagechange', () => render());
}
