// The transfer engine's invariants, driven with hostile input (node --test web/test/).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ALARM_INTERVAL_MS, AlarmGate, WANT_BURST, WANT_RATE_PER_S, WantGate, uniqueWants } from '../js/transfer/guards.js';
import {
  MAX_COMPONENT_BYTES,
  MAX_FILES,
  PathError,
  checkOfferPaths,
  pathProblem,
  portablePath,
  portableUniquePaths,
} from '../js/transfer/paths.js';
import {
  FileState,
  IllegalTransition,
  ReceiveFile,
  SenderViolation,
  TRANSITIONS,
  storageShortfallBytes,
  transferOutcome,
} from '../js/transfer/receive-file.js';
import { BLOCK_SIZE, WireError, parseControl } from '../js/wire.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Feed a whole block (header and bytes in 128 KiB frames); returns the bytes accepted. */
function sendBlock(file, index, lengthBytes) {
  file.blockHeader(index, lengthBytes);
  let accepted = 0;
  for (let offset = 0; offset < lengthBytes; offset += 128 * KIB) {
    const n = Math.min(128 * KIB, lengthBytes - offset);
    file.bytes(n);
    accepted += n;
  }
  return accepted;
}

/** A file received in order, every block verified by the (simulated) worker. */
function receiveWhole(sizeBytes) {
  const file = new ReceiveFile(sizeBytes);
  file.start(0);
  file.opened(0);
  for (let i = 0; i < file.blockCount; i++) {
    sendBlock(file, i, Math.min(BLOCK_SIZE, sizeBytes - i * BLOCK_SIZE));
    file.blockVerified(Math.min(sizeBytes, (i + 1) * BLOCK_SIZE));
  }
  return file;
}

test('a block beyond the declared size is refused, and nothing past the size is accepted', () => {
  // The review's attack: a 1 KiB file, then 1 MiB blocks, again and again.
  const file = new ReceiveFile(KIB);
  file.start(0);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 60; i++) {
    try {
      accepted += sendBlock(file, i, MIB);
    } catch (error) {
      assert.ok(error instanceof SenderViolation, error);
      refused++;
    }
  }
  assert.equal(accepted, 0);
  assert.equal(refused, 60);
  assert.throws(() => file.blockHeader(1, KIB), /block 1 of a file of 1 blocks/);
  assert.equal(sendBlock(file, 0, KIB), KIB); // the one real block is still fine
  assert.throws(() => file.blockHeader(1, KIB), SenderViolation);
});

