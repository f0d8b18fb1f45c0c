// The nearby panel and the prompts of offers to this device, rendered from NearbyController.
// Names and labels come from other devices (and the server): only ever set as textContent.

import { OutState } from './transfer/nearby-offer.js';
import { $, reconcile, setText } from './ui-dom.js';
import { formatBytes } from './util.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "2 files and 1 text, 12.4 MB: a.txt, b.pdf, …" */
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
    codeLine.hidden = !latest?.code;
    setText(li.querySelector('[data-testid="verify-code"]'), latest?.code ?? '');
    setText(status.children[1], latest ? offerText(latest, peer.name) : selected ? 'Selected.' : '');
    li.dataset.offer = latest?.offer.state ?? '';
    const wanted = latest?.offer.state === OutState.CONFIRMING ? 'confirm' : latest?.offer.open ? 'cancel' : '';
    if (actions.dataset.shows !== wanted) {
      actions.dataset.shows = wanted;
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

/**
 * The prompts of offers to this device: who, what, the code, Accept and Decline.
 * @param {import('./nearby.js').NearbyController} nearby
 */
export function renderPrompts(nearby) {
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
    actions.append(accept, decline);
    node.append(title, what, code, actions);
    return node;
  });
  items.forEach((node, n) => {
    const [, entry] = prompts[n];
    const peer = nearby.peers.get(entry.peer);
    const from = peer ? `${peer.name}${peer.device ? ` (${peer.device})` : ''}` : 'A device';
    const accepted = entry.offer.state === 'accepted';
    setText(node.children[0], accepted ? `Accepted: waiting for ${peer?.name ?? 'the device'}…` : `${from} wants to send you`);
    setText(node.children[1], summaryText(entry.summary));
    setText(node.querySelector('[data-testid="verify-code"]'), entry.code);
    node.dataset.state = entry.offer.state;
    for (const control of node.querySelectorAll('button')) /** @type {HTMLButtonElement} */ (control).disabled = accepted;
  });
}
