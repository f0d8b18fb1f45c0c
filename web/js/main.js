// Entry point: reads the URL, decides whether this page sends or receives, builds the
// controllers and wires them to the page. All protocol and transfer logic lives elsewhere.

import { buildLink, newRoom, parseLink } from './link.js';
import { ReceiverController, OPFS_ROOT } from './receiver.js';
import { Sealer, newEpoch } from './seal.js';
import { SealedSignaling } from './sealed-signaling.js';
import { SenderController, fileInfo, relativePath } from './sender.js';
import { SignalingClient, signalingUrl } from './signaling.js';
import { listOpfsRooms, removeOpfsDir } from './sink.js';
import * as store from './store.js';
import * as ui from './ui.js';
import { fromBase64Url, randomId } from './util.js';
import { filesFromSources, sourcesOf, wireChoosers } from './choose.js';
import { portableUniquePaths } from './transfer/paths.js';

const CID_KEY = 'p2pshare:cid';
const CREATOR_KEY = (room) => `p2pshare:creator:${room}`;
const STALE_ROOM_MS = 7 * 24 * 3600 * 1000;
const FINISHED_ROOM_MS = 3600 * 1000;
const WAITING_HINT_MS = 15_000;

const session = globalThis.sessionStorage;
const $ = (id) => document.getElementById(id);

/** This tab's client id: kept across reloads of the tab, distinct per tab (sessionStorage). */
function clientId() {
  let cid = session.getItem(CID_KEY);
  if (!cid) {
    cid = randomId(16);
    session.setItem(CID_KEY, cid);
  }
  return cid;
}

function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua)
    ? 'Firefox'
    : /Edg\//.test(ua)
      ? 'Edge'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'a browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

async function loadConfig() {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.json();
}

function insecureNote() {
  if (globalThis.isSecureContext) return;
  $('security-note').textContent =
    'This page is plain http on a network address: encryption still protects your files, but large files and resuming need the https:// link.';
}

/**
 * Re-render after every 'change' (coalesced; timers, not animation frames, which background
 * tabs do not get), and once a second for speeds and times left.
 */
function keepRendered(controller, render) {
  let scheduled = false;
  controller.addEventListener('change', () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      render();
    }, 50);
  });
  setInterval(render, 1000);
}

/** Wire the signaling client's connection state and fatal closes to the page. */
function watchSignaling(signaling, { onReplaced }) {
  signaling.addEventListener('state', (event) => {
    // The page's signaling state, for automation (DEVELOPERS.md: the testing contract).
    document.body.dataset.signaling = event.detail;
    if (event.detail === 'reconnecting') {
      ui.notice('warning', 'Lost the connection to the server. Reconnecting… (transfers already running continue)', {
        key: 'signaling',
      });
    } else if (event.detail === 'open' && signaling.wasDown) {
      ui.notice('info', 'Reconnected to the server.', { key: 'signaling' });
      setTimeout(() => {
        if ($('notices').querySelector('[data-key="signaling"]')?.textContent === 'Reconnected to the server.') {
          ui.clearNotice('signaling');
        }
      }, 10000);
    }
    signaling.wasDown = event.detail === 'reconnecting' || (signaling.wasDown && event.detail !== 'open');
  });
  signaling.addEventListener('error', (event) => {
    const { code, message } = event.detail;
    if (code === 'room-full') ui.notice('error', 'This share already has as many people as it allows. Try again later.', { key: 'server-error' });
    else if (['rate-limited', 'unknown-peer'].includes(code)) console.warn('server:', code, message);
    else ui.notice('warning', `The server says: ${message}`, { key: 'server-error' });
  });
  signaling.addEventListener('fatal', (event) => {
    const { code } = event.detail;
    if (code === 4001) {
      ui.notice('warning', 'This link was opened again in another tab of this browser, so this tab stopped.', {
        key: 'signaling',
        actions: [{ label: 'Use this tab instead', onClick: onReplaced }],
      });
    } else if (code === 4004) {
      ui.showMessage('This link is broken', 'The room in this link is malformed. Ask the sender for the whole link.');
    } else if (code === 4009) {
      ui.notice('error', 'This share belongs to another sender page. Open the link as a receiver, or share your files anew.', {
        key: 'signaling',
      });
    } else {
      ui.notice('error', `The server closed the connection (${event.detail.reason || code}). Reload the page to try again.`, {
        key: 'signaling',
      });
    }
  });
}

// --- sender ---------------------------------------------------------------------------

