// Nearby devices on the page: the panel (this device's name, visibility, the devices here),
// offers made from the home view (devices chosen first, then files or text) or from a running
// share (tap a device), and an accepted offer opened as the share it links to.

import { NearbyController } from './nearby.js';
import { NearbySocket, nearbyUrl } from './nearby-socket.js';
import { NearbySettings, cleanName } from './nearby-names.js';
import { localize, msg, onLanguageChange } from './i18n.js';
import { $, clientId, deviceLabel, deviceName } from './page.js';
import { runReceiver } from './receive-page.js';
import { sharing } from './share-page.js';
import { CLOSE } from './protocol.js';
import { linkOf } from './nearby-wire.js';
import * as ui from './ui.js';
import { renderNearby, renderPrompts } from './ui-nearby.js';

/**
 * @param {any} config /config.json (its `nearby.group`: this network's group, or null: off)
 * @param {{page: 'home'|'share'|'receive'}} where the page is now
 */
export function startNearby(config, where) {
  if (!config.nearby?.group) return null;
  const settings = new NearbySettings(localStorage);
  let group = config.nearby.group;
  const nearby = new NearbyController({
    profile: { name: settings.name, device: deviceName() },
    connect: (profile) =>
      new NearbySocket({ url: nearbyUrl(location, group), cid: clientId(), profile, heartbeatS: config.heartbeatS }),
  });
  globalThis.p2pshareNearby = nearby; // debugging only, as globalThis.p2pshare (not a contract)
  const view = {
    mode: where.page === 'share' ? 'share' : 'home',
    selected: new Set(),
    /** @type {null | {path: string, items: () => any[], stopped: () => boolean}} */
    share: null,
    onDevice: (id) => {
      if (view.mode === 'home') {
        if (!view.selected.delete(id)) view.selected.add(id);
        render();
      } else offerTo(id);
    },
    onConfirm: (o) => nearby.confirmOffer(o),
    onCancel: (o) => nearby.cancelOffer(o),
  };
  const offerTo = (id) => {
    const share = view.share;
    if (!share || share.stopped()) return;
    const [latest] = nearby.offersTo(id);
    if (latest?.offer.open) return; // one offer at a time to a device
    nearby.offer(id, () => ({ path: share.path, items: share.items() }), { confirmCode: settings.confirmCode });
  };

  let scheduled = false;
  const render = () => {
    scheduled = false;
    // One panel, in the view it serves: under the text box at home, under the link when sharing.
    const section = $('nearby');
    const anchor = view.mode === 'home' ? $('text-box') : document.querySelector('#view-share .share-box');
    if (anchor && anchor.nextElementSibling !== section && where.page !== 'receive') anchor.after(section);
    section.hidden = where.page === 'receive';
    renderNearby(nearby, view);
    renderPrompts(nearby);
  };
  nearby.addEventListener('change', () => {
    if (!scheduled) setTimeout(render, 30);
    scheduled = true;
  });
  onLanguageChange(render);
  nearby.addEventListener('problem', (event) => ui.notice('error', event.detail.text, { key: `nearby-problem-${event.detail.peer}` }));
  /** Times our group was refused lately: a server that keeps refusing is not asked for ever. */
  const mismatches = [];
  nearby.addEventListener('fatal', async (event) => {
    if (event.detail.code !== CLOSE.NEARBY_MISMATCH) {
      ui.notice('warning', msg('nearby.unavailable', { reason: event.detail.reason || String(event.detail.code) }), { key: 'nearby' });
      return;
    }
    // Our address moved to another network (another Wi-Fi, mobile data): ask which group now.
    // The page and its socket may also reach the server by different addresses (IPv6 and
    // IPv4): then it never matches, so after three refusals in a minute it stops, and says so.
    nearby.hide();
    const now = Date.now();
    mismatches.push(now);
    while (mismatches.length && now - mismatches[0] > 60_000) mismatches.shift();
    if (mismatches.length >= 3) {
      ui.notice('warning', msg('nearby.mismatchStop'), { key: 'nearby' });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 * mismatches.length));
    const fresh = await fetch('/config.json', { cache: 'no-store' }).then((r) => r.json()).catch(() => null);
    if (fresh?.nearby?.group) {
      group = fresh.nearby.group;
      if (settings.visible()) nearby.show();
    }
  });

  sharing.addEventListener('started', (event) => {
    view.share = /** @type {CustomEvent} */ (event).detail;
    view.mode = 'share';
    where.page = 'share';
    const chosen = [...view.selected];
    view.selected.clear();
    for (const id of chosen) if (nearby.peers.has(id)) offerTo(id);
    render();
  });

  nearby.addEventListener('open-share', (event) => {
    const { path, from, summary } = /** @type {CustomEvent} */ (event).detail;
    const link = linkOf(path);
    if (!link) return;
    if (where.page === 'home') {
      // Nothing else runs on this page: receive here, as if the link had been opened, and
      // accept at once only what the person accepted (receive-page.js compares the files).
      where.page = 'receive';
      history.pushState(null, '', path);
      render();
      runReceiver({ ...link, config, expect: summary }).catch((error) => ui.notice('error', msg('notice.receiveFailed', { error: error.message })));
      return;
    }
    // This page is busy sharing or receiving: the share gets a tab of its own, opened by the
    // person's tap (a page may not open tabs by itself).
    ui.notice('info', msg('nearby.openElsewhere', { name: from }), {
      key: `nearby-open-${link.room}`,
      actions: [{ label: msg('nearby.open'), onClick: () => window.open(path, '_blank', 'noopener') }],
    });
  });

  // The panel's own controls.
  const nameInput = /** @type {HTMLInputElement} */ ($('my-device-name'));
  nameInput.value = settings.name;
  const label = deviceLabel();
  if (typeof label === 'string') $('my-device-kind').textContent = label;
  else localize($('my-device-kind'), label.key, label.params);
  const rename = () => {
    const name = settings.setName(nameInput.value);
    nameInput.value = name;
    if (cleanName(name) !== nearby.profile.name) nearby.rename(name);
  };
  nameInput.addEventListener('change', rename);
  nameInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') nameInput.blur();
  });
  const visible = /** @type {HTMLInputElement} */ ($('nearby-visible'));
  visible.checked = settings.visible();
  visible.addEventListener('change', () => {
    settings.setVisible(visible.checked);
    if (visible.checked) nearby.show();
    else nearby.hide();
  });
  const confirm = /** @type {HTMLInputElement} */ ($('nearby-confirm'));
  confirm.checked = settings.confirmCode;
  confirm.addEventListener('change', () => settings.setConfirmCode(confirm.checked));

  if (visible.checked) nearby.show();
  render();
  return nearby;
}
