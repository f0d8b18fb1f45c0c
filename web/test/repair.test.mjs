// The repair policy, parametrised over both roles (as wsproto's tests are over client and
// server): the same rules, each role with its own parameters (REPAIR_ROLES).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MAX_ICE_RESTARTS, NEGOTIATION_PATIENCE_MS, REPAIR_ROLES, Repair, RepairPolicy } from '../js/transfer/repair.js';

for (const role of ['offerer', 'answerer']) {
  const { minIntervalMs } = REPAIR_ROLES[role];
  // Far enough apart that the role's interval never holds a repair back.
  const apart = (n) => n * (minIntervalMs + 1);

  describe(`repair policy (${role})`, () => {
    test('a failed link is repaired by ICE restarts, then by a fresh connection', () => {
      const policy = new RepairPolicy(role);
      const seen = [];
      for (let n = 0; n <= MAX_ICE_RESTARTS; n++) seen.push(policy.failed({ dead: false, present: true, nowMs: apart(n) }).repair);
      assert.deepEqual(seen, [...Array(MAX_ICE_RESTARTS).fill(Repair.ICE), Repair.FRESH]);
    });

    test('a connection that is gone is replaced at once', () => {
      const policy = new RepairPolicy(role);
      assert.equal(policy.failed({ dead: true, present: true, nowMs: 0 }).repair, Repair.FRESH);
    });

    test('an open channel resets the count', () => {
      const policy = new RepairPolicy(role);
      policy.failed({ dead: false, present: true, nowMs: apart(0) });
      policy.failed({ dead: false, present: true, nowMs: apart(1) });
      policy.opened();
      assert.equal(policy.failed({ dead: false, present: true, nowMs: apart(2) }).repair, Repair.ICE);
    });

    test('nothing is repaired while the other side is away', () => {
      const policy = new RepairPolicy(role);
      assert.equal(policy.failed({ dead: true, present: false, nowMs: 0 }).repair, null);
      assert.equal(policy.stillLost({ channelOpen: false, present: false, nowMs: 0 }).repair, null);
    });

    test(`repairs are at most one per ${minIntervalMs} ms`, () => {
      const policy = new RepairPolicy(role);
      const made = [0, 1, 2, 3].map((n) => policy.failed({ dead: true, present: true, nowMs: n * 1000 }).repair).filter(Boolean);
      assert.equal(made.length, minIntervalMs === 0 ? 4 : Math.ceil(4000 / minIntervalMs));
    });

    test('a lost channel is looked at again only by the role that repairs it', () => {
      const policy = new RepairPolicy(role);
      const { checkAfterMs } = policy.channelLost();
      assert.equal(checkAfterMs, REPAIR_ROLES[role].channelLostCheckMs);
      if (checkAfterMs === null) return;
      assert.equal(policy.stillLost({ channelOpen: true, present: true, nowMs: checkAfterMs }).repair, null);
      assert.equal(policy.stillLost({ channelOpen: false, present: true, nowMs: checkAfterMs }).repair, Repair.FRESH);
    });
  });
}

describe('repair policy (offerer only)', () => {
  test('a hello connects afresh unless the channel is live or a negotiation is young', () => {
    const policy = new RepairPolicy('offerer');
    assert.equal(policy.hello({ live: false, reloaded: true, nowMs: 0 }).repair, Repair.FRESH);
    policy.negotiated(0);
    assert.equal(policy.hello({ live: false, reloaded: false, nowMs: 1000 }).repair, null);
    assert.equal(policy.hello({ live: false, reloaded: false, nowMs: NEGOTIATION_PATIENCE_MS + 1 }).repair, Repair.FRESH);
    assert.equal(policy.hello({ live: true, reloaded: false, nowMs: 10 * NEGOTIATION_PATIENCE_MS }).repair, null);
    assert.equal(policy.hello({ live: true, reloaded: true, nowMs: 10 * NEGOTIATION_PATIENCE_MS }).repair, Repair.FRESH);
  });

  test('asked to repair: fresh when asked so or when the connection is gone', () => {
    const policy = new RepairPolicy('offerer');
    assert.equal(policy.asked({ fresh: false, dead: false, nowMs: 0 }).repair, Repair.ICE);
    assert.equal(policy.asked({ fresh: true, dead: false, nowMs: 1 }).repair, Repair.FRESH);
    assert.equal(policy.asked({ fresh: false, dead: true, nowMs: 2 }).repair, Repair.FRESH);
  });
});
