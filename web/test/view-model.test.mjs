// What the page shows (view-model.js): nothing failed, cancelled or unverified reads as done.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ReceiveFile } from '../js/transfer/receive-file.js';
import { SendReason, SendSession, SendState } from '../js/transfer/send-session.js';
import { failureText, fileRow, receiverRow, senderState, senderStatus } from '../js/view-model.js';
import { useLanguage } from './catalogues.mjs';

useLanguage('en');

const MIB = 1 << 20;

function receiver(setUp) {
  const session = new SendSession(0);
  session.channelOpened();
  setUp(session);
  return { peer: 'abcdefgh', device: 'Chrome on Linux', session };
}

test('a receiver that failed a file is shown failed, naming the file and the cause', () => {
  const r = receiver((s) => {
    s.want([{ f: 0, from: 0, chain: null }], [MIB], 0);
    s.receiverFailed(0, 'disk-full', 'photos/a.jpg');
    s.receiverDone();
  });
  const row = receiverRow(r, 1, false);
  assert.equal(row.state, SendState.FAILED);
  assert.match(row.text, /^Failed: ran out of disk space \(photos\/a\.jpg\)/);
  assert.doesNotMatch(row.text, /Done|verified/);
  assert.equal(senderState([SendState.DONE, SendState.FAILED]), 'error');
});

test('rows: label, cancel hidden when there is nothing to cancel, progress as a fraction', () => {
  const r = receiver((s) => {
    s.want([{ f: 0, from: 0, chain: null }], [4 * MIB], 0);
    s.started(true, [4 * MIB]);
    s.blockSent(MIB);
    s.ack(0, 0, [4 * MIB], 0);
  });
  const row = receiverRow(r, 2, false);
  assert.equal(row.label, 'Receiver 2 (abcd) · Chrome on Linux');
  assert.equal(row.fraction, 0.25);
  assert.equal(row.cancelHidden, false);
  assert.equal(receiverRow(r, 2, true).cancelHidden, true);
  r.session.end(SendState.CANCELLED, SendReason.YOU_CANCELLED);
  assert.equal(receiverRow(r, 2, false).text, 'Cancelled: cancelled by you');
  assert.equal(receiverRow(r, 2, false).cancelHidden, true);
});

test('an unverified receiver shows the warning, not a state word', () => {
  const r = receiver((s) => s.unverified());
  assert.match(receiverRow(r, 1, false).text, /could not be verified/);
});

test('failure reasons are worded for people', () => {
  assert.equal(failureText('hash-mismatch', 'a'), 'received a file that did not verify (a)');
  assert.match(failureText('write-error', ''), /could not save a file: write-error/);
});

test('the sender status line', () => {
  assert.equal(senderStatus({ stopped: false, missing: 0, states: [] }).text, 'Waiting for someone to open the link…');
  const two = senderStatus({ stopped: false, missing: 0, states: [SendState.TRANSFERRING, SendState.TRANSFERRING] });
  assert.equal(two.text, 'Sending to 2 people…');
  assert.equal(two.title, 'Sending to 2 — p2pshare');
  assert.equal(senderStatus({ stopped: true, missing: 0, states: [SendState.TRANSFERRING] }).text, 'Sharing stopped. The link no longer works.');
});

test('a file row: failed and verifying never read as verified', () => {
  const file = (engine, extra = {}) => ({
    info: { path: 'a', size: 2 * MIB },
    engine,
    get status() {
      return this.engine.state;
    },
    from: 0,
    received: 0,
    error: '',
    ...extra,
  });
  const failing = new ReceiveFile(2 * MIB);
  failing.fail('its SHA-256 did not match');
  const failed = fileRow(file(failing, { error: 'its SHA-256 did not match' }), 'opfs');
  assert.equal(failed.text, 'failed: its SHA-256 did not match');
  assert.equal(failed.saveHidden, true);
  const pending = fileRow(file(new ReceiveFile(2 * MIB)), 'opfs');
  assert.equal(pending.text, 'not started');
  assert.equal(pending.progressHidden, true);
  const receiving = fileRow(file(Object.assign(new ReceiveFile(2 * MIB), { state: 'receiving' }), { received: MIB }), 'opfs');
  assert.equal(receiving.text, 'receiving 50%');
  const done = fileRow(file(new ReceiveFile(2 * MIB, { verified: true }), { from: 2 * MIB }), 'memory');
  assert.equal(done.text, 'verified');
  assert.equal(done.saveHidden, true); // memory mode without a Blob: nothing to save again
});
