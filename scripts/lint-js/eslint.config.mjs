// ESLint for the browser client (scripts/test.sh): names that are not defined or imported
// (a page that throws at the first click), variables never used, and other plain mistakes.
// Formatting is not its business. And p2pshare/no-hardcoded-text (no-hardcoded-text.mjs): words
// for people come from the catalogues (web/i18n), never from a string literal in web/js.
// Run: npx --prefix scripts/lint-js eslint -c scripts/lint-js/eslint.config.mjs web/js
import globals from 'globals';

import i18n from './no-hardcoded-text.mjs';

export default [
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.worker },
    },
    plugins: { p2pshare: i18n },
    rules: {
      'p2pshare/no-hardcoded-text': 'error',
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      'no-dupe-keys': 'error',
      'no-redeclare': 'error',
      'no-unreachable': 'error',
      'no-self-assign': 'error',
      'no-const-assign': 'error',
    },
  },
];
