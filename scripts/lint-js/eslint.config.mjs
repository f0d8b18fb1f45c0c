// ESLint for the browser client (scripts/test.sh): names that are not defined or imported
// (a page that throws at the first click), variables never used, and other plain mistakes.
// Formatting is not its business. Run: npx --prefix scripts/lint-js eslint -c scripts/lint-js/eslint.config.mjs web/js
import globals from 'globals';

export default [
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: {
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
