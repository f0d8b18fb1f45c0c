// How a received file, and the whole transfer, end: failed (the sender is told, the person
// too, and the rest goes on), verified and handed over, or the transfer over. The receiving
// page is `done` only when every file is verified and delivered (transferOutcome); anything
// else that ends it is an error that says what to do.

import { FileState, transferOutcome } from './transfer/receive-file.js';
import { Phase } from './transfer/receive-phase.js';
import { errorMessage, msg } from './i18n.js';
import { isTextItem } from './text-items.js';

/** @typedef {import('./receiver.js').ReceiverController} ReceiverController */

/**
 * File `f` cannot be kept: say so (naming the cause, a message), tell the sender, go on with
 * the rest.
 */
export function fileFailed(rc, file, f, reason, wireReason = 'hash-mismatch') {
  file.engine.fail(reason);
  file.error = reason;
  rc.send({ t: 'fail', f, reason: wireReason });
  rc.notice('error', msg('notice.fileFailed', { path: file.info.path, reason }));
  rc.persist();
  if (!finishIfAllFinal(rc)) rc.resync();
}

/** File passed its whole-file check: hand it over, then perhaps end the transfer. */
export async function fileVerified(rc, file, blob) {
  rc.changed();
  file.delivering = true; // the transfer is not done while a hand-over is under way
  try {
    await rc.deliver(file, blob);
  } catch (error) {
    file.error = msg('receive.fileError.notSaved', { error: errorMessage(error) });
    rc.notice('error', msg('notice.fileNotSaved', { path: file.info.path, error: errorMessage(error) }));
  } finally {
    file.delivering = false;
  }
  await rc.persist();
  finishIfAllFinal(rc);
  rc.changed();
}

/** The sink worker could not go on (`kind`: disk-full, state, or another write error). */
export function sinkFailed(rc, { id, kind, message }) {
  if (kind === 'disk-full') {
    rc.send({ t: 'fail', f: Math.max(0, id), reason: 'disk-full' });
    rc.fail(msg('receive.fail.diskFull'));
    return;
  }
  if (kind === 'state') {
    const file = rc.files[id];
    if (file?.engine.state === FileState.VERIFYING) {
      fileFailed(rc, file, id, msg('receive.fileError.unchecked', { error: message }), 'write-error');
      return;
    }
    // Bytes that did not fit what we expected (a restart raced with data in flight): resync,
    // once: the writes still queued behind it fail alike, and one want answers them all.
    console.warn('sink out of step, resyncing:', message);
    if (!rc.stream.awaitingStart) rc.resync();
    return;
  }
  rc.fail(msg('receive.fail.writeError', { error: message }));
}

/** End the transfer if every file is verified or failed; returns whether it did. */
export function finishIfAllFinal(rc) {
  if (transferOutcome(rc.files.map((f) => ({ state: f.status, delivered: true }))) === 'waiting') return false;
  finishAll(rc);
  return true;
}

function finishAll(rc) {
  if (rc.phase === Phase.ERROR) return; // ended already (disk full, tampering): stays so
  const outcome = transferOutcome(rc.files.map((f) => ({ state: f.status, delivered: f.delivered })));
  if (outcome !== 'failed' && rc.files.some((f) => f.delivering)) return; // its hand-over ends it
  rc.send({ t: 'done' });
  if (outcome === 'failed') {
    const failed = rc.files.filter((f) => f.status === FileState.FAILED);
    if (failed.length === 1) rc.fail(msg('receive.fail.oneFile', { path: failed[0].info.path }));
    else rc.fail(msg('receive.fail.files', { count: failed.length }));
  } else if (outcome === 'undelivered') {
    // Verified, but not handed over (a folder's permission was withdrawn, say): not "done".
    const count = rc.files.filter((f) => !f.delivered).length;
    rc.movePhase(Phase.ERROR, msg('receive.status.undelivered', { count }), 'undelivered');
  } else {
    const text = rc.files.every((f) => isTextItem(f.info))
      ? msg('receive.status.doneText')
      : rc.folder
        ? msg('receive.status.doneFolder', { folder: rc.folderName })
        : msg('receive.status.doneDownloads');
    rc.movePhase(Phase.DONE, text, 'all verified');
  }
  rc.persist();
  rc.changed();
}
