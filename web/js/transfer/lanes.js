// Lanes: extra peer connections from the sender to one receiver, each with its own SCTP
// congestion window, which is what holds a single data channel back on a long link
// (docs/protocol.md, Lanes). Pure: the shell (web/js/lanes.js) samples the first lane's
// round-trip time and the acknowledged bytes once a tick and carries out what `tick` says;
// no connections, no timers here (the clock is an argument).
//
// The policy: one lane while the round trip is short (loopback, a LAN: extra lanes would
// only cost CPU) or little is left to send. On a long link it steps up to LANE_STEPS lanes
// (1, 4, then the receiver's limit), measures the throughput for PROBE_MS once they are
// open, and keeps them if the throughput grew by MIN_GAIN, then takes the next step; the
// lanes of a step that did not help are closed again (drained first: no block is sent twice)
// and no more are tried in this plan. Big steps, not one lane at a time: every step costs
// PROBE_MS plus a connection set-up, and a transfer should not spend itself probing (at
// 40 ms, one lane moved about 2 MB/s here, four about 7 and six about 9: see
// docs/benchmarks.md, WAN).

import { MAX_LANES } from '../wire.js';
import { HIGH_WATER_BYTES } from './send-session.js';

/**
 * Round trips shorter than this are a LAN or loopback: one lane. The shell passes the least
 * round trip seen on the first lane: a busy CPU or a full queue makes samples longer, never
 * shorter (on an emulated 0 ms link under load one sample said 10 ms and 4 lanes opened).
 */
export const LONG_RTT_MS = 10;
/** Throughput is measured over this long, with the lanes unchanged. */
export const PROBE_MS = 1500;
/** The lane counts a long link steps through (capped by what the receiver takes). */
export const LANE_STEPS = Object.freeze([1, 4, MAX_LANES]);
/** A new lane stays only if the throughput grew by this factor. */
export const MIN_GAIN = 1.15;
/** Below this much left to send, no lane is added (opening one costs round trips). */
export const MIN_REMAINING_BYTES = 16 << 20;

/** @enum {string} */
export const LaneAction = Object.freeze({ NONE: 'none', ADD: 'add', REMOVE: 'remove' });

/**
 * @typedef {{action: string, lanes: number}} LaneStep  what to do, and to how many lanes
 *   (NONE: 0; ADD: open that many more; REMOVE: drain and close that many)
 */

/**
 * @typedef {{n: number, bufferedBytes: number}} LaneLoad  an open lane and what its channel buffers
 * @typedef {{nowMs: number, ackedBytes: number, rttMs: number|null, lanesOpen: number,
 *   lanesOpening: number, remainingBytes: number}} LaneSample
 */

/**
 * The lane for the next block of a file: the least buffered one under the high-water mark;
 * only the first (n = 0) until the receiver acknowledged a block of the file in this plan
 * (its `start`, sent on the first lane, is then known to be in); null when none may take it.
 * @param {LaneLoad[]} lanes @param {boolean} extraAllowed
 */
export function chooseLane(lanes, extraAllowed) {
  let best = null;
  for (const lane of lanes) {
    if (lane.bufferedBytes > HIGH_WATER_BYTES || (!extraAllowed && lane.n !== 0)) continue;
    if (!best || lane.bufferedBytes < best.bufferedBytes) best = lane;
  }
  return best ? best.n : null;
}

export class LanePolicy {
  /** @param {number} maxLanes what the receiver takes (its want's `lanes`) @param {number} nowMs */
  constructor(maxLanes, nowMs) {
    this.maxLanes = Math.max(1, Math.min(MAX_LANES, maxLanes));
    /** bytes per second with the lanes before the latest one was added (0: not measured yet) */
    this.bestRate = 0;
    /** no more lanes in this plan: one did not help, or the limit is reached */
    this.settled = this.maxLanes === 1;
    this.windowStartMs = nowMs;
    this.windowStartBytes = 0;
    this.windowLanes = 1;
    /** the lanes open before the latest step */
    this.lanesBefore = 1;
  }

  /** @param {LaneSample} sample @returns {LaneStep} */
  tick({ nowMs, ackedBytes, rttMs, lanesOpen, lanesOpening, remainingBytes }) {
    const none = { action: LaneAction.NONE, lanes: 0 };
    if (lanesOpening > 0 || lanesOpen !== this.windowLanes) {
      this.restartWindow(nowMs, ackedBytes, lanesOpen); // measure only with the lanes settled
      return none;
    }
    const elapsedMs = nowMs - this.windowStartMs;
    if (elapsedMs < PROBE_MS) return none;
    const rate = ((ackedBytes - this.windowStartBytes) * 1000) / elapsedMs;
    this.restartWindow(nowMs, ackedBytes, lanesOpen);
    if (this.settled) return none;
    const worthIt = rttMs !== null && rttMs >= LONG_RTT_MS && remainingBytes >= MIN_REMAINING_BYTES;
    const stepUp = () => {
      this.lanesBefore = lanesOpen; // what a step that does not help goes back to
      const next = LANE_STEPS.find((n) => n > lanesOpen) ?? this.maxLanes;
      return { action: LaneAction.ADD, lanes: Math.min(next, this.maxLanes) - lanesOpen };
    };
    if (lanesOpen === 1) {
      this.bestRate = rate;
      return worthIt ? stepUp() : none; // a short link now may be long later
    }
    if (rate < this.bestRate * MIN_GAIN) {
      this.settled = true;
      return { action: LaneAction.REMOVE, lanes: lanesOpen - this.lanesBefore };
    }
    this.bestRate = rate;
    if (lanesOpen >= this.maxLanes) {
      this.settled = true;
      return none;
    }
    return worthIt ? stepUp() : none;
  }

  restartWindow(nowMs, ackedBytes, lanes) {
    this.windowStartMs = nowMs;
    this.windowStartBytes = ackedBytes;
    this.windowLanes = lanes;
  }
}
