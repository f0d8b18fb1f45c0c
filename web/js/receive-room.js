// The receiver in its room: finding the sender (welcome, peer-joined/left), the sealed
// messages it sends (hello, offer, candidates, bye, alarm) and what the sealing layer reports
// (a wrong key, tampering). The connection itself is the controller's PeerSession.

import { msg } from './i18n.js';
import { iceServersWith } from './peer-session.js';
import { Phase } from './transfer/receive-phase.js';

/** @typedef {import('./receiver.js').ReceiverController} ReceiverController */

const WAITING_FOR_SENDER = msg('receive.status.waitingSender');
const SENDER_AWAY = msg('receive.status.senderAway');

/** @param {ReceiverController} rc */
export function listenToRoom(rc) {
  const baseIceServers = rc.link.iceServers;
  rc.signaling.addEventListener('welcome', (event) => {
    rc.link.iceServers = iceServersWith(baseIceServers, event.detail);
    const sender = event.detail.peers.find((p) => p.role === 'sender');
    if (sender) senderArrived(rc, sender.peer);
    else if (!rc.link.channelOpen) rc.setStatus(Phase.WAITING_SENDER, WAITING_FOR_SENDER);
  });
  rc.signaling.addEventListener('peer-joined', (event) => {
    if (event.detail.role === 'sender') senderArrived(rc, event.detail.peer);
  });
  rc.signaling.addEventListener('peer-left', (event) => {
    if (event.detail.peer !== rc.sender) return;
    rc.senderPresent = false;
    if (!rc.link.channelOpen && !rc.isFinal) rc.setStatus(Phase.WAITING_SENDER, SENDER_AWAY);
  });
  rc.sealed.addEventListener('message', (event) => onSealed(rc, event.detail));
  rc.sealed.addEventListener('security', (event) => onSecurity(rc, event.detail));
}

export { SENDER_AWAY };

function senderArrived(rc, peer) {
  rc.sender = peer;
  rc.senderPresent = true;
  if (rc.isFinal) return;
  if (!rc.link.channelOpen) rc.setStatus(Phase.CONNECTING, msg('receive.status.connectingSender'));
  sendHello(rc);
}

function sendHello(rc) {
  if (rc.sender) rc.sealed.send(rc.sender, 0, { k: 'hello', live: rc.link.channelOpen, device: rc.device });
}

function onSealed(rc, { from, sid, body, newEpoch }) {
  if (rc.isFinal && body.k !== 'bye') return;
  rc.sender = from; // the only peer that can message us
  if (newEpoch) rc.link.drop(); // the sender's page reloaded: our connection to the old one is dead
  switch (body.k) {
    case 'hello':
      sendHello(rc);
      break;
    case 'offer':
      if (body.re === rc.epoch) rc.link.acceptOffer(body, sid); // else made for an earlier page of ours
      break;
    case 'cand':
      rc.link.onSignal(body, sid);
      break;
    case 'bye':
      endBySender(rc, body.reason);
      break;
    case 'alarm':
      onSecurity(rc, { kind: 'tampered' });
      break;
    default:
      break;
  }
}

function onSecurity(rc, { kind }) {
  if (rc.phase === Phase.ERROR) return;
  if (kind === 'wrong-key') {
    rc.fail(msg('receive.fail.wrongKey'));
    rc.signaling.stop();
    return;
  }
  rc.fail(msg('receive.fail.unverified'));
  // Tell the sender (it shows the same warning), then leave.
  const told = rc.sender ? rc.sealed.send(rc.sender, 0, { k: 'alarm' }) : Promise.resolve();
  Promise.race([told, new Promise((resolve) => setTimeout(resolve, 2000))]).then(() => rc.signaling.stop());
}

/** The sender stopped sharing or cancelled this download (sealed `bye` or channel `cancel`). */
export function endBySender(rc, reason) {
  rc.stream.closeSink();
  const text = msg(reason === 'cancelled' ? 'receive.status.senderCancelled' : 'receive.status.senderStopped');
  if (rc.phase === Phase.DONE) rc.movePhase(Phase.DONE, text, 'sender left');
  else rc.fail(text);
  rc.link.drop({ forGood: true });
  rc.signaling.stop();
  rc.changed();
}
