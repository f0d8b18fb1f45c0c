// The nearby group's socket, /ws/nearby.<group>: the signaling client's reconnects, backoff
// and heartbeat (signaling.js), with nearby's join and frames (docs/protocol.md: Nearby).

import { CLOSE, parseNearbyFrame } from './protocol.js';
import { SignalingClient } from './signaling.js';

/** The group's socket: the signaling client's reconnects and heartbeat, nearby's frames. */
export class NearbySocket extends SignalingClient {
  constructor({ url, cid, profile, heartbeatS }) {
    super({ url, cid });
    this.profile = profile;
    this.welcomeType = 'near-welcome';
    this.nearbyHeartbeatS = heartbeatS;
    // A mismatch means our address moved to another group: the page fetches its group again.
    this.fatalCloses = new Set([...this.fatalCloses, CLOSE.NEARBY_MISMATCH]);
  }

  joinFrame() {
    return { type: 'near-join', v: 1, cid: this.cid, name: this.profile.name, device: this.profile.device };
  }

  parseFrame(text) {
    return parseNearbyFrame(text);
  }

  checkWelcome() {
    return { problem: null, heartbeatS: this.nearbyHeartbeatS };
  }
}

export function nearbyUrl(location, group) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/nearby.${group}`;
}
