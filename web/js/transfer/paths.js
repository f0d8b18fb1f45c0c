// File paths offered by a sender: what a receiver accepts before it writes anything. Pure.
//
// A path names where a file lands on the receiver's disk (a picked folder keeps the relative
// paths, a download keeps the last part), so it must mean the same, harmless thing on every
// system a receiver may run: Windows, macOS, Linux, Android. A path that could escape the
// folder, alias a device, hide a stream, look like another name on screen, or collide with
// another file of the same offer is refused with a reason a person can read.

/** Files in one offer (also the wire limit of `manifest.files`). */
export const MAX_FILES = 100000;
/** UTF-8 bytes of one path component (most file systems: 255). */
export const MAX_COMPONENT_BYTES = 255;
/** UTF-8 bytes of a whole relative path (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

export class PathError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PathError';
  }
}

// Device names Windows reserves in every folder, with or without an extension (CON, nul.txt).
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// C0 and C1 controls and DEL; bidi controls (U+202A-202E, U+2066-2069, LRM/RLM, ALM); line and
// paragraph separators; invisible formatting characters (ZWSP, WJ, BOM, soft hyphen, CGJ, ...);
// slashes and backslashes that look like path separators but are not (U+2215, U+FF0F, ...).
// ZWNJ and ZWJ are allowed between two visible characters (Persian words, emoji sequences).
const FORBIDDEN_CHARS =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\u2215\u2216\u29f8\u3164\ufeff\uff0f\uff3c\uffa0\ufff9-\ufffb]/u;
const MISPLACED_JOINER = /(?:^|\/)[\u200c\u200d]|[\u200c\u200d](?:$|\/)|[\u200c\u200d]{2}/u;
// Tag characters hide text; the one use people have is a subdivision flag (🏴 + tags + cancel).
const TAG_CHARS = /[\u{e0000}-\u{e007f}]/u;
const FLAG_SEQUENCES = /\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f}/gu;
// Characters Windows does not allow in names (the ':' also opens an NTFS stream: a.txt:x).
const WINDOWS_FORBIDDEN = /[<>:"|?*\\]/;
const FORBIDDEN_CHARS_ALL = new RegExp(FORBIDDEN_CHARS.source, 'gu');
const WINDOWS_FORBIDDEN_ALL = new RegExp(WINDOWS_FORBIDDEN.source, 'g');
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_ALL = /\p{Cs}/gu;

const utf8 = new TextEncoder();

/**
 * Why `path` is refused, or null if it is a safe relative path ("folder/a.txt").
 * @param {unknown} path
 * @returns {string|null}
 */
export function pathProblem(path) {
  if (typeof path !== 'string' || path === '') return 'an empty name';
  if (LONE_SURROGATE.test(path)) return 'a name that is not valid text';
  if (utf8.encode(path).length > MAX_PATH_BYTES) return `a path over ${MAX_PATH_BYTES} bytes`;
  const hidden = path.match(FORBIDDEN_CHARS) ?? path.match(MISPLACED_JOINER) ?? path.replace(FLAG_SEQUENCES, '').match(TAG_CHARS);
  if (hidden) {
    const char = hidden[0].replace('/', '');
    const code = char.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `an invisible, control or look-alike character (U+${code}) in a name`;
  }
  if (path.startsWith('/')) return 'an absolute path';
  if (/^[a-z]:/i.test(path)) return 'a drive letter';
  for (const part of path.split('/')) {
    if (part === '') return 'an empty folder name';
    if (part === '.' || part === '..') return `a "${part}" component`;
    if (WINDOWS_FORBIDDEN.test(part)) return `a character Windows does not allow (${part.match(WINDOWS_FORBIDDEN)[0]})`;
    if (/[. ]$/.test(part)) return 'a name that ends in a dot or a space';
    if (WINDOWS_RESERVED.test(part)) return `a device name Windows reserves (${part.split('.')[0]})`;
    if (utf8.encode(part).length > MAX_COMPONENT_BYTES) return `a name over ${MAX_COMPONENT_BYTES} bytes`;
  }
  return null;
}

/**
 * The key two paths collide under on a case-insensitive, normalising file system (Windows,
 * macOS): "Photo.JPG" and "photo.jpg", or "é" composed and decomposed.
 * @param {string} path
 */
export function collisionKey(path) {
  return path.normalize('NFC').toLowerCase();
}

/**
 * Check the paths of a whole offer: each is safe, none collides with another, and no file
 * is also a folder of another ("a" and "a/b").
 * @param {{path: string}[]} files
 * @throws {PathError} naming the first offending path
 */
