// The nearby panel and the prompts of offers to this device, rendered from NearbyController.
// Names and labels come from other devices (and the server): only ever set as textContent.

import { InState, OutState } from './transfer/nearby-offer.js';
import { $, reconcile, setText } from './ui-dom.js';
import { formatBytes } from './util.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "2 files and 1 text, 12.4 MB: a.txt, b.pdf, …" (the names, if any, as plain text) */
export function summaryText(summary) {
  const files = summary.count - summary.texts;
  const parts = [];
  if (files) parts.push(plural(files, 'file', 'files'));
  if (summary.texts) parts.push(plural(summary.texts, 'text', 'texts'));
  const what = parts.join(' and ') || 'nothing';
  const names = summary.names.length ? `: ${summary.names.join(', ')}${summary.count > summary.names.length ? ', …' : ''}` : '';
  return `${what}, ${formatBytes(summary.bytes)}${names}`;
}

/** What a device's row says about our latest offer to it. */
export function offerText(entry, name) {
  const { state, reason } = entry.offer;
  switch (state) {
    case OutState.COMMITTED:
      return 'Asking…';
    case OutState.OFFERED:
      return `Waiting for ${name} to accept.`;
    case OutState.CONFIRMING:
      return `${name} accepted. Send only if it shows the same code.`;
    case OutState.LINKED:
      return `${name} accepted: sending (see People).`;
    case OutState.DECLINED:
      return `${name} declined.`;
    case OutState.EXPIRED:
      return 'No answer: the offer ran out. Tap the device to ask again.';
    case OutState.CANCELLED:
      return reason === 'gone' ? `${name} left before answering.` : reason === 'cancel' ? `${name} cancelled.` : 'Cancelled.';
    default:
      return 'The offer failed (a message was changed or out of turn). Tap the device to try again.';
  }
}

function button(label, className, onClick) {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = className;
  node.textContent = label;
  node.addEventListener('click', onClick);
  return node;
}

function deviceItem(key, handlers) {
  const li = document.createElement('li');
  li.className = 'device-row';
  const main = button('', 'device', () => handlers.onDevice(key));
  main.dataset.testid = 'nearby-device';
  const name = document.createElement('span');
  name.className = 'device-name';
  const kind = document.createElement('span');
  kind.className = 'device-kind';
  main.append(name, kind);
  const status = document.createElement('div');
  status.className = 'device-status';
  status.setAttribute('aria-live', 'polite');
  const text = document.createElement('span');
  const code = document.createElement('span');
  code.className = 'code-line';
  const codeValue = document.createElement('b');
  codeValue.dataset.testid = 'verify-code';
  code.append('Code ', codeValue);
  const actions = document.createElement('span');
  actions.className = 'actions';
  status.append(code, text, actions);
  li.append(main, status);
  return li;
}

/**
 * @param {import('./nearby.js').NearbyController} nearby
 * @param {{mode: 'home'|'share', selected: Set<string>, onDevice: (id: string) => void,
 *          onConfirm: (o: string) => void, onCancel: (o: string) => void}} view
 */
