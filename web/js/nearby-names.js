// This device's name among nearby devices: a friendly random one ("Amber Otter") until its
// user picks another, kept in localStorage. Pure but for the storage handed in.

import { NEARBY } from './protocol.js';

/** The server's limit on a name, in UTF-16 units (p2pshare/signaling/nearby_messages.py). */
export const MAX_NAME_CHARS = NEARBY.MAX_NAME_UNITS;

const ADJECTIVES = [
  'Amber', 'Azure', 'Brave', 'Bright', 'Calm', 'Clever', 'Coral', 'Cosy', 'Crimson', 'Dapper',
  'Eager', 'Gentle', 'Golden', 'Happy', 'Jolly', 'Keen', 'Lively', 'Lucky', 'Mellow', 'Misty',
  'Nimble', 'Olive', 'Plucky', 'Quiet', 'Rosy', 'Rusty', 'Silver', 'Sunny', 'Swift', 'Teal',
  'Tidy', 'Witty',
];
const ANIMALS = [
  'Badger', 'Beaver', 'Bison', 'Crane', 'Dolphin', 'Falcon', 'Ferret', 'Finch', 'Fox', 'Gecko',
  'Heron', 'Ibex', 'Koala', 'Lemur', 'Lynx', 'Marten', 'Moose', 'Newt', 'Ocelot', 'Otter',
  'Owl', 'Panda', 'Puffin', 'Quokka', 'Raven', 'Robin', 'Seal', 'Stoat', 'Swan', 'Tapir',
  'Walrus', 'Wombat',
];

/** @param {() => number} random in [0, 1) */
export function randomName(random = Math.random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
}

/**
 * A name as the server takes it: trimmed, inner runs of space made one, control and format
 * characters (bidi overrides among them) dropped, at most MAX_NAME_CHARS. '' if nothing is left.
 */
export function cleanName(text) {
  const cleaned = String(text)
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
  let out = '';
  for (const char of cleaned) {
    if (out.length + char.length > MAX_NAME_CHARS) break;
    out += char;
  }
  return out.trim();
}

const NAME_KEY = 'p2pshare.nearby-name';
const VISIBLE_KEY = 'p2pshare.nearby-visible';
const CONFIRM_KEY = 'p2pshare.nearby-confirm';

/** This device's nearby settings, remembered in `storage` (localStorage). */
export class NearbySettings {
  /** @param {Storage} storage */
  constructor(storage, random = Math.random) {
    this.storage = storage;
    this.random = random;
  }

  get name() {
    const kept = cleanName(this.storage.getItem(NAME_KEY) ?? '');
    if (kept) return kept;
    const name = randomName(this.random);
    this.storage.setItem(NAME_KEY, name);
    return name;
  }

  /** @returns {string} the name kept ('' given: a new random one) */
  setName(text) {
    const name = cleanName(text) || randomName(this.random);
    this.storage.setItem(NAME_KEY, name);
    return name;
  }

  /**
   * Visible to nearby devices: only once this device's user turned it on (then remembered).
   * Browsers do not tell a page it is in a private window; one starts with nothing kept, so
   * it is never announced to the network unless its user asks there too.
   */
  visible() {
    return this.storage.getItem(VISIBLE_KEY) === '1';
  }

  setVisible(on) {
    this.storage.setItem(VISIBLE_KEY, on ? '1' : '0');
  }

  /** Whether the link waits for this user to confirm the code after the other side accepts. */
  get confirmCode() {
    return this.storage.getItem(CONFIRM_KEY) === '1';
  }

  setConfirmCode(on) {
    this.storage.setItem(CONFIRM_KEY, on ? '1' : '0');
  }
}
