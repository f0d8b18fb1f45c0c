// The send loop for one receiver: carries out its SendSession's steps (transfer/send-session.js)
// on its data channel. It reads and hashes the next block while the window is closed (one
// block ahead per receiver), and ends as soon as the session's generation changes (a new
// want, the channel lost, the receiver cancelled), checked after every await.

import { prepareBlock } from './file-digest.js';
import { chooseLane } from './transfer/lanes.js';
import { toHex } from './util.js';
import { CHUNK_SIZE, encodeControl } from './wire.js';

/** The window is re-checked at least this often (a channel closing under us wakes no one). */
const WINDOW_POLL_MS = 500;

/**
 * @param {object} r  the sender's record of one receiver: {session: SendSession, wake, lanes: SenderLanes}
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
      const lane = await laneFor(r, channel, current, step);
      if (!current()) return 'superseded';
      if (!session.isNext(step, sizes())) continue; // a lost lane handed blocks back: they go first
      const { bytes, hash } = await ahead.ready;
      ahead = null;
      const target = lane === 0 ? channel : r.lanes.channel(lane);
      if (!current()) return 'superseded';
      if (target?.readyState !== 'open') continue; // that lane closed meanwhile: choose again
      target.send(encodeControl({ t: 'block', f, i: index, len: bytes.length, h: toHex(hash) }));
      for (let offset = 0; offset < bytes.length; offset += CHUNK_SIZE) {
        target.send(bytes.subarray(offset, offset + CHUNK_SIZE));
      }
      session.blockSent(bytes.length, step);
      r.lanes.sent(lane, f, index);
      // Read ahead: the next block is ready when the next ack comes.
      const following = session.next(sizes());
      if (following?.op === 'block') ahead = prepareBlock(shared.digests[following.f], following.f, following.index);
    }
  }
  return current() ? 'finished' : 'superseded';
}

/**
 * Wait until the session may have another block in flight and a lane may take it (acks,
 * bufferedamountlow and lanes opening wake it); the lane's number (0: the first).
 */
function laneFor(r, channel, current, step) {
  const pick = () => {
    const loads = r.lanes.loads(channel);
    if (!r.session.windowOpen(channel.bufferedAmount, loads.length, step)) return null;
    return chooseLane(loads, r.session.ackedFiles.has(step.f));
  };
  const now = current() ? pick() : 0;
  if (now !== null) return Promise.resolve(now);
  return new Promise((resolve) => {
    const check = () => {
      const lane = current() ? pick() : 0;
      if (lane === null) return;
      clearInterval(timer);
      r.wake = () => {};
      resolve(lane);
    };
    const timer = setInterval(check, WINDOW_POLL_MS);
    r.wake = check;
  });
}