export function renderNearby(nearby, view) {
  const peers = [...nearby.peers.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const list = $('nearby-devices');
  const items = reconcile(list, peers.map((peer) => peer.id), (key) => deviceItem(key, view));
  items.forEach((li, n) => {
    const peer = peers[n];
    const main = /** @type {HTMLButtonElement} */ (li.querySelector('.device'));
    main.dataset.name = peer.name;
    setText(li.querySelector('.device-name'), peer.name);
    setText(li.querySelector('.device-kind'), peer.device);
    const [latest] = nearby.offersTo(peer.id);
    const selected = view.mode === 'home' && view.selected.has(peer.id);
    main.setAttribute('aria-pressed', String(selected));
    main.title = view.mode === 'home' ? `Select ${peer.name}, then choose what to send` : `Send this share to ${peer.name}`;
    const status = /** @type {HTMLElement} */ (li.querySelector('.device-status'));
    const codeLine = /** @type {HTMLElement} */ (li.querySelector('.code-line'));
    const actions = /** @type {HTMLElement} */ (li.querySelector('.actions'));
    status.hidden = !latest && !selected;
    // A code means something only while the offer runs or once it was sent on.
    codeLine.hidden = !latest?.code || !(latest.offer.open || latest.offer.state === OutState.LINKED);
    setText(li.querySelector('[data-testid="verify-code"]'), latest?.code ?? '');
    setText(status.children[1], latest ? offerText(latest, peer.name) : selected ? 'Selected.' : '');
    li.dataset.offer = latest?.offer.state ?? '';
    const wanted = latest?.offer.state === OutState.CONFIRMING ? 'confirm' : latest?.offer.open ? 'cancel' : '';
    // Keyed by the offer too: the buttons of an earlier offer never act on a newer one.
    if (actions.dataset.shows !== `${wanted}:${latest?.o}`) {
      actions.dataset.shows = `${wanted}:${latest?.o}`;
      const o = latest?.o;
      actions.replaceChildren(
        ...(wanted === 'confirm' ? [button('Same code: send', 'primary', () => view.onConfirm(o))] : []),
        ...(wanted ? [button('Cancel', '', () => view.onCancel(o))] : []),
      );
    }
  });
  const hint = !nearby.visible
    ? 'Turn on “Visible to devices nearby” to see the devices on this network and be seen by them. A private window starts with it off.'
    : nearby.state !== 'open'
      ? 'Connecting…'
      : !peers.length
        ? 'No other device here yet. Open p2pshare on another device on this network.'
        : view.mode === 'home'
          ? 'Tap devices to choose them, then choose files or type a text: they are asked to accept.'
          : 'Tap a device to send it this share. It is asked to accept first.';
  setText($('nearby-hint'), hint);
}

/** A prompt's Accept works only after this long on screen: a tap meant for what it pushed down must not accept. */
export const ARM_MS = 800;

/**
 * The prompts of offers to this device: who, what, the code, Accept and Decline.
 * @param {import('./nearby.js').NearbyController} nearby
 */
export function renderPrompts(nearby, nowMs = Date.now()) {
  const box = $('incoming-offers');
  const prompts = nearby.prompts;
  const items = reconcile(box, prompts.map(([o]) => o), (o) => {
    const node = document.createElement('div');
    node.className = 'notice info incoming-offer';
    node.dataset.testid = 'incoming-offer';
    node.setAttribute('role', 'group');
    const title = document.createElement('p');
    title.className = 'offer-title';
    title.id = `offer-${o}`;
    node.setAttribute('aria-labelledby', title.id);
    const what = document.createElement('p');
    const names = document.createElement('p');
    names.className = 'offer-names';
    const code = document.createElement('p');
    const value = document.createElement('b');
    value.dataset.testid = 'verify-code';
    value.className = 'code';
    code.append('Code ', value, ' — the other screen should show the same code. If not, decline.');
    const actions = document.createElement('div');
    actions.className = 'actions';
    const accept = button('Accept', 'primary', () => nearby.answerOffer(o, true));
    accept.dataset.testid = 'accept-offer';
    const decline = button('Decline', '', () => nearby.answerOffer(o, false));
    decline.dataset.testid = 'decline-offer';
    const cancel = button('Cancel', '', () => nearby.cancelOffer(o));
    cancel.className = 'offer-cancel';
    actions.append(accept, decline, cancel);
    node.append(title, what, names, code, actions);
    return node;
  });
  const nameCount = new Map();
  for (const peer of nearby.peers.values()) nameCount.set(peer.name, (nameCount.get(peer.name) ?? 0) + 1);
  let rearm = 0;
  items.forEach((node, n) => {
    const [, entry] = prompts[n];
    // Who it was when it offered; another device may take the same name, so say when one has.
    const from = `“${entry.fromName}”${entry.fromDevice ? ` (${entry.fromDevice})` : ''}`;
    const twin = (nameCount.get(entry.fromName) ?? 0) > 1 ? ' Careful: more than one device here uses this name.' : '';
    const accepted = entry.offer.state === InState.ACCEPTED;
    setText(node.children[0], accepted ? `Accepted: waiting for ${from}…` : `${from} wants to send you${twin ? '' : ':'}${twin}`);
    const summary = entry.summary;
    setText(node.children[1], summaryText({ ...summary, names: [] }));
    const names = /** @type {HTMLElement} */ (node.children[2]);
    if (names.dataset.for !== entry.o) {
      // Each name isolated: one name's direction characters cannot reorder the others.
      names.dataset.for = entry.o;
      names.replaceChildren(
        ...summary.names.flatMap((name, i) => {
          const isolated = document.createElement('bdi');
          isolated.textContent = name;
          return i ? [', ', isolated] : [isolated];
        }),
        ...(summary.count > summary.names.length ? [', …'] : []),
      );
    }
    names.hidden = !summary.names.length;
    setText(node.querySelector('[data-testid="verify-code"]'), entry.code);
    node.dataset.state = entry.offer.state;
    const armed = nowMs - entry.promptedMs >= ARM_MS;
    if (!armed) rearm = Math.max(rearm, ARM_MS - (nowMs - entry.promptedMs));
    const [accept, decline, cancel] = /** @type {HTMLButtonElement[]} */ ([...node.querySelectorAll('button')]);
    accept.disabled = !armed;
    accept.hidden = decline.hidden = accepted;
    cancel.hidden = !accepted;
  });
  if (rearm) setTimeout(() => renderPrompts(nearby), rearm + 20);
}
