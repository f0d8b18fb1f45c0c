// The signaling wire contract (docs/protocol.md, section 1) on the browser's side. Pure.
//
// One home for what the server and the page share: message types, close codes, error codes
// and roles. tests/web/test_protocol_js.py compares every one with p2pshare/signaling/
// messages.py (the near-* ones with nearby_messages.py), and feeds the same examples and hostile frames to both decoders, so the two
// cannot drift. Frames from the server are validated as strictly as the server validates
// ours (msgspec Structs with forbid_unknown_fields): a frame that is not exactly a server
// message is refused. A nearby group's connection (/ws/nearby.<group>) has frames of its
// own, near-*, decoded by parseNearbyFrame (docs/protocol.md, "Nearby").

export const SIGNALING_VERSION = 1;

/** WebSocket close codes (CloseCode). */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  REPLACED: 4001,
  HEARTBEAT_TIMEOUT: 4002,
  ROOM_FULL: 4003,
  BAD_ROOM: 4004,
  TOO_MANY_CONNECTIONS: 4005,
  RATE_LIMITED: 4006,
  SLOW_CONSUMER: 4007,
  PROTOCOL_ERROR: 4008,
  ROLE_REFUSED: 4009,
  TOO_MANY_ROOMS: 4010,
  DRAINING: 4011,
  ADMISSION_REFUSED: 4012,
  NEARBY_MISMATCH: 4013,
});

/** `code` of an `error` frame (ErrorCode). */
export const ERROR = Object.freeze({
  BAD_MESSAGE: 'bad-message',
  TOO_BIG: 'too-big',
  RATE_LIMITED: 'rate-limited',
  JOIN_FIRST: 'join-first',
  ALREADY_JOINED: 'already-joined',
  JOIN_TIMEOUT: 'join-timeout',
  UNKNOWN_PEER: 'unknown-peer',
  NOT_ALLOWED: 'not-allowed',
  ROOM_FULL: 'room-full',
  BAD_ROOM: 'bad-room',
  TOO_MANY_CONNECTIONS: 'too-many-connections',
  TOO_MANY_ROOMS: 'too-many-rooms',
  ROLE_REFUSED: 'role-refused',
  SLOW_CONSUMER: 'slow-consumer',
  HEARTBEAT_TIMEOUT: 'heartbeat-timeout',
  REPLACED: 'replaced',
  DRAINING: 'draining',
  SHUTTING_DOWN: 'shutting-down',
  ADMISSION_REFUSED: 'admission-refused',
  GROUP_FULL: 'group-full',
  NEARBY_MISMATCH: 'nearby-mismatch',
});

/** Role. */
export const ROLE = Object.freeze({ SENDER: 'sender', RECEIVER: 'receiver' });

export const CLIENT_TYPES = Object.freeze(['join', 'relay', 'ping', 'pong']);
export const SERVER_TYPES = Object.freeze(['welcome', 'peer-joined', 'peer-left', 'relay', 'ping', 'pong', 'error']);

export const NEARBY_CLIENT_TYPES = Object.freeze(['near-join', 'near-name', 'near-relay', 'ping', 'pong']);
export const NEARBY_SERVER_TYPES = Object.freeze(['near-welcome', 'near-peer', 'near-left', 'near-relayed', 'ping', 'pong', 'error']);

/**
 * Nearby groups' limits (nearby_messages.py's NEARBY_*): a name is 1..MAX_NAME_UNITS UTF-16 units once
 * trimmed, a device text 0..MAX_NAME_UNITS; a near-relay's data 1..MAX_DATA_CHARS.
 */
export const NEARBY = Object.freeze({
  PATH_PREFIX: 'nearby.',
  MAX_NAME_UNITS: 48,
  MAX_DATA_CHARS: 8192,
  MAX_PEERS_LISTED: 64,
});

/** Longest sealed payload (Payload's max_length). */
export const MAX_PAYLOAD_CHARS = 65536;
const MAX_PEERS = 1024; // a room holds 1 sender + max_receivers (16 by default); generous bound
const MAX_SID = 2 ** 53 - 1;
const ROLES = new Set(Object.values(ROLE));
const ERRORS = new Set(Object.values(ERROR));

