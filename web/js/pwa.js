// The installable app on the page: the service worker's registration (web/sw.js, secure
// contexts only), the share target's items taken from the worker (share-target.js: which id,
// what text), and the "Share link" button (navigator.share, where the browser has it).

import { msg } from './i18n.js';
import { $ } from './page.js';
import { sharedText, shareTargetRequest } from './share-target.js';
import { textFile, textName, textProblem } from './text-items.js';
import * as ui from './ui.js';

/** The catalogue's messages this module shows, by what went wrong. */
const TEXT = {
  unavailable: msg('pwa.unavailable'),
  unreadable: msg('pwa.unreadable'),
  gone: msg('pwa.gone'),
  empty: msg('pwa.empty'),
};
/** How long the page waits for the worker's answer. */
const ASK_TIMEOUT_MS = 5000;

/** Register /sw.js where browsers allow service workers; a failure is logged, nothing more. */
export function registerWorker() {
  // Plain http on a network address is no secure context: no navigator.serviceWorker there.
  if (!globalThis.isSecureContext || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker
    .register('/sw.js', { scope: '/', updateViaCache: 'none' })
    .catch((error) => console.warn('p2pshare: the service worker was not registered:', error));
}

/** Ask the worker that opened this page for share `id` (once: it forgets it as it answers). */
async function askWorker(id) {
  const container = navigator.serviceWorker;
  if (!container) return { found: false };
  const worker = container.controller ?? (await container.getRegistration('/'))?.active;
  if (!worker) return { found: false };
  const channel = new MessageChannel();
  const answer = new Promise((resolve, reject) => {
    channel.port1.onmessage = (event) => resolve(event.data);
    setTimeout(() => reject(new Error('the service worker did not answer')), ASK_TIMEOUT_MS);
  });
  worker.postMessage({ type: 'share-target', id }, [channel.port2]);
  return answer;
}

/**
 * The files (and the text, as a text item) the share sheet brought to this page, if it was
 * opened by the share target (/?share-target=<id>); [] otherwise. The query is dropped once
 * asked, so a reload does not ask again.
 * @returns {Promise<File[]>}
 */
export async function sharedItems() {
  const request = shareTargetRequest(location.search);
  if (request.kind === 'none') return [];
  const forget = () => history.replaceState(history.state, '', location.pathname + location.hash);
  if (request.kind !== 'take') {
    forget();
    ui.notice('warning', TEXT[request.kind], { key: 'share-target' });
    return [];
  }
  let answer;
  try {
    answer = await askWorker(request.id);
  } catch (error) {
    console.warn('p2pshare:', error);
    answer = { found: false };
  }
  forget();
  if (!answer?.found) {
    ui.notice('warning', TEXT.gone, { key: 'share-target' });
    return [];
  }
  const items = (answer.files ?? []).filter((file) => file instanceof File);
  const text = sharedText({ title: answer.title, text: answer.text, url: answer.url });
  if (text) {
    const problem = textProblem(text);
    if (problem) ui.notice('warning', problem.message, { key: 'share-target-text' });
    else items.push(textFile(text, { name: textName(items.map((file) => file.name)) }));
  }
  if (!items.length) ui.notice('warning', TEXT.empty, { key: 'share-target' });
  return items;
}

/**
 * The "Share link" button beside "Copy link": the system's share sheet with the link, shown
 * only where navigator.share exists. Cancelling the sheet (AbortError) says nothing.
 * @param {EventTarget} sharing share-page.js's `sharing` ('started' with the link's path)
 */
export function wireShareLink(sharing) {
  if (typeof navigator.share !== 'function') return;
  const button = $('share-native');
  let link = '';
  sharing.addEventListener('started', (event) => {
    link = location.origin + /** @type {CustomEvent} */ (event).detail.path;
    button.hidden = navigator.canShare ? !navigator.canShare({ url: link }) : false;
  });
  button.addEventListener('click', async () => {
    try {
      await navigator.share({ url: link });
    } catch (error) {
      if (error?.name === 'AbortError') return;
      ui.notice('error', msg('pwa.shareFailed', { reason: error?.message ?? String(error) }), { key: 'share-link' });
    }
  });
}
