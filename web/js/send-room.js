// The sender in its room: receivers arriving and leaving (welcome, peer-joined/left), the
// sealed messages they send (hello, answer, candidates, restart, bye, alarm) and what the
// sealing layer reports (a wrong key, tampering). Each receiver's connection is its
// PeerSession; what it may make the sender do is its SendSession's to decide.

import { msg } from './i18n.js';
import { iceServersWith } from './peer-session.js';
import { AlarmGate } from './transfer/guards.js';
import { SendReason, SendState } from './transfer/send-session.js';

/** @typedef {import('./sender.js').SenderController} SenderController */

/** @param {SenderController} sc */
export function listenToRoom(sc) {
  /** replies and notices for bad envelopes: once a minute per peer */
  const alarms = new AlarmGate();
  const baseIceServers = sc.iceServers;
  sc.signaling.addEventListener('welcome', (event) => {
    sc.iceServers = iceServersWith(baseIceServers, event.detail);
    for (const r of sc.receivers.values()) if (r.link) r.link.iceServers = sc.iceServers;
    for (const p of event.detail.peers) if (p.role === 'receiver') greet(sc, p.peer);
  });
  sc.signaling.addEventListener('peer-joined', (event) => {
    if (event.detail.role === 'receiver') greet(sc, event.detail.peer);
  });
  sc.signaling.addEventListener('peer-left', (event) => {
    const r = sc.receivers.get(event.detail.peer);
    if (!r) return;
    r.session.left(Boolean(r.link?.channelOpen));
    sc.changed();
  });
  sc.sealed.addEventListener('message', (event) => onSealed(sc, alarms, event.detail));
  sc.sealed.addEventListener('security', (event) => onSecurity(sc, alarms, event.detail));
}

/** A receiver is (back) in the room: say hello, so a wrong link is detected on its side. */
function greet(sc, peer) {
  if (sc.stopped) return;
  const r = sc.receiver(peer);
  if (!r.session.rejoined(Boolean(r.link?.channelOpen))) return;
  sc.sealed.send(peer, r.link?.sid ?? 0, { k: 'hello', role: 'sender' });
  sc.changed();
}

function onSealed(sc, alarms, { from, sid, body, epoch }) {
  if (sc.stopped) return;
  const r = sc.receiver(from);
  const reloaded = epoch !== r.epoch;
  if (!r.session.admitSealed({ helloFromNewPage: body.k === 'hello' && reloaded })) return;
  switch (body.k) {
    case 'hello':
      r.epoch = epoch;
      r.device = typeof body.device === 'string' ? body.device.slice(0, 60) : r.device;
      sc.linkOf(r).onHello({ live: body.live === true, reloaded });
      sc.changed();
      break;
    case 'answer':
    case 'cand':
      r.link?.onSignal(body, sid);
      break;
    case 'restart':
      sc.linkOf(r).onRestartAsked(body.fresh === true);
      break;
    case 'bye':
      r.session.cancelledByReceiver = true;
      sc.endReceiver(r, SendState.CANCELLED, SendReason.THEY_CANCELLED);
      break;
    case 'alarm':
      onSecurity(sc, alarms, { from, kind: 'tampered' });
      break;
    default:
      break;
  }
}

function onSecurity(sc, alarms, { from, kind }) {
  const r = sc.receiver(from);
  // Bad envelopes cost their sender one answer and us one notice a minute, however many come.
  const answer = alarms.admit(from, Date.now());
  if (kind === 'wrong-key') {
    // Someone opened the link with another secret: answer so that their page can say so.
    r.session.wrongKey();
    if (answer) sc.sealed.send(from, 0, { k: 'hello', role: 'sender' });
  } else {
    if (answer) sc.sealed.send(from, 0, { k: 'alarm' });
    r.session.unverified();
    sc.closeLink(r);
    if (answer) sc.notice('error', msg('notice.unverified'));
  }
  sc.changed();
}
