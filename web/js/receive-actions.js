// What the person does on the receiving page: Accept (after checking there is room for the
// files), pick a folder, cancel, save a file again, save everything as one ZIP.

import { downloadName, fileBlob, savedFiles, saveZip as zipFiles } from './delivery.js';
import { MEMORY_CAP_BYTES, downloadBlob } from './sink.js';
import { FileState, storageShortfallBytes } from './transfer/receive-file.js';
import { formatBytes, formatNumber, msg } from './i18n.js';

/** @typedef {import('./receiver.js').ReceiverController} ReceiverController */

/**
 * Without OPFS (an insecure page) files are kept in memory, up to MEMORY_CAP_BYTES: say so
 * when the offer is larger. Returns whether it fits.
 * @param {ReceiverController} rc
 */
export function checkMemoryFallback(rc) {
  if (rc.mode !== 'memory' || rc.totalBytes <= MEMORY_CAP_BYTES) return true;
  rc.notice('error', msg('notice.tooBigForMemory', { size: formatBytes(rc.totalBytes), limit: formatNumber(MEMORY_CAP_BYTES / 1e9, { style: 'unit', unit: 'gigabyte', unitDisplay: 'short' }) }));
  return false;
}

/**
 * Whether this browser lets the site store what is still to come (OPFS holds every file
 * until it is verified, also when a folder is picked: browsers tell no folder's free space).
 * Says how much is missing if not.
 * @param {ReceiverController} rc
 */
export async function enoughSpace(rc) {
  if (rc.mode !== 'opfs' || !globalThis.navigator?.storage?.estimate) return true;
  let estimate;
  try {
    estimate = await navigator.storage.estimate();
  } catch {
    return true; // no estimate: the disk-full error is still caught while writing
  }
  const missing = storageShortfallBytes(rc.totalBytes - rc.verifiedBytes, estimate);
  if (missing <= 0) return true;
  rc.notice('error', msg('notice.noSpace', { size: formatBytes(missing) }));
  return false;
}

/** Accept the offer: download everything (to the folder, if one was picked). */
export async function accept(rc) {
  if (rc.accepted && rc.wantsSent) return;
  if (!checkMemoryFallback(rc) || !(await enoughSpace(rc))) return;
  rc.accepted = true;
  await rc.persist();
  rc.resync();
  rc.changed();
}

/** Let the person pick a folder to save into (File System Access API, where available). */
export async function pickFolder(rc) {
  const handle = await globalThis.showDirectoryPicker({ id: 'p2pshare', mode: 'readwrite' });
  rc.folder = handle;
  rc.folderName = handle.name;
  await accept(rc); // choosing where to save is accepting
}

/** Cancel the download: tell the sender, stop, and keep nothing (opening the link again starts afresh). */
export async function cancel(rc) {
  rc.send({ t: 'cancel' });
  if (rc.sender) await rc.sealed.send(rc.sender, 0, { k: 'bye', reason: 'cancelled' });
  rc.stream.closeSink();
  rc.fail(msg('receive.status.youCancelled'));
  rc.signaling.stop();
  rc.accepted = false;
  await rc.forget();
}

/** Hand one verified file to the downloads again (its row's Save button). */
export async function saveAgain(rc, file) {
  downloadBlob(await fileBlob(file, rc.dir), downloadName(file.info.path));
}

/** Every verified file in one ZIP (delivery.js); `onProgress(fraction)` reports the CRC pass. */
export function saveZip(rc, onProgress = () => {}) {
  return zipFiles(
    savedFiles(rc.files).filter((f) => f.status === FileState.VERIFIED),
    rc.dir,
    onProgress,
  );
}
