// What both pages share: this tab's ids, the description of this browser shown to the
// sender, re-rendering on change (and on a language switch), and the signaling client's state
// shown on the page.

import { msg, onLanguageChange } from './i18n.js';
import * as ui from './ui.js';
import { randomId } from './util.js';

const CID_KEY = 'p2pshare:cid';
export const CREATOR_KEY = (room) => `p2pshare:creator:${room}`;
export const session = globalThis.sessionStorage;
import { $ } from './ui-dom.js';

export { $ };

/** This tab's client id: kept across reloads of the tab, distinct per tab (sessionStorage). */
export function clientId() {
  let cid = session.getItem(CID_KEY);
  if (!cid) {
    cid = randomId(16);
    session.setItem(CID_KEY, cid);
  }
  return cid;
}

/**
 * This browser, as the other side sees it ("Chrome on Linux"): sent to peers (the sender's
 * rows, nearby devices), so in English whatever this page's language, as protocol data is.
 */
export function deviceName() {
  const { browser, os } = deviceParts();
  const name = browser || 'a browser';
  return os ? `${name} on ${os}` : name;
}

/** This browser, in this page's language (the nearby panel's "This device"). */
export function deviceLabel() {
  const { browser, os } = deviceParts();
  if (!browser) return os ? msg('common.browserOn', { os }) : msg('common.aBrowser');
  return os ? msg('common.deviceOn', { browser, os }) : browser;
}

function deviceParts() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua)
    ? 'Firefox'
    : /Edg\//.test(ua)
      ? 'Edge'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : '';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return { browser, os };
}

/**
 * Re-render after every 'change' (coalesced; timers, not animation frames, which background
 * tabs do not get), and once a second for speeds and times left.
 */
export function keepRendered(controller, render) {
  let scheduled = false;
  controller.addEventListener('change', () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      render();
    }, 50);
  });
  setInterval(render, 1000);
  onLanguageChange(render);
}

/** Wire the signaling client's connection state and fatal closes to the page. */
export function watchSignaling(signaling, { onReplaced }) {
  signaling.addEventListener('state', (event) => {
    // The page's signaling state, for automation (DEVELOPERS.md: the testing contract).
    document.body.dataset.signaling = event.detail;
    if (event.detail === 'reconnecting') {
      ui.notice('warning', msg('notice.reconnecting'), { key: 'signaling' });
    } else if (event.detail === 'open' && signaling.wasDown) {
      const reconnected = msg('notice.reconnected');
      ui.notice('info', reconnected, { key: 'signaling' });
      setTimeout(() => {
        if (ui.noticeShown('signaling') === reconnected) ui.clearNotice('signaling');
      }, 10000);
    }
    signaling.wasDown = event.detail === 'reconnecting' || (signaling.wasDown && event.detail !== 'open');
  });
  signaling.addEventListener('error', (event) => {
    const { code, message } = event.detail;
    if (code === 'room-full') ui.notice('error', msg('notice.roomFull'), { key: 'server-error' });
    else if (['rate-limited', 'unknown-peer'].includes(code)) console.warn('server:', code, message);
    else if (code === 'admission-refused') return; // its close (4012) shows the whole message
    else ui.notice('warning', msg('notice.serverSays', { message }), { key: 'server-error' });
  });
  signaling.addEventListener('fatal', (event) => {
    const { code } = event.detail;
    if (code === 4001) {
      ui.notice('warning', msg('notice.replaced'), {
        key: 'signaling',
        actions: [{ label: msg('notice.useThisTab'), onClick: onReplaced }],
      });
    } else if (code === 4012) {
      ui.showMessage(msg('error.wrongShare.title'), msg('error.wrongShare.text'));
    } else if (code === 4004) {
      ui.showMessage(msg('error.broken.title'), msg('error.malformedRoom'));
    } else if (code === 4009) {
      ui.notice('error', msg('notice.notYourShare'), { key: 'signaling' });
    } else {
      ui.notice('error', msg('notice.serverClosed', { reason: event.detail.reason || String(code) }), { key: 'signaling' });
    }
  });
}