/**
 * Give chosen files paths every receiver accepts (transfer/paths.js: portable, no two alike
 * in case or Unicode form, none also a folder, none already offered), and say which changed.
 */
function uniquePaths(files, taken = []) {
  const paths = portableUniquePaths(files.map(relativePath), taken);
  const renamed = [];
  files.forEach((file, n) => {
    if (paths[n] === relativePath(file)) return;
    renamed.push(`${relativePath(file)} → ${paths[n]}`);
    Object.defineProperty(file, 'relativePath', { value: paths[n], configurable: true });
  });
  if (renamed.length) {
    const listed = renamed.slice(0, 3).join('; ') + (renamed.length > 3 ? `; and ${renamed.length - 3} more` : '');
    ui.notice('info', `Some names were changed so that every receiver can save them: ${listed}.`, { key: 'renamed' });
  }
  // Offer them in path order: that is how people look for a file in a long list.
  return [...files].sort((a, b) => relativePath(a).localeCompare(relativePath(b)));
}

/** Files chosen before the page knew what to do with them (it was still loading). */
let earlyFiles = [];
/** What a choice of files (input or drop) does now: start sharing, add, or re-add. */
let onFiles = (files) => earlyFiles.push(...files);

function handleFiles(handler) {
  onFiles = handler;
  if (earlyFiles.length) handler(earlyFiles.splice(0));
}

/** Hook up the file inputs, pickers and the drop zone, once; they call the current `onFiles`. */
function fileChoosers() {
  wireChoosers(
    {
      fileInput: /** @type {HTMLInputElement} */ ($('file-input')),
      folderInput: /** @type {HTMLInputElement} */ ($('folder-input')),
      dropTarget: document.body,
      dropZone: $('drop'),
      fileButtons: [$('choose-files'), $('add-files'), $('readd-files')],
      folderButtons: [$('choose-folder'), $('add-folder'), $('readd-folder')],
    },
    (files) => onFiles(files),
  );
}

