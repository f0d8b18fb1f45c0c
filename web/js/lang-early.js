// A classic script, run before the body is parsed: when the page will not be in English (the
// markup's own language), hide it until main.js has its catalogue (it removes the class), so
// the first paint is already in the person's language. Only a guess of "not English" (which
// language it is, i18n.js's chooseLanguage decides); a wrong guess costs one catalogue fetch.
(() => {
  const root = document.documentElement;
  let saved = null;
  try {
    saved = localStorage.getItem('p2pshare.language');
  } catch {
    // storage refused: go by the browser's languages
  }
  const wanted = saved || (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  if (!/^en\b/i.test(wanted)) {
    root.classList.add('i18n-loading');
    setTimeout(() => root.classList.remove('i18n-loading'), 3000); // never hidden for good
  }
})();
