// The sharing page: choosing files (names made portable) or typing a text, starting a share,
// resuming it after a reload (the files added again; texts are kept by the page), and the
// controls (copy, stop, add more).

import { accessKey } from './admission.js';
import { newSenderKey, senderPublicKey } from './signing.js';
import { filesFromSources, sourcesOf, wireChoosers } from './choose.js';
import { buildLink, newRoom } from './link.js';
import { $, CREATOR_KEY, clientId, keepRendered, session, watchSignaling } from './page.js';
import { Sealer, newEpoch } from './seal.js';
import { SealedSignaling } from './sealed-signaling.js';
import { SenderController, fileInfo, relativePath } from './sender.js';
import { SignalingClient, signalingUrl } from './signaling.js';
import * as store from './store.js';
import { moveTextBoxToShare, wireTextBox } from './text-box.js';
import { isTextItem, textFile, textName, textOf, textProblem } from './text-items.js';
import { portableUniquePaths } from './transfer/paths.js';
import { SendState } from './transfer/send-session.js';
import { errorMessage, formatList, localize, msg } from './i18n.js';
import * as ui from './ui.js';
import { senderStatus } from './view-model.js';
import { fromBase64Url } from './util.js';
import { fileKey } from './wire.js';

/** localStorage: whether receiver rows show their connection line. */
const DETAILS_KEY = 'p2pshare.connection-details';

/**
 * Give chosen files paths every receiver accepts (transfer/paths.js: portable, no two alike
 * in case or Unicode form, none also a folder, none already offered), and say which changed.
 */
export function uniquePaths(files, taken = []) {
  const paths = portableUniquePaths(files.map(relativePath), taken);
  const renamed = [];
  files.forEach((file, n) => {
    if (paths[n] === relativePath(file)) return;
    renamed.push(`${relativePath(file)} → ${paths[n]}`);
    Object.defineProperty(file, 'relativePath', { value: paths[n], configurable: true });
  });
  if (renamed.length) {
    const first = renamed.slice(0, 3).join('; ');
    const listed = renamed.length > 3 ? msg('notice.renamedMore', { names: first, count: renamed.length - 3 }) : first;
    ui.notice('info', msg('notice.renamed', { names: listed }), { key: 'renamed' });
  }
  // Offer them in path order: that is how people look for a file in a long list.
  return [...files].sort((a, b) => relativePath(a).localeCompare(relativePath(b)));
}

/**
 * 'started' {path, items(), stopped()}: a share runs on this page (nearby-page.js offers it to
 * the devices chosen; `path` is the link without the origin).
 */
export const sharing = new EventTarget();

/** Files chosen before the page knew what to do with them (it was still loading). */
let earlyFiles = [];
/** What a choice of files (input or drop) does now: start sharing, add, or re-add. */
let onFiles = (files) => earlyFiles.push(...files);

export function handleFiles(handler) {
  onFiles = handler;
  if (earlyFiles.length) handler(earlyFiles.splice(0));
}

/** Files chosen by other means than the page's own (the share target): as if picked here. */
export function chooseFiles(files) {
  onFiles(files);
}

/** The items offered now (none before a share starts): text names and limits count them. */
let offered = () => /** @type {import('./wire.js').FileInfo[]} */ ([]);

/**
 * Share `text` as a text item, as choosing a file does (through the current `onFiles`: it
 * starts a share on the home page, adds to the share on the share page). Returns null, or
 * the problem (text-items.js's textProblem) that kept it from being sent.
 * @param {string} text
 */
export function shareText(text) {
  const infos = offered();
  const problem = textProblem(text, infos.filter(isTextItem).length);
  if (problem) return problem;
  onFiles([textFile(text, { name: textName(infos.map((info) => info.path)) })]);
  return null;
}

/** Hook up the file inputs, pickers and the drop zone, once; they call the current `onFiles`. */
export function fileChoosers() {
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
  wireTextBox(shareText);
}

export async function startSharing(files, config) {
  const { room, secretText, token } = newRoom();
  const { seedText } = newSenderKey();
  session.setItem(CREATOR_KEY(room), JSON.stringify({ token, secret: secretText, sign: seedText }));
  history.replaceState(null, '', `/r/${room}#${secretText}.${senderPublicKey(seedText)}`);
  const shared = files.map((file) => ({ info: fileInfo(file), file }));
  await saveSenderRecord(room, shared, sourcesOf(files));
  await runSender({
    room,
    secretText,
    signSeed: seedText,
    token,
    shared,
    sources: sourcesOf(files),
    config,
  });
}

/**
 * The sender's file list (and any file-system handles) for a reload of its page, and the
 * texts themselves (by file key): small enough to keep, so nobody has to type them again.
 * @param {string} room @param {import('./shared-files.js').SharedFile[]} shared
 */
function saveSenderRecord(room, shared, sources) {
  const texts = Object.fromEntries(shared.filter((s) => textOf(s.file) !== undefined).map((s) => [fileKey(s.info), textOf(s.file)]));
  return store.save('rooms', room, { role: 'sender', files: shared.map((s) => s.info), texts, sources, updated: Date.now() });
}

/** A saved entry as the page gets it back: a text item with its text, a file to add again. */
function restored(info, texts) {
  const text = isTextItem(info) ? texts?.[fileKey(info)] : undefined;
  return { info, file: typeof text === 'string' ? textFile(text, { name: info.path, mtime: info.mtime }) : null };
}

