// What a receiving page keeps across reloads: per room, in IndexedDB (store.js), whether it
// accepted, the picked folder, and per file the last durable point (`from`, the whole-file
// hash state and the block chain there: docs/protocol.md, Resume). The bytes are in OPFS.

import { digest } from './hashing.js';
import { removeOpfsDir } from './sink.js';
import * as store from './store.js';
import { toHex } from './util.js';
import { AHEAD_BLOCKS, fileKey } from './wire.js';
import { FileState, ReceiveFile } from './transfer/receive-file.js';

/**
 * @typedef {object} IncomingFile
 * @property {import('./wire.js').FileInfo} info
 * @property {string} key        fileKey(info)
 * @property {string} name       its file name in OPFS
 * @property {ReceiveFile} engine  what the sender may send next, and when the file is verified
 * @property {string} status     engine.state (read only)
 * @property {number} from       bytes verified and kept
 * @property {number} received   bytes arrived (verified or not) in this session
 * @property {Uint8Array|null} state  whole-file hash state at `from`
 * @property {string|null} chain block chain at `from`
 * @property {{from: number, state: Uint8Array|null, chain: string|null}} saved  the last durable
 *           (flushed and persisted) point, which is what a new page can resume from
 * @property {boolean} opened    open in the sink worker
 * @property {number} openSeq    the number of its latest open (replies to earlier ones are stale)
 * @property {number} expectFrom bytes the latest open asked the worker to keep
 * @property {boolean} delivered handed to the user (download or folder)
 * @property {boolean} delivering a hand-over is under way (the transfer is not done before it ends)
 * @property {string} error
 * @property {number} badBlocks
 * @property {number} claimedBlock  the `from` of our latest want for it (-1: none yet)
 */

/**
 * The record of one offered file, resumed from what an earlier page kept for it.
 * @param {import('./wire.js').FileInfo} info @param {any} saved its part of the room record
 * @returns {Promise<IncomingFile>}
 */
export async function incomingFile(info, saved = {}) {
  const key = fileKey(info);
  const name = toHex(await digest(new TextEncoder().encode(key))).slice(0, 32);
  const verified = saved.status === FileState.VERIFIED;
  const checkpoint = { from: verified ? 0 : saved.from ?? 0, state: saved.state ?? null, chain: saved.chain ?? null };
  return {
    info,
    key,
    name,
    engine: new ReceiveFile(info.size, { verified, aheadBlocks: AHEAD_BLOCKS }),
    get status() {
      return this.engine.state;
    },
    from: verified ? info.size : checkpoint.from,
    received: verified ? info.size : checkpoint.from,
    state: checkpoint.state,
    chain: checkpoint.chain,
    saved: checkpoint,
    opened: false,
    openSeq: 0,
    expectFrom: 0,
    claimedBlock: -1,
    delivered: Boolean(saved.delivered),
    delivering: false,
    error: '',
    badBlocks: 0,
  };
}

/**
 * The room record for `receiver`'s present state.
 * @param {{accepted: boolean, manifest: {id: string}|null, folder: any, files: IncomingFile[]}} receiver
 * @param {boolean} complete  every file verified and delivered
 */
export function roomRecord(receiver, complete) {
  const files = {};
  for (const file of receiver.files) {
    const verified = file.status === FileState.VERIFIED;
    files[file.key] = {
      status: verified ? 'verified' : 'partial',
      from: verified ? file.info.size : file.saved.from,
      state: file.saved.state,
      chain: file.saved.chain,
      delivered: file.delivered,
    };
  }
  return {
    role: 'receiver',
    updated: Date.now(),
    accepted: receiver.accepted,
    manifestId: receiver.manifest?.id ?? null,
    complete,
    folder: receiver.folder,
    files,
  };
}

export const loadRoom = (room) => store.load('rooms', room);
export const saveRoom = (room, record) => store.save('rooms', room, record);

/** Remove what a room keeps in this browser: its OPFS directory and its record. */
export async function forgetRoom(room, dir) {
  await removeOpfsDir(dir);
  await store.remove('rooms', room);
}

/**
 * Writes one after the other, never two at once, and never behind: a write asked for while
 * one runs happens right after it (with the state of then).
 */
export class PersistQueue {
  /** @param {() => Promise<unknown>} write */
  constructor(write) {
    this.write = write;
    this.running = null;
    this.again = false;
  }

  schedule() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.write().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    });
  }
}