test('a block length other than what the size implies is refused', () => {
  const file = new ReceiveFile(2 * MIB + 10);
  file.start(0);
  assert.throws(() => file.blockHeader(0, MIB - 1), /is 1048575 bytes where the file's size makes it 1048576/);
  sendBlock(file, 0, MIB);
  sendBlock(file, 1, MIB);
  assert.throws(() => file.blockHeader(2, MIB), /where the file's size makes it 10/);
  assert.equal(sendBlock(file, 2, 10), 10);
});

test('blocks come in order, one at a time, and never run over their length', () => {
  const file = new ReceiveFile(4 * MIB);
  file.start(1);
  assert.throws(() => file.blockHeader(0, MIB), /block 0 where block 1 was due/);
  assert.throws(() => file.blockHeader(2, MIB), /block 2 where block 1 was due/);
  file.blockHeader(1, MIB);
  assert.throws(() => file.blockHeader(2, MIB), /began before block 1 was complete/);
  file.bytes(MIB - 1);
  assert.throws(() => file.bytes(2), /ran over its 1048576 bytes/);
  assert.equal(file.bytes(1), true);
  assert.throws(() => file.bytes(1), /outside any block/);
  assert.throws(() => file.start(5), /started at block 5 of a file of 4 blocks/);
  assert.throws(() => file.start(-1), SenderViolation);
  assert.throws(() => file.start(1.5), SenderViolation);
});

test('the bytes accepted never exceed the declared size, whatever the sender does', () => {
  // A sender that restarts, repeats and overruns at random: the accepted total per pass
  // stays within the size, and each pass covers each byte at most once.
  let seed = 7;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const size = random(5 * MIB);
    const file = new ReceiveFile(size);
    let pass = 0;
    let maxPass = 0;
    for (let step = 0; step < 40; step++) {
      try {
        const choice = random(4);
        if (choice === 0) {
          file.start(random(file.blockCount + 2));
          pass = 0;
        } else if (choice === 1) {
          file.blockHeader(random(file.blockCount + 2), random(2) ? MIB : random(MIB + 2));
        } else {
          const n = random(300 * KIB);
          file.bytes(n);
          pass += n;
        }
      } catch (error) {
        assert.ok(error instanceof SenderViolation || error instanceof IllegalTransition, error);
      }
      maxPass = Math.max(maxPass, pass);
    }
    assert.ok(maxPass <= size, `accepted ${maxPass} bytes of a ${size}-byte file`);
  }
});

test('eof before every block arrived is refused: no "verified" for missing bytes', () => {
  const early = new ReceiveFile(3 * MIB);
  early.start(0);
  assert.throws(() => early.eof('0'.repeat(64)), /ended the file at block 0 of 3/);
  sendBlock(early, 0, MIB);
  early.blockHeader(1, MIB);
  early.bytes(10);
  assert.throws(() => early.eof('0'.repeat(64)), /ended the file at block 1 of 3/);
  assert.equal(early.state, FileState.RECEIVING);
  early.fail('sender misbehaved');
  assert.equal(early.state, FileState.FAILED);
  assert.equal(transferOutcome([{ state: early.state, delivered: false }]), 'failed');
});

test('whole-file verification starts only once every block is verified, in either order', () => {
  const file = new ReceiveFile(2 * MIB);
  file.start(0);
  file.opened(0);
  sendBlock(file, 0, MIB);
  sendBlock(file, 1, MIB);
  assert.equal(file.eof('a'.repeat(64)), false); // the worker has not verified them yet
  assert.equal(file.state, FileState.RECEIVING);
  assert.throws(() => file.finished(true), IllegalTransition);
  assert.equal(file.blockVerified(MIB), false);
  assert.equal(file.blockVerified(2 * MIB), true);
  assert.equal(file.state, FileState.VERIFYING);
  assert.throws(() => file.eof('a'.repeat(64)), /already complete/);
  // And with the last verification before the eof:
  const other = receiveWhole(MIB + 1);
  assert.equal(other.eof('b'.repeat(64)), true);
  assert.equal(other.state, FileState.VERIFYING);
});

test('a file is verified only after its whole-file hash matched; a mismatch fails it', () => {
  const good = receiveWhole(MIB);
  good.eof('c'.repeat(64));
  assert.equal(transferOutcome([{ state: good.state, delivered: false }]), 'waiting');
  good.finished(true);
  assert.equal(good.state, FileState.VERIFIED);
  const bad = receiveWhole(MIB);
  bad.eof('d'.repeat(64));
  bad.finished(false);
  assert.equal(bad.state, FileState.FAILED);
  assert.match(bad.failure, /SHA-256 did not match/);
  assert.throws(() => good.finished(true), /already complete/);
  assert.throws(() => bad.start(0), IllegalTransition);
  // An empty file: start, eof, check.
  const empty = new ReceiveFile(0);
  empty.start(0);
  assert.throws(() => empty.blockHeader(0, 0), SenderViolation);
  assert.equal(empty.eof('e'.repeat(64)), false); // the sink has not opened it yet
  assert.equal(empty.opened(0), true);
});

test('a bad block drops the pending eof: the resend must end the file again', () => {
  const file = new ReceiveFile(MIB);
  file.start(0);
  file.opened(0);
  sendBlock(file, 0, MIB);
  file.eof('f'.repeat(64));
  file.blockBad();
  file.start(0);
  file.opened(0);
  sendBlock(file, 0, MIB);
  assert.equal(file.blockVerified(MIB), false); // no eof yet for this pass
  assert.equal(file.eof('f'.repeat(64)), true);
});

test('the transfer is done only when every file is verified and delivered', () => {
  const v = FileState.VERIFIED;
  assert.equal(transferOutcome([{ state: v, delivered: true }, { state: FileState.VERIFYING, delivered: false }]), 'waiting');
  assert.equal(transferOutcome([{ state: v, delivered: true }, { state: FileState.PENDING, delivered: false }]), 'waiting');
  assert.equal(transferOutcome([{ state: v, delivered: true }, { state: v, delivered: false }]), 'undelivered');
  assert.equal(transferOutcome([{ state: v, delivered: true }, { state: FileState.FAILED, delivered: false }]), 'failed');
  assert.equal(transferOutcome([{ state: v, delivered: true }, { state: v, delivered: true }]), 'done');
});

test('every move outside the transition table throws IllegalTransition', () => {
  for (const [from, allowed] of Object.entries(TRANSITIONS)) {
    for (const to of Object.values(FileState)) {
      const file = new ReceiveFile(MIB);
      file.state = from;
      if (allowed.includes(to)) file.moveTo(to, 'test');
      else assert.throws(() => file.moveTo(to, 'test'), IllegalTransition, `${from} -> ${to}`);
    }
  }
  assert.deepEqual(TRANSITIONS[FileState.VERIFIED], []);
  assert.deepEqual(TRANSITIONS[FileState.FAILED], []);
});

test('paths a receiver must refuse are refused, with a reason', () => {
  const refused = {
    'C:/Windows/x': /drive letter/,
    'c:evil': /drive letter/,
    'a.txt:stream': /Windows does not allow \(:\)/,
    CON: /reserves \(CON\)/,
    'nul.txt': /reserves \(nul\)/,
    'dir/COM1.log': /reserves/,
    'lpt9': /reserves/,
    'a.': /ends in a dot or a space/,
    'dir /a': /ends in a dot or a space/,
    'evil\u202Etxt.exe': /U\+202E/,
    'a\u200Bb': /U\+200B/,
    'a\u2066b': /U\+2066/,
    'a\uFEFFb': /U\+FEFF/,
    'a\u0085b': /U\+0085/,
    'a\u0000b': /U\+0000/,
    'a\u001Fb': /U\+001F/,
    'a\u007Fb': /U\+007F/,
    [`${'x'.repeat(MAX_COMPONENT_BYTES + 1)}`]: /over 255 bytes/,
    [`${'é'.repeat(128)}`]: /over 255 bytes/, // 256 bytes of UTF-8 in 128 characters
    [`${'d/'.repeat(2100)}x`]: /over 4096 bytes/,
    '/etc/passwd': /absolute/,
    '../up': /".." component/,
    'a//b': /empty folder name/,
    'a\\b': /Windows does not allow/,
    '': /empty name/,
    'x\uD800': /not valid text/,
    'foo\u2215bar.txt': /U\+2215/, // looks like a folder, is not
    'a\uFF0Fb': /U\+FF0F/,
    'a\u2028b': /U\+2028/,
    'a\u034Fb': /U\+034F/,
    'x\u{E0041}y': /U\+E0041/, // a tag character: hidden text
    '\u200Dx': /U\+200D/, // a joiner with nothing to join
    'x\u200C/y': /U\+200C/,
    'a\u200C\u200Cb': /U\+200C/,
  };
  for (const [path, reason] of Object.entries(refused)) {
    assert.match(pathProblem(path) ?? 'accepted', reason, JSON.stringify(path));
    assert.equal(pathProblem(portablePath(path)), null, `portable form of ${JSON.stringify(path)}`);
  }
  const ordinary = [
    'a.txt', 'folder/sub/b.tar.gz', 'cons/x', 'Ω.txt', '日本語/ファイル.txt', '.hidden', 'console.log',
    '👨\u200D👩\u200D👧.png', 'می\u200Cخواهم.pdf', '🏳️\u200D🌈.jpg', '1\u20442 cup.txt', 'a #1 & 50% (final).doc',
    '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png',
  ];
  for (const path of ordinary) {
    assert.equal(pathProblem(path), null, path);
  }
  assert.equal(pathProblem('x'.repeat(MAX_COMPONENT_BYTES)), null);
});

test('an offer with colliding paths, a file that is also a folder, or too many files is refused', () => {
  assert.throws(() => checkOfferPaths([{ path: 'Photo.JPG' }, { path: 'photo.jpg' }]), /offered twice/);
  assert.throws(() => checkOfferPaths([{ path: '\u00e9.txt' }, { path: 'e\u0301.txt' }]), /offered twice/);
  assert.throws(() => checkOfferPaths([{ path: 'a' }, { path: 'A/b' }]), /both a file and the folder/);
  assert.throws(() => checkOfferPaths([{ path: 'ok' }, { path: 'CON' }]), PathError);
  const many = Array.from({ length: MAX_FILES + 1 }, (_, n) => ({ path: `f${n}` }));
  assert.throws(() => checkOfferPaths(many), /more than 100,000 files/);
  checkOfferPaths(many.slice(1));
  // On the wire, the reason reaches the receiver's page, and it knows it was the file list.
  const frame = JSON.stringify({ t: 'manifest', id: 'x', blockSize: BLOCK_SIZE, files: [{ path: 'CON', size: 1, mtime: 0, type: '' }] });
  assert.throws(
    () => parseControl(frame),
    (error) => error instanceof WireError && error.frameType === 'manifest' && /CON/.test(error.message),
  );
});

test('the sender gives chosen files paths every receiver accepts, numbering collisions', () => {
  const paths = portableUniquePaths(['a.txt', 'A.TXT', 'aux.c', 'x:y', 'dir', 'dir/inner', 'b.txt'], ['b.txt']);
  assert.deepEqual(paths, ['a.txt', 'A (2).TXT', '_aux.c', 'x_y', 'dir (2)', 'dir/inner', 'b (2).txt']);
  checkOfferPaths([...paths, 'b.txt'].map((path) => ({ path })));
});

test('a want flood restarts the send loop a bounded number of times; the latest want wins', () => {
  let now = 0;
  const gate = new WantGate(now);
  let acted = 0;
  let timers = 0;
  for (let n = 0; n < 300; n++) {
    const result = gate.offer([{ f: 0, from: n }], now);
    if (result.act) acted++;
    if (result.retryInMs !== null && result.retryInMs !== undefined) timers++;
  }
  assert.equal(acted, WANT_BURST);
  assert.equal(timers, 1); // one timer, however many wait
  now += 1000 / WANT_RATE_PER_S;
  const due = gate.due(now);
  assert.deepEqual(due.act, [{ f: 0, from: 299 }]);
  assert.deepEqual(gate.due(now), { act: null, retryInMs: null });
  // Over 10 s of flooding, at most burst + rate x 10 restarts.
  let restarts = 0;
  for (let t = 0; t < 10000; t += 5) {
    now += 5;
    if (gate.offer([{ f: 1, from: 0 }], now).act) restarts++;
    if (gate.due(now).act) restarts++;
  }
  assert.ok(restarts <= WANT_BURST + WANT_RATE_PER_S * 10 + 1, `${restarts} restarts`);
});

test('a want that lists one file many times sends it once', () => {
  const entries = [{ f: 2, from: 0 }, { f: 2, from: 5 }, { f: 1, from: 0 }, { f: 2, from: 0 }];
  assert.deepEqual(uniqueWants(entries), [{ f: 2, from: 0 }, { f: 1, from: 0 }]);
  assert.deepEqual(new WantGate(0).offer(Array(1000).fill({ f: 3, from: 0 }), 0).act, [{ f: 3, from: 0 }]);
});

test('bad envelopes get one answer and one notice per peer per minute', () => {
  const gate = new AlarmGate();
  let answered = 0;
  for (let n = 0; n < 100; n++) if (gate.admit('peer-a', n * 10)) answered++;
  assert.equal(answered, 1);
  assert.equal(gate.admit('peer-b', 0), true);
  assert.equal(gate.admit('peer-a', ALARM_INTERVAL_MS), true);
});

test('before Accept, the space the offer needs is compared with the storage estimate', () => {
  assert.equal(storageShortfallBytes(100, { quota: 1000, usage: 950 }), 50);
  assert.ok(storageShortfallBytes(100, { quota: 1000, usage: 100 }) <= 0);
  assert.equal(storageShortfallBytes(100, {}), 0); // no estimate: nothing to say
  assert.equal(storageShortfallBytes(100, { quota: 1000 }), -900);
});

test("the receiving page's phase moves only as its table says; final phases stay final", async () => {
  const { FINAL_PHASES, PHASE_TRANSITIONS, Phase, nextPhase } = await import('../js/transfer/receive-phase.js');
  for (const from of Object.values(Phase)) {
    for (const to of Object.values(Phase)) {
      if (PHASE_TRANSITIONS[from].includes(to)) assert.equal(nextPhase(from, to, 'test'), to);
      else assert.throws(() => nextPhase(from, to, 'test'), IllegalTransition, `${from} -> ${to}`);
    }
  }
  // The one way out of done is more files to accept; nothing leaves an error.
  assert.deepEqual([...PHASE_TRANSITIONS[Phase.DONE]].sort(), [Phase.DONE, Phase.ERROR, Phase.READY].sort());
  assert.deepEqual(PHASE_TRANSITIONS[Phase.ERROR], [Phase.ERROR]);
  assert.deepEqual(FINAL_PHASES, [Phase.DONE, Phase.ERROR]);
  assert.throws(() => nextPhase('idle', Phase.READY, 'test'), IllegalTransition);
});

test('after a restart, what the sink held before does not count until it has opened again', () => {
  // A stale "verified" for the old open must not complete the file for the new one.
  const file = new ReceiveFile(2 * MIB);
  file.start(0);
  file.opened(0);
  sendBlock(file, 0, MIB);
  file.blockVerified(MIB);
  sendBlock(file, 1, MIB);
  file.start(2); // the sender says: you hold both (it read our chain); the sink re-opens
  assert.equal(file.eof('a'.repeat(64)), false);
  assert.throws(() => file.blockVerified(2 * MIB), IllegalTransition); // a reply from before
  assert.equal(file.state, FileState.RECEIVING);
  assert.equal(file.opened(MIB), false); // it really holds one block: not complete
  assert.equal(file.state, FileState.RECEIVING);
  const whole = new ReceiveFile(MIB);
  whole.start(0);
  whole.opened(0);
  sendBlock(whole, 0, MIB);
  whole.blockVerified(MIB);
  whole.start(1);
  assert.equal(whole.eof('b'.repeat(64)), false);
  assert.equal(whole.opened(MIB), true); // it holds all of it, and the eof is in: verify now
  assert.equal(whole.state, FileState.VERIFYING);
});

test('a want waiting when its channel closed does not hold up the next channel', () => {
  const gate = new WantGate(0);
  for (let n = 0; n < WANT_BURST; n++) assert.ok(gate.offer([{ f: 0, from: n }], 0).act);
  assert.ok(gate.offer([{ f: 0, from: 99 }], 0).retryInMs > 0); // waits for a token
  gate.reset(); // the channel closed before the timer fired
  assert.deepEqual(gate.offer([{ f: 0, from: 0 }], 0).retryInMs > 0, true); // a timer again, not silence
  assert.deepEqual(gate.due(1000).act, [{ f: 0, from: 0 }]);
});
