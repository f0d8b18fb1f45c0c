// The send loop for one receiver: carries out its SendSession's steps (transfer/send-session.js)
// on its data channel. It reads and hashes the next block while the window is closed (one
// block ahead per receiver), and ends as soon as the session's generation changes (a new
// want, the channel lost, the receiver cancelled), checked after every await.

import { prepareBlock } from './file-digest.js';
import { toHex } from './util.js';
import { CHUNK_SIZE, encodeControl } from './wire.js';

/** The window is re-checked at least this often (a channel closing under us wakes no one). */
const WINDOW_POLL_MS = 500;

/**
 * @param {object} r  the sender's record of one receiver: {session: SendSession, wake}
 * @param {RTCDataChannel} channel
 * @param {import('./shared-files.js').SharedFiles} shared  what is offered
 * @param {() => boolean} stopped  whether the sender stopped sharing
 * @param {number} generation  the session's generation this loop runs for
 * @returns {Promise<'finished'|'superseded'|'files-missing'>}
 */
export async function sendLoop(r, channel, shared, stopped, generation) {
  const session = r.session;
  const current = () => generation === session.generation && channel.readyState === 'open' && !stopped();
  const sizes = () => shared.sizesBytes;
  /** @type {{f: number, index: number, ready: Promise<{bytes: Uint8Array, hash: Uint8Array}>}|null} */
  let ahead = null;
  for (let step = session.next(sizes()); current() && step; step = session.next(sizes())) {
    const { file, info } = shared.files[step.f];
    const fd = shared.digests[step.f];
    if (!file && info.size > 0) return 'files-missing';
    if (step.op === 'start') {
      const matched = step.fromBlock === 0 || (step.chain !== null && (await fd.chainAt(step.fromBlock)) === step.chain);
      if (!current()) return 'superseded';
      const fromBlock = session.started(matched, sizes());
      channel.send(encodeControl({ t: 'start', f: step.f, from: fromBlock }));
    } else if (step.op === 'eof') {
      const sha256 = await fd.finalHash();
      if (!current()) return 'superseded';
      channel.send(encodeControl({ t: 'eof', f: step.f, sha256 }));
      session.eofSent();
    } else {
      const { f, index } = step;
      // Read and hash the block while the window is closed, not after it opens.
      if (ahead?.f !== f || ahead.index !== index) ahead = prepareBlock(fd, f, index);
      await windowOpen(r, channel, current);
      if (!current()) return 'superseded';
      const { bytes, hash } = await ahead.ready;
      ahead = null;
      if (!current()) return 'superseded';
      channel.send(encodeControl({ t: 'block', f, i: index, len: bytes.length, h: toHex(hash) }));
      for (let offset = 0; offset < bytes.length; offset += CHUNK_SIZE) {
        channel.send(bytes.subarray(offset, offset + CHUNK_SIZE));
      }
      session.blockSent(bytes.length);
      // Read ahead: the next block is ready when the next ack comes.
      const following = session.next(sizes());
      if (following?.op === 'block') ahead = prepareBlock(fd, f, following.index);
    }
  }
  return current() ? 'finished' : 'superseded';
}

/** Wait until the session may have another block in flight (acks and bufferedamountlow wake it). */
function windowOpen(r, channel, current) {
  const open = () => !current() || r.session.windowOpen(channel.bufferedAmount);
  if (open()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!open()) return;
      clearInterval(timer);
      r.wake = () => {};
      resolve();
    };
    const timer = setInterval(check, WINDOW_POLL_MS);
    r.wake = check;
  });
}