export async function resumeSender(room, creator, config) {
  const saved = await store.load('rooms', room);
  if (saved?.role !== 'sender' || !Array.isArray(saved.files) || typeof creator.sign !== 'string') {
    session.removeItem(CREATOR_KEY(room));
    ui.showMessage(msg('error.shareEnded.title'), msg('error.shareEnded.text'));
    return;
  }
  await runSender({
    room,
    secretText: creator.secret,
    signSeed: creator.sign,
    token: creator.token,
    shared: saved.files.map((info) => restored(info, saved.texts)),
    sources: saved.sources ?? [],
    config,
  });
}

async function runSender({ room, secretText, signSeed, token, shared, sources, config }) {
  const epoch = newEpoch(session);
  const sealer = await new Sealer({ secret: fromBase64Url(secretText), room, epoch }).init();
  const access = await accessKey(fromBase64Url(secretText), room);
  const signaling = new SignalingClient({ url: signalingUrl(location, room), cid: clientId(), token, admission: { access } });
  const sealed = new SealedSignaling(signaling, sealer, { signWith: signSeed });
  const sender = await new SenderController({ sealed, signaling, iceServers: config.iceServers, files: shared }).init();
  const link = buildLink(location.origin, room, secretText, senderPublicKey(signSeed));
  globalThis.p2pshare = { sender, signaling };
  const path = `/r/${room}#${secretText}.${senderPublicKey(signSeed)}`;
  const items = () => sender.shared.files.map((s) => s.info);
  sharing.dispatchEvent(new CustomEvent('started', { detail: { path, items, stopped: () => sender.stopped } }));

  ui.showView('view-share');
  moveTextBoxToShare();
  offered = () => sender.shared.files.map((s) => s.info);
  ui.renderShareLink(link);
  $('share-link').focus();
  /** @type {HTMLInputElement} */ ($('share-link')).select();
  const render = () => {
    ui.renderSender(sender, { onCancel: (peer) => sender.cancelReceiver(peer) });
    const states = [...sender.receivers.values()].map((r) => r.status);
    const status = senderStatus({ stopped: sender.stopped, missing: sender.shared.missingFiles.length, states });
    ui.setState(status.state, status.text);
    document.title = status.title;
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
    localize($('copy-link'), 'share.copied');
    localize($('copy-status'), 'share.linkCopied');
    setTimeout(() => {
      localize($('copy-link'), 'share.copyLink');
      localize($('copy-status'), '');
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
  const busy = () => [...sender.receivers.values()].some((r) => r.status === SendState.TRANSFERRING || r.status === SendState.CONNECTED);
  $('stop-sharing').addEventListener('click', () => {
    if (!busy()) return stop();
    $('stop-confirm').hidden = false;
    $('stop-cancelled').focus();
  });
  $('stop-confirmed').addEventListener('click', stop);
  // The per-receiver connection line ("3 connections · 41 ms") only for those who ask.
  const details = /** @type {HTMLInputElement} */ ($('connection-details'));
  details.checked = localStorage.getItem(DETAILS_KEY) === '1';
  details.addEventListener('change', () => {
    localStorage.setItem(DETAILS_KEY, details.checked ? '1' : '0');
    render();
  });
  $('stop-cancelled').addEventListener('click', () => {
    $('stop-confirm').hidden = true;
    $('stop-sharing').focus();
  });
  // Leaving the page ends every transfer in progress (they resume when it is back, but ask).
  addEventListener('beforeunload', (event) => {
    if (!sender.stopped && [...sender.receivers.values()].some((r) => r.status === SendState.TRANSFERRING)) {
      event.preventDefault();
    }
  });
  if (['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname)) {
    const warning = $('local-warning');
    warning.hidden = false;
    const others = (config.urls ?? []).filter((url) => !/\/\/(127\.|localhost|\[::1\])/.test(url));
    const host = location.hostname;
    if (others.length) localize(warning, 'share.localOnlyAt', { host, url: others[0] });
    else localize(warning, 'share.localOnly', { host });
  }
  if (sender.shared.missingFiles.length && sources.length) {
    // Handles from the file pickers were kept: one click gets the files back.
    const button = $('readd-kept');
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        const files = await filesFromSources(sources);
        if (!sender.reattach(files)) ui.notice('warning', msg('notice.filesChanged'), { key: 'readd' });
      } catch (error) {
        ui.notice('error', msg('notice.reopenFailed', { error: errorMessage(error) }), { key: 'readd' });
      }
    });
  }
  handleFiles(async (files) => {
    if (sender.stopped) return;
    if (sender.shared.missingFiles.length) {
      const matched = sender.reattach(files);
      if (!matched) {
        const names = sender.shared.missingFiles.map((s) => s.info.path);
        const listed = names.length > 3 ? msg('notice.namesMore', { names: names.slice(0, 3).join(', '), count: names.length - 3 }) : formatList(names);
        ui.notice('warning', msg('notice.notTheFiles', { names: listed }), { key: 'readd' });
      }
      else ui.clearNotice('readd');
      return;
    }
    await sender.addFiles(uniquePaths(files, sender.shared.files.map((s) => s.info.path)));
    sources.push(...sourcesOf(files).filter((source) => !sources.includes(source)));
    await saveSenderRecord(room, sender.shared.files, sources);
  });
  render();
  signaling.start();
}