export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const isString = (v, max = 1024) => typeof v === 'string' && v.length <= max;
const isPeer = (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
const isInt = (v, min, max) => Number.isInteger(v) && v >= min && v <= max;

/** Fields a server message may leave out (msgspec defaults): message type -> names. */
const OPTIONAL_FIELDS = { welcome: ['turn'] };

/** Field name -> check, per server message type; every field required (but OPTIONAL_FIELDS), no others allowed. */
const SERVER_FIELDS = {
  welcome: {
    v: (v) => isInt(v, 0, 2 ** 31),
    room: (v) => isString(v, 64),
    peer: isPeer,
    role: (v) => ROLES.has(v),
    peers: (v) =>
      Array.isArray(v) &&
      v.length <= MAX_PEERS &&
      v.every((p) => p && typeof p === 'object' && exactKeys(p, ['peer', 'role']) && isPeer(p.peer) && ROLES.has(p.role)),
    heartbeat_s: (v) => typeof v === 'number' && v > 0 && v <= 3600,
    max_frame_bytes: (v) => isInt(v, 1, 2 ** 31),
    turn: (v) => Array.isArray(v) && v.length <= 8 && v.every(isTurnServer),
  },
  'peer-joined': { peer: isPeer, role: (v) => ROLES.has(v) },
  'peer-left': { peer: isPeer, reason: (v) => v === 'left' || v === 'lost' },
  relay: { from: isPeer, sid: (v) => isInt(v, 0, MAX_SID), data: (v) => isString(v, MAX_PAYLOAD_CHARS) && v.length > 0 },
  error: { code: (v) => ERRORS.has(v), message: (v) => isString(v, 4096) },
  ping: {},
  pong: {},
};

/** An RTCIceServer of `welcome.turn`: TURN URLs and time-limited credentials. */
function isTurnServer(s) {
  return (
    s &&
    typeof s === 'object' &&
    exactKeys(s, ['urls', 'username', 'credential']) &&
    Array.isArray(s.urls) &&
    s.urls.length >= 1 &&
    s.urls.length <= 16 &&
    s.urls.every((url) => isString(url, 512) && /^turns?:/.test(url)) &&
    isString(s.username, 256) &&
    isString(s.credential, 256)
  );
}

function exactKeys(object, keys) {
  const own = Object.keys(object);
  return own.length === keys.length && own.every((k) => keys.includes(k));
}

/**
 * Decode and validate one frame from the server.
 * @param {string} text
 * @returns {{type: string} & Record<string, any>}
 * @throws {ProtocolError} naming what is wrong
 */
export function parseServerFrame(text) {
  return parseFrame(text, SERVER_FIELDS);
}

// --- nearby groups (docs/protocol.md, "Nearby") ----------------------------------------------

// Refused anywhere in a name or device text, as by the server: controls, format characters
// (bidi overrides and isolates, LRM/RLM, zero-width, BOM...), line and paragraph separators,
// lone surrogates.
const REFUSED_IN_NEARBY_TEXT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const isNearbyText = (v, minUnits) =>
  typeof v === 'string' &&
  v.length >= minUnits &&
  v.length <= NEARBY.MAX_NAME_UNITS &&
  v === v.trim() &&
  !REFUSED_IN_NEARBY_TEXT.test(v);

/**
 * A device name as the server takes it (after trimming: trim first) and shows it to others.
 * @param {unknown} v
 * @returns {boolean}
 */
export const isNearbyName = (v) => isNearbyText(v, 1);
/**
 * A device text ("Chrome on Linux", may be empty), trimmed.
 * @param {unknown} v
 * @returns {boolean}
 */
export const isNearbyDevice = (v) => isNearbyText(v, 0);
const isNearPeer = (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{16}$/.test(v);
const isNearPeerInfo = (p) =>
  p && typeof p === 'object' && !Array.isArray(p) && exactKeys(p, ['id', 'name', 'device']) && isNearPeer(p.id) && isNearbyName(p.name) && isNearbyDevice(p.device);

const NEARBY_FIELDS = {
  'near-welcome': {
    you: isNearPeer,
    peers: (v) => Array.isArray(v) && v.length <= NEARBY.MAX_PEERS_LISTED && v.every(isNearPeerInfo),
  },
  'near-peer': { id: isNearPeer, name: isNearbyName, device: isNearbyDevice },
  'near-left': { id: isNearPeer },
  'near-relayed': { from: isNearPeer, data: (v) => isString(v, NEARBY.MAX_DATA_CHARS) && v.length > 0 },
  error: SERVER_FIELDS.error,
  ping: {},
  pong: {},
};

/**
 * Decode and validate one frame from the server on a nearby group's connection.
 * @param {string} text
 * @returns {{type: string} & Record<string, any>}
 * @throws {ProtocolError} naming what is wrong
 */
export function parseNearbyFrame(text) {
  return parseFrame(text, NEARBY_FIELDS);
}

function parseFrame(text, table) {
  if (typeof text !== 'string') throw new ProtocolError('a binary frame');
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ProtocolError('not JSON');
  }
  if (!message || typeof message !== 'object' || Array.isArray(message)) throw new ProtocolError('not an object');
  const fields = typeof message.type === 'string' && Object.hasOwn(table, message.type) ? table[message.type] : null;
  if (!fields) throw new ProtocolError(`unknown type ${typeof message.type === 'string' ? JSON.stringify(message.type).slice(0, 40) : typeof message.type}`);
  for (const key of Object.keys(message)) {
    if (key !== 'type' && !Object.hasOwn(fields, key)) throw new ProtocolError(`${message.type}: unknown field ${key.slice(0, 40)}`);
  }
  for (const [key, check] of Object.entries(fields)) {
    if (!Object.hasOwn(message, key) && OPTIONAL_FIELDS[message.type]?.includes(key)) continue;
    if (!Object.hasOwn(message, key) || !check(message[key])) throw new ProtocolError(`${message.type}: bad or missing ${key}`);
  }
  return message;
}

// --- sealed bodies (docs/protocol.md, section 2) ---------------------------------------------
// What a peer of the room puts inside a sealed envelope. The seal proves it holds the link's
// secret, not that it follows the protocol: its bodies are checked like any frame.

/** Longest SDP accepted (a sealed payload is at most MAX_PAYLOAD_CHARS of base64). */
export const MAX_SDP_CHARS = 49152;
const isBool = (v) => v === true || v === false;
const optional = (check) => Object.assign((v) => check(v), { optional: true });
const isNullable = (check) => (v) => v === null || check(v);
const CANDIDATE_FIELDS = {
  candidate: (v) => isString(v, 1024),
  sdpMid: isNullable((v) => isString(v, 64)),
  sdpMLineIndex: isNullable((v) => isInt(v, 0, 1024)),
  usernameFragment: isNullable((v) => isString(v, 256)),
};
const isCandidate = (v) =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.entries(v).every(([key, value]) => Object.hasOwn(CANDIDATE_FIELDS, key) && CANDIDATE_FIELDS[key](value));

const SEALED_FIELDS = {
  hello: { role: optional((v) => v === ROLE.SENDER), live: optional(isBool), device: optional((v) => isString(v, 200)) },
  offer: { sdp: (v) => isString(v, MAX_SDP_CHARS), fresh: optional(isBool), re: optional((v) => isInt(v, 0, MAX_SID)) },
  answer: { sdp: (v) => isString(v, MAX_SDP_CHARS) },
  cand: { c: isNullable(isCandidate) },
  restart: { fresh: optional(isBool) },
  bye: { reason: optional((v) => isString(v, 64)) },
  alarm: {},
};
export const SEALED_KINDS = Object.freeze(Object.keys(SEALED_FIELDS));

/**
 * Validate an opened sealed body.
 * @param {unknown} body
 * @returns {{k: string} & Record<string, any>}
 * @throws {ProtocolError}
 */
export function parseSealedBody(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ProtocolError('a sealed body that is not an object');
  // `k` is checked to be a string first: an object there ({"toString": 1}) would throw a
  // TypeError from hasOwn, not a ProtocolError, and stall whoever awaits this.
  const fields = typeof body.k === 'string' && Object.hasOwn(SEALED_FIELDS, body.k) ? SEALED_FIELDS[body.k] : null;
  if (!fields) throw new ProtocolError(`unknown sealed kind ${typeof body.k === 'string' ? JSON.stringify(body.k).slice(0, 40) : typeof body.k}`);
  for (const key of Object.keys(body)) {
    if (key !== 'k' && !Object.hasOwn(fields, key)) throw new ProtocolError(`${body.k}: unknown field ${key.slice(0, 40)}`);
  }
  for (const [key, check] of Object.entries(fields)) {
    const present = Object.hasOwn(body, key) && body[key] !== undefined;
    if (present ? !check(body[key]) : !check.optional) throw new ProtocolError(`${body.k}: bad or missing ${key}`);
  }
  return body;
}
