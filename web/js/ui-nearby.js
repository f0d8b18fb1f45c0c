// The nearby panel and the prompts of offers to this device, rendered from NearbyController.
// Names and labels come from other devices (and the server): only ever set as textContent,
// as are the catalogues' texts (i18n.js).

import { formatBytes, formatList, formatListParts, t } from './i18n.js';
import { countsPhrase } from './text-items.js';
import { InState, OutState } from './transfer/nearby-offer.js';
import { $, reconcile, setText } from './ui-dom.js';

/** "2 files and 1 text, 12.4 MB: a.txt, b.pdf, …" (the names, if any, as plain text) */
export function summaryText(summary) {
  const what = countsPhrase(summary.count - summary.texts, summary.texts, 'common.nothing');
  const size = formatBytes(summary.bytes);
  if (!summary.names.length) return t('nearby.summary', { what, size });
  const names = formatList(summary.count > summary.names.length ? [...summary.names, '…'] : summary.names, 'unit');
  return t('nearby.summaryNames', { what, size, names });
}

/** What a device's row says about our latest offer to it. */
export function offerText(entry, name) {
  const { state, reason } = entry.offer;
  switch (state) {
    case OutState.COMMITTED:
      return t('nearby.offer.asking');
    case OutState.OFFERED:
      return t('nearby.offer.offered', { name });
    case OutState.CONFIRMING:
      return t('nearby.offer.confirming', { name });
    case OutState.LINKED:
      return t('nearby.offer.linked', { name });
    case OutState.DECLINED:
      return t('nearby.offer.declined', { name });
    case OutState.EXPIRED:
      return t('nearby.offer.expired');
    case OutState.CANCELLED:
      return reason === 'gone' ? t('nearby.offer.gone', { name }) : reason === 'cancel' ? t('nearby.offer.theyCancelled', { name }) : t('nearby.offer.cancelled');
    default:
      return t('nearby.offer.failed');
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
  const codeLabel = document.createElement('span');
  code.append(codeLabel, codeValue);
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
    main.title = t(view.mode === 'home' ? 'nearby.selectTitle' : 'nearby.sendTitle', { name: peer.name });
    const status = /** @type {HTMLElement} */ (li.querySelector('.device-status'));
    const codeLine = /** @type {HTMLElement} */ (li.querySelector('.code-line'));
    const actions = /** @type {HTMLElement} */ (li.querySelector('.actions'));
    status.hidden = !latest && !selected;
    // A code means something only while the offer runs or once it was sent on.
    codeLine.hidden = !latest?.code || !(latest.offer.open || latest.offer.state === OutState.LINKED);
    setText(/** @type {HTMLElement} */ (codeLine.firstElementChild), t('nearby.codeLabel'));
    setText(li.querySelector('[data-testid="verify-code"]'), latest?.code ?? '');
    setText(status.children[1], latest ? offerText(latest, peer.name) : selected ? t('nearby.selected') : '');
    li.dataset.offer = latest?.offer.state ?? '';
    const wanted = latest?.offer.state === OutState.CONFIRMING ? 'confirm' : latest?.offer.open ? 'cancel' : '';
    // Keyed by the offer too: the buttons of an earlier offer never act on a newer one.
    const shows = `${wanted}:${latest?.o}:${document.documentElement.lang}`;
    if (actions.dataset.shows !== shows) {
      actions.dataset.shows = shows;
      const o = latest?.o;
      actions.replaceChildren(
        ...(wanted === 'confirm' ? [button(t('nearby.sameCode'), 'primary', () => view.onConfirm(o))] : []),
        ...(wanted ? [button(t('common.cancel'), '', () => view.onCancel(o))] : []),
      );
    }
  });
  const hint = !nearby.visible
    ? 'nearby.hint.hidden'
    : nearby.state !== 'open'
      ? 'nearby.hint.connecting'
      : !peers.length
        ? 'nearby.hint.alone'
        : view.mode === 'home'
          ? 'nearby.hint.home'
          : 'nearby.hint.share';
  setText($('nearby-hint'), t(hint, { visible: t('nearby.visible') }));
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
    code.append(document.createElement('span'), value, document.createElement('span'));
    const actions = document.createElement('div');
    actions.className = 'actions';
    const accept = button('', 'primary', () => nearby.answerOffer(o, true));
    accept.dataset.testid = 'accept-offer';
    const decline = button('', '', () => nearby.answerOffer(o, false));
    decline.dataset.testid = 'decline-offer';
    const cancel = button('', '', () => nearby.cancelOffer(o));
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
    const accepted = entry.offer.state === InState.ACCEPTED;
    const name = entry.fromName;
    const twin = (nameCount.get(name) ?? 0) > 1 ? ` ${t('nearby.prompt.twin')}` : '';
    const title = accepted
      ? t('nearby.prompt.waitingFor', { name })
      : t(entry.fromDevice ? 'nearby.prompt.fromDevice' : 'nearby.prompt.from', { name, device: entry.fromDevice }) + twin;
    setText(node.children[0], title);
    const summary = entry.summary;
    setText(node.children[1], summaryText({ ...summary, names: [] }));
    const names = /** @type {HTMLElement} */ (node.children[2]);
    if (names.dataset.for !== `${entry.o}:${document.documentElement.lang}`) {
      // Each name isolated: one name's direction characters cannot reorder the others.
      names.dataset.for = `${entry.o}:${document.documentElement.lang}`;
      const more = summary.count > summary.names.length ? ['…'] : [];
      const parts = formatListParts([...summary.names, ...more]);
      names.replaceChildren(
        ...parts.map((part) => {
          if (part.type !== 'element') return part.value;
          const isolated = document.createElement('bdi');
          isolated.textContent = part.value;
          return isolated;
        }),
      );
    }
    names.hidden = !summary.names.length;
    const [before, , after] = node.children[3].children;
    setText(before, t('nearby.prompt.codeBefore'));
    setText(after, t('nearby.prompt.codeAfter'));
    setText(node.querySelector('[data-testid="accept-offer"]'), t('nearby.accept'));
    setText(node.querySelector('[data-testid="decline-offer"]'), t('nearby.decline'));
    setText(node.querySelector('.offer-cancel'), t('common.cancel'));
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
