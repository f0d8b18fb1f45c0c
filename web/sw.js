// The service worker: the app shell for offline starts, and the installed app's share target.
// Registered by js/pwa.js, in secure contexts only. The server writes `VERSION` and `SHELL` in
// front of this file (p2pshare/http/service_worker.py): the cache's version and the shell's
// [URL, ETag] pairs, so no build step lists the files and any changed file makes a new worker.
//
// What it caches: the shell (the page, style, modules, vendored code, icons, manifest,
// catalogues), under `p2pshare-shell-<VERSION>`, nothing else, ever. It never touches
// /config.json, /ws/*, /healthz, /metrics or any other path: those go to the network as if
// there were no worker. Shared files and texts (the share target's POST) are kept in this
// worker's memory until the page takes them, never in Cache Storage, never sent anywhere.
//
// Online, every shell request and navigation goes to the network first (the server's no-cache
// and ETags, as without a worker), so a new server version wins at once and a page never mixes
// two versions' files; the cache answers only when the network fails (or a proxy in front of a
// stopped server answers 5xx).
//
// Updates: no skipWaiting(). A new worker (new server version) installs its cache next to the
// old one and waits until no page uses the old worker; only then does it activate and delete
// the old cache. A page in the middle of a transfer keeps the worker (and the cache) it
// started with, so a deploy never swaps a sending page's files under it, even offline. The
// only cost: an installed app kept open keeps the old cache, which is used only offline.
// clients.claim() on activate takes the pages no worker controls yet (the very first visit),
// which are loaded from the network anyway, so that visit already works offline.
/* global VERSION, SHELL */

const CACHE_PREFIX = 'p2pshare-shell-';
const CACHE = CACHE_PREFIX + VERSION;
const SHELL_PATHS = new Set(SHELL.map(([path]) => path));
/** The app's pages (p2pshare/http/app.py's _APP_PATH): the page itself, cached as "/". */
const APP_PATH = /^\/(?:r\/[^/]*)?$/;
const SHARE_TARGET = '/share-target';
/** How long shared items wait for the page to take them. */
const SHARE_KEEP_MS = 5 * 60 * 1000;

/** Shared items by id, in memory only: {files, title, text, url, release}. */
const shares = new Map();

self.addEventListener('install', (event) => {
  event.waitUntil(fillCache());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

/** Every shell file, as the server that wrote SHELL has it (same ETag), or the install fails. */
async function fillCache() {
  const cache = await caches.open(CACHE);
  try {
    await Promise.all(
      SHELL.map(async ([path, etag]) => {
        const response = await fetch(path, { cache: 'no-cache', redirect: 'error' });
        if (!response.ok) throw new Error(`${path}: ${response.status}`);
        // Another version behind the same name (a rolling deploy): try again at the next visit.
        if (response.headers.get('etag') !== etag) throw new Error(`${path} is not the version listed`);
        await cache.put(path, response);
      }),
    );
  } catch (error) {
    await caches.delete(CACHE);
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === SHARE_TARGET) {
    takeShare(event);
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate' && APP_PATH.test(url.pathname)) {
    event.respondWith(networkFirst(request, '/'));
  } else if (!url.search && SHELL_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
  // Anything else is not ours to answer: the browser fetches it as if there were no worker.
});

/** The network's answer; the cached `key` if there is none (or a proxy says the server is down). */
async function networkFirst(request, key) {
  let response;
  try {
    response = await fetch(request);
    if (response.status < 500) return response;
  } catch (error) {
    const cached = await caches.match(key, { cacheName: CACHE });
    if (cached) return cached;
    throw error;
  }
  return (await caches.match(key, { cacheName: CACHE })) ?? response;
}

// --- the share target ----------------------------------------------------------------------

/**
 * The OS share sheet's POST (the manifest's share_target): files and texts kept here, in
 * memory, and the page opened at /?share-target=<id>, which asks for them (message below).
 * The worker stays alive (waitUntil) until they are taken or SHARE_KEEP_MS have passed.
 */
function takeShare(event) {
  let release = () => {};
  event.waitUntil(new Promise((resolve) => (release = resolve)));
  event.respondWith(
    (async () => {
      let form;
      try {
        form = await event.request.formData();
      } catch {
        release();
        return Response.redirect(new URL('/?share-target=unreadable', self.location.origin).href, 303);
      }
      const id = newId();
      const field = (name) => (typeof form.get(name) === 'string' ? form.get(name) : '');
      // A form with no file chosen still sends one empty, nameless part.
      const files = form.getAll('files').filter((item) => item instanceof File && (item.name || item.size));
      const timer = setTimeout(() => drop(id), SHARE_KEEP_MS);
      shares.set(id, {
        files,
        title: field('title'),
        text: field('text'),
        url: field('url'),
        release: () => {
          clearTimeout(timer);
          release();
        },
      });
      return Response.redirect(new URL(`/?share-target=${id}`, self.location.origin).href, 303);
    })(),
  );
}

function drop(id) {
  const share = shares.get(id);
  shares.delete(id);
  share?.release();
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The page's question: {type: 'share-target', id} with a port for the answer, given once.
self.addEventListener('message', (event) => {
  const { data } = event;
  const port = event.ports[0];
  if (data?.type !== 'share-target' || typeof data.id !== 'string' || !port) return;
  const share = shares.get(data.id);
  if (!share) {
    port.postMessage({ found: false });
    return;
  }
  const { files, title, text, url } = share;
  port.postMessage({ found: true, files, title, text, url });
  drop(data.id);
});