function home(config) {
  ui.showView('view-home');
  if (!globalThis.isSecureContext) {
    const warning = $('home-warning');
    warning.hidden = false;
    warning.textContent =
      'This page is plain http on a network address. Sharing still works and is encrypted, but people receiving large files should use the https:// address.';
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

async function startSharing(files, config) {
  const { room, secretText, token } = newRoom();
  session.setItem(CREATOR_KEY(room), JSON.stringify({ token, secret: secretText }));
  history.replaceState(null, '', `/r/${room}#${secretText}`);
  await saveSenderRecord(room, files.map(fileInfo), sourcesOf(files));
  await runSender({
    room,
    secretText,
    token,
    shared: files.map((file) => ({ info: fileInfo(file), file })),
    sources: sourcesOf(files),
    config,
  });
}

/** The sender's file list (and any file-system handles) for a reload of its page. */
function saveSenderRecord(room, files, sources) {
  return store.save('rooms', room, { role: 'sender', files, sources, updated: Date.now() });
}

async function resumeSender(room, creator, config) {
  const saved = await store.load('rooms', room);
  if (saved?.role !== 'sender' || !Array.isArray(saved.files)) {
    session.removeItem(CREATOR_KEY(room));
    ui.showMessage(
      'This share has ended',
      'This page shared files earlier, but their list is gone. Share the files again to get a new link.',
    );
    return;
  }
  await runSender({
    room,
    secretText: creator.secret,
    token: creator.token,
    shared: saved.files.map((info) => ({ info, file: null })),
    sources: saved.sources ?? [],
    config,
  });
}

async function runSender({ room, secretText, token, shared, sources, config }) {
  const epoch = newEpoch(session);
  const sealer = await new Sealer({ secret: fromBase64Url(secretText), room, epoch }).init();
  const signaling = new SignalingClient({ url: signalingUrl(location, room), cid: clientId(), token });
  const sealed = new SealedSignaling(signaling, sealer);
  const sender = await new SenderController({ sealed, signaling, iceServers: config.iceServers, files: shared }).init();
  const link = buildLink(location.origin, room, secretText);
  globalThis.p2pshare = { sender, signaling };

  ui.showView('view-share');
  ui.renderShareLink(link);
  $('share-link').focus();
  /** @type {HTMLInputElement} */ ($('share-link')).select();
  document.title = 'Sharing — p2pshare';
  const render = () => {
    ui.renderSender(sender, { onCancel: (peer) => sender.cancelReceiver(peer) });
    const state = sender.aggregateState;
    const active = [...sender.receivers.values()].filter((r) => r.status === 'transferring').length;
    const done = [...sender.receivers.values()].filter((r) => r.status === 'done').length;
    let text;
    if (sender.stopped) text = 'Sharing stopped. The link no longer works.';
    else if (sender.missingFiles.length) text = 'Add the files again to continue sharing.';
    else if (active) text = `Sending to ${active} ${active === 1 ? 'person' : 'people'}…`;
    else if (state === 'error') text = 'A transfer failed; see below.';
    else if (done) text = `${done} ${done === 1 ? 'person has' : 'people have'} all the files. The link keeps working while this page is open.`;
    else text = 'Waiting for someone to open the link…';
    ui.setState(state, text);
    document.title = active ? `Sending to ${active} — p2pshare` : 'Sharing — p2pshare';
  };
  keepRendered(sender, render);
  sender.addEventListener('notice', (event) => ui.notice(event.detail.level, event.detail.text));
  watchSignaling(signaling, { onReplaced: () => location.reload() });

  $('copy-link').addEventListener('click', async () => {
    const input = /** @type {HTMLInputElement} */ ($('share-link'));
    try {
      await navigator.clipboard.writeText(link);
    } catch {
      input.select();
      document.execCommand?.('copy');
    }
    $('copy-link').textContent = 'Copied';
    $('copy-status').textContent = 'Link copied';
    setTimeout(() => {
      $('copy-link').textContent = 'Copy link';
      $('copy-status').textContent = '';
    }, 2000);
  });
  const stop = async () => {
    $('stop-confirm').hidden = true;
    await sender.stopSharing();
    signaling.stop();
    session.removeItem(CREATOR_KEY(room));
    await store.remove('rooms', room);
    render();
    $('new-share').focus();
  };
  const busy = () => [...sender.receivers.values()].some((r) => ['transferring', 'connected'].includes(r.status));
  $('stop-sharing').addEventListener('click', () => {
    if (!busy()) return stop();
    $('stop-confirm').hidden = false;
    $('stop-cancelled').focus();
  });
  $('stop-confirmed').addEventListener('click', stop);
  $('stop-cancelled').addEventListener('click', () => {
    $('stop-confirm').hidden = true;
    $('stop-sharing').focus();
  });
  // Leaving the page ends every transfer in progress (they resume when it is back, but ask).
  addEventListener('beforeunload', (event) => {
    if (!sender.stopped && [...sender.receivers.values()].some((r) => r.status === 'transferring')) {
      event.preventDefault();
    }
  });
  if (['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname)) {
    const warning = $('local-warning');
    warning.hidden = false;
    const others = (config.urls ?? []).filter((url) => !/\/\/(127\.|localhost|\[::1\])/.test(url));
    warning.textContent = others.length
      ? `This link uses ${location.hostname}, which only works on this computer. For other devices, open p2pshare at ${others[0]} and share from there.`
      : `This link uses ${location.hostname}, which only works on this computer. For other devices, open p2pshare at this computer's network address and share from there.`;
  }
  if (sender.missingFiles.length && sources.length) {
    // Handles from the file pickers were kept: one click gets the files back.
    const button = $('readd-kept');
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        const files = await filesFromSources(sources);
        if (!sender.reattach(files)) ui.notice('warning', 'Those files have changed since they were shared; add them again.', { key: 'readd' });
      } catch (error) {
        ui.notice('error', `Could not open the files again: ${error.message}`, { key: 'readd' });
      }
    });
  }
  handleFiles(async (files) => {
    if (sender.stopped) return;
    if (sender.missingFiles.length) {
      const matched = sender.reattach(files);
      if (!matched) {
        const names = sender.missingFiles.map((s) => s.info.path);
        const listed = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
        ui.notice('warning', `Those are not the files that were shared here (name, size and date must match). Needed: ${listed}.`, {
          key: 'readd',
        });
      }
      else ui.clearNotice('readd');
      return;
    }
    await sender.addFiles(uniquePaths(files, sender.files.map((s) => s.info.path)));
    sources.push(...sourcesOf(files).filter((source) => !sources.includes(source)));
    await saveSenderRecord(room, sender.files.map((s) => s.info), sources);
  });
  render();
  signaling.start();
}

// --- receiver -------------------------------------------------------------------------

/**
 * Hold this room's lock for the life of the page: two tabs of one browser receiving the same
 * files would write the same partial files. Resolves to false if another tab holds it.
 */
function lockRoom(room) {
  if (!navigator.locks) return Promise.resolve(true); // insecure context: memory only, no clash
  return new Promise((resolve) => {
    navigator.locks.request(`p2pshare:receive:${room}`, { ifAvailable: true }, (lock) => {
      resolve(Boolean(lock));
      return lock ? new Promise(() => {}) : undefined; // held until the page goes away
    });
  });
}

