// Entry point: the language first (its catalogue loaded before anything renders), then reads
// the URL, decides whether this page sends or receives, and hands over to the page module
// (share-page.js, receive-page.js). All protocol and transfer logic lives elsewhere.

import {
  LANGUAGES,
  errorMessage,
  localize,
  msg,
  onLanguageChange,
  setLanguage,
  startLanguage,
  t,
} from './i18n.js';
import { parseLink } from './link.js';
import { $, CREATOR_KEY, session } from './page.js';
import { OPFS_ROOT } from './receiver.js';
import { runReceiver } from './receive-page.js';
import { registerWorker, sharedItems, wireShareLink } from './pwa.js';
import {
  chooseFiles,
  fileChoosers,
  handleFiles,
  resumeSender,
  sharing,
  startSharing,
  uniquePaths,
} from './share-page.js';
import { listOpfsRooms, removeOpfsDir } from './sink.js';
import { startNearby } from './nearby-page.js';
import * as store from './store.js';
import * as ui from './ui.js';

const STALE_ROOM_MS = 7 * 24 * 3600 * 1000;
const FINISHED_ROOM_MS = 3600 * 1000;

async function loadConfig() {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

/**
 * Plain http on a network address, said plainly and for as long as the page is open: anyone
 * on the network can change this page, so nothing it promises holds against them.
 */
function insecureNote() {
  if (globalThis.isSecureContext) return;
  localize($('security-note'), 'common.insecureFooter');
  ui.notice('warning', msg('notice.insecure', { command: 'p2pshare serve --self-signed' }), { key: 'insecure' });
}

function home(config) {
  ui.showView('view-home');
  const title = () => {
    if (!$('view-home').hidden) document.title = t('home.documentTitle');
  };
  title();
  onLanguageChange(title);
  if (!globalThis.isSecureContext) {
    const warning = $('home-warning');
    warning.hidden = false;
    localize(warning, 'home.insecure');
  }
  let started = false;
  handleFiles((files) => {
    if (started) return;
    started = true;
    startSharing(uniquePaths(files), config).catch((error) => {
      started = false;
      ui.notice('error', msg('notice.startFailed', { error: errorMessage(error) }));
    });
  });
}

// --- housekeeping ---------------------------------------------------------------------

/** Drop what old or finished rooms keep in this browser (never the current room). */
async function cleanUp(currentRoom) {
  const now = Date.now();
  const records = new Map(await store.entries('rooms'));
  for (const [room, record] of records) {
    if (room === currentRoom) continue;
    const age = now - (record?.updated ?? 0);
    if (age > STALE_ROOM_MS || (record?.complete && age > FINISHED_ROOM_MS)) {
      await removeOpfsDir([OPFS_ROOT, room]);
      await store.remove('rooms', room);
    }
  }
  for (const room of await listOpfsRooms(OPFS_ROOT)) {
    if (room !== currentRoom && !records.has(room)) await removeOpfsDir([OPFS_ROOT, room]);
  }
}

/** The header's selector: the current language shown, a choice applied at once and remembered. */
function languageSelector(code) {
  const select = /** @type {HTMLSelectElement} */ ($('language'));
  for (const option of select.options) option.textContent = LANGUAGES[option.value] ?? option.value;
  select.value = code;
  select.addEventListener('change', async () => {
    select.value = await setLanguage(select.value);
  });
}

async function boot() {
  const configured = loadConfig(); // at the same time as the catalogue, not after it
  configured.catch(() => {}); // answered below
  languageSelector(await startLanguage().catch(() => 'en'));
  document.documentElement.classList.remove('i18n-loading');
  insecureNote();
  registerWorker();
  fileChoosers();
  wireShareLink(sharing);
  const link = parseLink(location.pathname, location.hash);
  let config;
  try {
    config = await configured;
  } catch (error) {
    ui.showMessage(msg('error.noServer.title'), msg('error.noServer.text', { error: error.message }));
    return;
  }
  if (link.page === 'home') {
    startNearby(config, { page: 'home' });
    home(config);
    // Opened by the installed app's share target: what was shared starts the share.
    sharedItems()
      .then((items) => items.length && chooseFiles(items))
      .catch((error) => console.error(error));
    cleanUp(null);
    return;
  }
  if (link.page === 'bad-room') {
    ui.showMessage(msg('error.broken.title'), msg('error.incompleteShort'));
    return;
  }
  const creatorText = session.getItem(CREATOR_KEY(link.room));
  if (creatorText) {
    startNearby(config, { page: 'share' });
    await resumeSender(link.room, JSON.parse(creatorText), config);
    return;
  }
  if (link.secretState !== 'ok') {
    ui.showMessage(msg('error.incomplete.title'), msg('error.incomplete.text'));
    return;
  }
  cleanUp(link.room);
  await runReceiver({ room: link.room, secret: link.secret, senderKey: link.senderKey, config });
}

boot().catch((error) => {
  console.error(error);
  document.documentElement.classList.remove('i18n-loading');
  ui.showMessage(msg('error.title'), msg('error.crashed', { error: errorMessage(error) }));
});

