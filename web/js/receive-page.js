// The receiving page: one room's receiver, its controls (Accept, folder, cancel, Save, ZIP)
// and its status line.

import { joinProof } from './admission.js';
import { $, clientId, deviceName, keepRendered, session, watchSignaling } from './page.js';
import { accept, cancel, pickFolder, saveAgain, saveZip } from './receive-actions.js';
import { ReceiverController } from './receiver.js';
import { Sealer, newEpoch } from './seal.js';
import { SealedSignaling } from './sealed-signaling.js';
import { SignalingClient, signalingUrl } from './signaling.js';
import { errorMessage, localize, msg, t } from './i18n.js';
import * as ui from './ui.js';
import { matchesSummary, summaryOf } from './nearby-wire.js';
import { summaryText } from './ui-nearby.js';

const WAITING_HINT_MS = 15_000;

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

/**
 * @param {object} options
 * @param {any} [options.expect] a nearby offer's summary the person accepted (nearby-page.js):
 *   accept at once if the files are exactly those; if not, ask again, saying so
 */
export async function runReceiver({ room, secret, senderKey, config, expect = null }) {
  ui.showView('view-receive');
  ui.setState('waiting', msg('receive.status.connecting'));
  if (!(await lockRoom(room))) {
    ui.showMessage(msg('error.otherTab.title'), msg('error.otherTab.text'));
    return;
  }
  const epoch = newEpoch(session);
  const sealer = await new Sealer({ secret, room, epoch }).init();
  const proof = await joinProof(secret, room, clientId());
  const signaling = new SignalingClient({ url: signalingUrl(location, room), cid: clientId(), admission: { proof } });
  const sealed = new SealedSignaling(signaling, sealer, { senderKey });
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
  let autoAccepted = !expect;
  const onSave = (file) =>
    saveAgain(receiver, file).catch((error) => ui.notice('error', msg('notice.saveFailed', { path: file.info.path, error: errorMessage(error) })));
  const render = () => {
    ui.renderReceiver(receiver, { onSave });
    if (!autoAccepted && !(/** @type {HTMLButtonElement} */ ($('accept')).disabled) && receiver.manifest) {
      autoAccepted = true;
      if (matchesSummary(receiver.manifest.files, expect)) {
        $('accept').click(); // exactly what the person's own click does (storage checks included)
      } else {
        const held = summaryOf(receiver.manifest.files);
        ui.notice('warning', msg('receive.nearbyDiffers', { now: summaryText(held), offered: summaryText(expect) }), {
          key: 'nearby-differs',
        });
      }
    }
    const state = receiver.aggregateState;
    let text = receiver.fatal || receiver.statusText;
    waitingSince = receiver.phase === 'waiting-sender' ? waitingSince || Date.now() : 0;
    if (waitingSince && Date.now() - waitingSince > WAITING_HINT_MS) text = msg('receive.status.stillWaiting', { status: text });
    ui.setState(state, text);
    const percent = receiver.totalBytes ? Math.floor((100 * receiver.receivedBytes) / receiver.totalBytes) : 0;
    document.title =
      state === 'transferring' ? t('receive.documentTitleReceiving', { percent }) : state === 'done' ? t('receive.documentTitleDone') : 'p2pshare';
  };
  keepRendered(receiver, render);
  receiver.addEventListener('notice', (event) => {
    const resumed = event.detail.text?.key === 'notice.resuming';
    ui.notice(event.detail.level, event.detail.text, { key: resumed ? 'resume' : undefined });
    if (resumed) setTimeout(() => ui.clearNotice('resume'), 20_000);
  });
  watchSignaling(signaling, { onReplaced: () => location.reload() });

  $('accept').addEventListener('click', () => {
    accept(receiver)
      .then(() => $('status-text').focus())
      .catch((error) => ui.notice('error', errorMessage(error)));
  });
  $('pick-folder').addEventListener('click', () =>
    pickFolder(receiver).catch((error) => {
      if (error?.name !== 'AbortError') ui.notice('error', msg('notice.folderFailed', { error: errorMessage(error) }));
    }),
  );
  $('save-zip').addEventListener('click', async () => {
    const button = /** @type {HTMLButtonElement} */ ($('save-zip'));
    button.disabled = true;
    try {
      await saveZip(receiver, (fraction) => {
        localize(button, 'receive.zipPreparing', { percent: Math.floor(fraction * 100) });
      });
    } catch (error) {
      ui.notice('error', msg('notice.zipFailed', { error: errorMessage(error) }));
    } finally {
      button.disabled = false;
      localize(button, 'receive.saveZip');
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
    await cancel(receiver);
    ui.notice('info', msg('notice.cancelled'), {
      key: 'cancelled',
      actions: [{ label: msg('notice.downloadAgain'), onClick: () => location.reload() }],
    });
  });
  render();
  signaling.start();
}

