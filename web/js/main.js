// Entry point: reads the URL, decides whether this page sends or receives, and hands over to
// the page module (share-page.js, receive-page.js). All protocol and transfer logic lives elsewhere.

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
  $('security-note').textContent = 'This page is plain http: it is not protected on this network.';
  ui.notice(
    'warning',
    'This page is plain http. Anyone on this network can read the key in the link and the files, or change this page. ' +
      'To fix it, whoever runs this server starts it with https: “p2pshare serve --self-signed”, or with a certificate.',
    { key: 'insecure' },
  );
}

function home(config) {
  ui.showView('view-home');
  if (!globalThis.isSecureContext) {
    const warning = $('home-warning');
    warning.hidden = false;
    warning.textContent =
      'Without https, receiving keeps files in memory (up to 2 GB) and cannot resume after a reload.';
  }
  let started = false;
  handleFiles((files) => {
    if (started) return;
    started = true;
    startSharing(uniquePaths(files), config).catch((error) => {
      started = false;
      ui.notice('error', `Could not start sharing: ${error.message}`);
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

async function boot() {
  insecureNote();
  registerWorker();
  fileChoosers();
  wireShareLink(sharing);
  const link = parseLink(location.pathname, location.hash);
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    ui.showMessage('Cannot reach the server', `Check your connection and reload the page (${error.message}).`);
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
    ui.showMessage('This link is broken', 'This link is incomplete — ask the sender for the whole link.');
    return;
  }
  const creatorText = session.getItem(CREATOR_KEY(link.room));
  if (creatorText) {
    startNearby(config, { page: 'share' });
    await resumeSender(link.room, JSON.parse(creatorText), config);
    return;
  }
  if (link.secretState !== 'ok') {
    ui.showMessage(
      'This link is incomplete',
      'This link is incomplete — ask the sender for the whole link. (The part after “#” is missing or cut short.)',
    );
    return;
  }
  cleanUp(link.room);
  await runReceiver({ room: link.room, secret: link.secret, senderKey: link.senderKey, config });
}

boot().catch((error) => {
  console.error(error);
  ui.showMessage('Something went wrong', `${error.message}. Reload the page to try again.`);
});