async function runReceiver({ room, secret, config }) {
  ui.showView('view-receive');
  ui.setState('waiting', 'Connecting…');
  if (!(await lockRoom(room))) {
    ui.showMessage(
      'Already open in another tab',
      'This link is already open in another tab of this browser, which is receiving the files. Use that tab, or close it and reload this one.',
    );
    return;
  }
  const epoch = newEpoch(session);
  const sealer = await new Sealer({ secret, room, epoch }).init();
  const signaling = new SignalingClient({ url: signalingUrl(location, room), cid: clientId() });
  const sealed = new SealedSignaling(signaling, sealer);
  const receiver = await new ReceiverController({
    sealed,
    signaling,
    iceServers: config.iceServers,
    room,
    epoch,
    device: deviceName(),
  }).restore();
  globalThis.p2pshare = { receiver, signaling };

  let waitingSince = 0;
  const onSave = (file) => receiver.saveAgain(file).catch((error) => ui.notice('error', `Could not save ${file.info.path}: ${error.message}`));
  const render = () => {
    ui.renderReceiver(receiver, { onSave });
    const state = receiver.aggregateState;
    let text = receiver.fatal || receiver.statusText;
    waitingSince = receiver.phase === 'waiting-sender' ? waitingSince || Date.now() : 0;
    if (waitingSince && Date.now() - waitingSince > WAITING_HINT_MS) {
      text += " If they closed it or stopped sharing, ask them to share again: this link only works while the sender's page is open.";
    }
    ui.setState(state, text);
    const percent = receiver.totalBytes ? Math.floor((100 * receiver.receivedBytes) / receiver.totalBytes) : 0;
    document.title =
      state === 'transferring' ? `(${percent}%) Receiving — p2pshare` : state === 'done' ? 'Received — p2pshare' : 'p2pshare';
  };
  keepRendered(receiver, render);
  receiver.addEventListener('notice', (event) => {
    const resumed = event.detail.text.startsWith('Reconnected');
    ui.notice(event.detail.level, event.detail.text, { key: resumed ? 'resume' : undefined });
    if (resumed) setTimeout(() => ui.clearNotice('resume'), 20_000);
  });
  watchSignaling(signaling, { onReplaced: () => location.reload() });

  $('accept').addEventListener('click', () => {
    receiver
      .accept()
      .then(() => $('status-text').focus())
      .catch((error) => ui.notice('error', error.message));
  });
  $('pick-folder').addEventListener('click', () =>
    receiver.pickFolder().catch((error) => {
      if (error?.name !== 'AbortError') ui.notice('error', `Could not use that folder: ${error.message}`);
    }),
  );
  $('save-zip').addEventListener('click', async () => {
    const button = /** @type {HTMLButtonElement} */ ($('save-zip'));
    button.disabled = true;
    try {
      await receiver.saveZip((fraction) => {
        button.textContent = `Preparing the .zip… ${Math.floor(fraction * 100)}%`;
      });
    } catch (error) {
      ui.notice('error', `Could not make the .zip: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = 'Save all as one .zip';
    }
  });
  $('cancel-receive').addEventListener('click', () => {
    $('cancel-confirm').hidden = false;
    $('cancel-kept').focus();
  });
  $('cancel-kept').addEventListener('click', () => {
    $('cancel-confirm').hidden = true;
    $('cancel-receive').focus();
  });
  $('cancel-confirmed').addEventListener('click', async () => {
    $('cancel-confirm').hidden = true;
    await receiver.cancel();
    ui.notice('info', 'Download cancelled.', {
      key: 'cancelled',
      actions: [{ label: 'Download again', onClick: () => location.reload() }],
    });
  });
  render();
  signaling.start();
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
  fileChoosers();
  const link = parseLink(location.pathname, location.hash);
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    ui.showMessage('Cannot reach the server', `Check your connection and reload the page (${error.message}).`);
    return;
  }
  if (link.page === 'home') {
    home(config);
    cleanUp(null);
    return;
  }
  if (link.page === 'bad-room') {
    ui.showMessage('This link is broken', 'This link is incomplete — ask the sender for the whole link.');
    return;
  }
  const creatorText = session.getItem(CREATOR_KEY(link.room));
  if (creatorText) {
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
  await runReceiver({ room: link.room, secret: link.secret, config });
}

boot().catch((error) => {
  console.error(error);
  ui.showMessage('Something went wrong', `${error.message}. Reload the page to try again.`);
});
