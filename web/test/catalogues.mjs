// The catalogues (web/i18n/*.json) for Node's tests: read from disk and installed with
// i18n.js's useCatalogues, the loader the page's fetch stands in for. Not a test itself.
import { readFileSync } from 'node:fs';

import { LANGUAGES, useCatalogues } from '../js/i18n.js';

/** @param {string} code @returns {Record<string, any>} */
export function catalogue(code) {
  return JSON.parse(readFileSync(new URL(`../i18n/${code}.json`, import.meta.url), 'utf8'));
}

/** Show texts in `code` (English the fallback), as setLanguage would in a page. */
export function useLanguage(code = 'en') {
  const english = catalogue('en');
  useCatalogues(code, { english, chosen: code === 'en' ? english : catalogue(code) });
}

export const CODES = Object.keys(LANGUAGES);
