// What both pages share: this tab's ids, the description of this browser shown to the
// sender, re-rendering on change, and the signaling client's state shown on the page.

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

export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua)
    ? 'Firefox'
    : /Edg\//.test(ua)
      ? 'Edge'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'a browser';
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
  return os ? `${browser} on ${os}` : browser;
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
}

/** Wire the signaling client's connection state and fatal closes to the page. */
export function watchSignaling(signaling, { onReplaced }) {
  signaling.addEventListener('state', (event) => {
    // The page's signaling state, for automation (DEVELOPERS.md: the testing contract).
    document.body.dataset.signaling = event.detail;
    if (event.detail === 'reconnecting') {
      ui.notice('warning', 'Lost the connection to the server. Reconnecting… (transfers already running continue)', {
        key: 'signaling',
      });
    } else if (event.detail === 'open' && signaling.wasDown) {
      ui.notice('info', 'Reconnected to the server.', { key: 'signaling' });
      setTimeout(() => {
        if ($('notices').querySelector('[data-key="signaling"]')?.textContent === 'Reconnected to the server.') {
          ui.clearNotice('signaling');
        }
      }, 10000);
    }
    signaling.wasDown = event.detail === 'reconnecting' || (signaling.wasDown && event.detail !== 'open');
  });
  signaling.addEventListener('error', (event) => {
    const { code, message } = event.detail;
    if (code === 'room-full') ui.notice('error', 'This share already has as many people as it allows. Try again later.', { key: 'server-error' });
    else if (['rate-limited', 'unknown-peer'].includes(code)) console.warn('server:', code, message);
    else if (code === 'admission-refused') return; // its close (4012) shows the whole message
    else ui.notice('warning', `The server says: ${message}`, { key: 'server-error' });
  });
  signaling.addEventListener('fatal', (event) => {
    const { code } = event.detail;
    if (code === 4001) {
      ui.notice('warning', 'This link was opened again in another tab of this browser, so this tab stopped.', {
        key: 'signaling',
        actions: [{ label: 'Use this tab instead', onClick: onReplaced }],
      });
    } else if (code === 4012) {
      ui.showMessage(
        'This link does not open this share',
        "Its key does not match the share (or the link was cut short). Ask the sender for the whole link again.",
      );
    } else if (code === 4004) {
      ui.showMessage('This link is broken', 'The room in this link is malformed. Ask the sender for the whole link.');
    } else if (code === 4009) {
      ui.notice('error', 'This share belongs to another sender page. Open the link as a receiver, or share your files anew.', {
        key: 'signaling',
      });
    } else {
      ui.notice('error', `The server closed the connection (${event.detail.reason || code}). Reload the page to try again.`, {
        key: 'signaling',
      });
    }
  });
}

