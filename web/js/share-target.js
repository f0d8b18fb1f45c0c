// What the installed app's share target brought (web/sw.js keeps it; pwa.js takes it), pure:
// the id in the page's URL, and the shared title, text and URL folded into one text item.

/** `?share-target=<id>`: the worker's id (22 base64url characters), a server's word, or none. */
const SHARE_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * What `?share-target=...` in `search` (location.search) asks for.
 * @returns {{kind: 'none'} | {kind: 'take', id: string} | {kind: 'unavailable' | 'unreadable'}}
 */
export function shareTargetRequest(search) {
  const value = new URLSearchParams(search).get('share-target');
  if (value === null) return { kind: 'none' };
  if (SHARE_ID.test(value)) return { kind: 'take', id: value };
  // The server's redirect (no worker took the POST), or the worker could not read the form.
  return { kind: value === 'unreadable' ? 'unreadable' : 'unavailable' };
}

/**
 * One text from the share sheet's fields: title, text and URL, each on its own line, in that
 * order, leaving out empty ones and any that another one contains (apps often put the URL in
 * the text too, or repeat the title in it). '' when there is nothing.
 * @param {{title?: string, text?: string, url?: string}} fields
 */
export function sharedText({ title = '', text = '', url = '' }) {
  let lines = [];
  for (const part of [title, text, url].map((value) => value.trim())) {
    if (!part || lines.some((line) => line.includes(part))) continue;
    lines = lines.filter((line) => !part.includes(line));
    lines.push(part);
  }
  return lines.join('\n');
}