export function checkOfferPaths(files) {
  if (files.length > MAX_FILES) throw new PathError(`more than ${MAX_FILES.toLocaleString('en')} files`);
  const seen = new Map();
  for (const { path } of files) {
    const problem = pathProblem(path);
    if (problem) throw new PathError(`${describe(path)} has ${problem}`);
    const key = collisionKey(path);
    if (seen.has(key)) throw new PathError(`${describe(path)} is offered twice (as ${describe(seen.get(key))})`);
    seen.set(key, path);
  }
  for (const [key, path] of seen) {
    const parts = key.split('/');
    for (let n = 1; n < parts.length; n++) {
      const folder = parts.slice(0, n).join('/');
      if (seen.has(folder)) throw new PathError(`${describe(seen.get(folder))} is both a file and the folder of ${describe(path)}`);
    }
  }
}

/** A path quoted for an error message: shortened, and safe to show even when it is not. */
function describe(path) {
  const text = typeof path === 'string' ? path : String(path);
  const shown = text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-30)}` : text;
  return JSON.stringify(shown.replace(FORBIDDEN_CHARS_ALL, '\uFFFD'));
}

/**
 * The sender's side: the nearest path every receiver accepts, for a file chosen on a system
 * that allows more (a Linux "aux.c", a macOS "a:b", a name with a zero-width space).
 * Invisible characters go, forbidden ones become "_", reserved and dot- or space-ending
 * names get a "_", long names are cut (keeping the extension). Collisions are the caller's
 * (it numbers them: see `collisionKey`).
 * @param {string} path
 */
export function portablePath(path) {
  const parts = String(path)
    .replace(LONE_SURROGATE_ALL, '')
    .replace(FORBIDDEN_CHARS_ALL, '')
    .replace(/[\u{e0000}-\u{e007f}]/gu, (tag, at, text) => (pathProblem(text) === null ? tag : ''))
    .split('/')
    .map((part) => part.replace(/^[\u200c\u200d]+|[\u200c\u200d]+$/gu, '').replace(/[\u200c\u200d]{2,}/gu, '\u200d'))
    .filter((part) => part !== '' && part !== '.' && part !== '..')
    .map((part) => {
      let name = part.replace(WINDOWS_FORBIDDEN_ALL, '_');
      if (/^[a-z]:/i.test(name)) name = `_${name}`;
      if (/[. ]$/.test(name)) name = `${name}_`;
      if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
      return truncateName(name);
    });
  const joined = parts.length ? parts.join('/') : 'file';
  return utf8.encode(joined).length > MAX_PATH_BYTES ? truncateName(parts.at(-1) ?? 'file') : joined;
}

/** `name` cut to MAX_COMPONENT_BYTES of UTF-8, keeping a short extension. */
function truncateName(name) {
  if (utf8.encode(name).length <= MAX_COMPONENT_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = [...name.slice(0, name.length - ext.length)];
  while (utf8.encode(stem.join('') + '…' + ext).length > MAX_COMPONENT_BYTES) stem.pop();
  return `${stem.join('')}…${ext}`;
}

/**
 * Paths for a batch of chosen files that every receiver accepts as one offer: each made
 * portable, then numbered ("a (2).txt") where it would collide with another (case and Unicode
 * form aside) or with a folder, or with one of `taken` (the paths already offered).
 * @param {string[]} paths @param {string[]} [taken]
 * @returns {string[]} in the same order
 */
export function portableUniquePaths(paths, taken = []) {
  const used = new Set(taken.map(collisionKey));
  const folders = new Set();
  const addFolders = (path) => {
    const parts = collisionKey(path).split('/');
    for (let n = 1; n < parts.length; n++) folders.add(parts.slice(0, n).join('/'));
  };
  taken.forEach(addFolders);
  const portable = paths.map(portablePath);
  portable.forEach(addFolders);
  const clashes = (path) => {
    const key = collisionKey(path);
    if (used.has(key) || folders.has(key)) return true;
    const parts = key.split('/');
    return parts.slice(1).some((_, n) => used.has(parts.slice(0, n + 1).join('/')));
  };
  /** A folder of `path` that is a file already offered gets a number itself ("dir (2)/x"). */
  const freeFolders = (path) => {
    const parts = path.split('/');
    for (let k = 0; k < parts.length - 1; k++) {
      if (!used.has(collisionKey(parts.slice(0, k + 1).join('/')))) continue;
      const name = parts[k];
      for (let m = 2; used.has(collisionKey([...parts.slice(0, k), parts[k]].join('/'))); m++) parts[k] = `${name} (${m})`;
    }
    return parts.join('/');
  };
  return portable.map((chosen) => {
    const base = freeFolders(chosen);
    let path = base;
    for (let n = 2; clashes(path); n++) {
      const slash = base.lastIndexOf('/') + 1;
      const dot = base.lastIndexOf('.');
      path = dot > slash ? `${base.slice(0, dot)} (${n})${base.slice(dot)}` : `${base} (${n})`;
    }
    used.add(collisionKey(path));
    addFolders(path);
    return path;
  });
}
