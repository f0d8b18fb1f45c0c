// Sender signatures (signing.js) against the shared vectors and hostile input, on both backends.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { cryptoBackend } from '../js/crypto.js';
import { newSenderKey, senderPublicKey, signEnvelope, verifiedEnvelope } from '../js/signing.js';

const VECTORS = JSON.parse(readFileSync(new URL('../../tests/vectors/signatures.json', import.meta.url), 'utf8'));

for (const prefer of ['webcrypto', 'noble']) {
  const backend = cryptoBackend({ prefer });

  test(`signatures match the vectors byte for byte (${prefer})`, async () => {
    assert.ok(VECTORS.cases.length >= 2);
    for (const v of VECTORS.cases) {
      assert.equal(senderPublicKey(v.seed), v.public);
      assert.equal(await signEnvelope(v.seed, v.envelope, backend), v.signed); // Ed25519 is deterministic
      assert.equal(await verifiedEnvelope(v.public, v.signed, backend), v.envelope);
    }
  });

  test(`only the sender's key passes (${prefer})`, async () => {
    const [v] = VECTORS.cases;
    const other = newSenderKey();
    const forged = await signEnvelope(other.seedText, v.envelope, backend); // a colluding link holder
    assert.equal(await verifiedEnvelope(v.public, forged, backend), null);
    assert.equal(await verifiedEnvelope(v.public, v.envelope, backend), null); // unsigned
    assert.equal(await verifiedEnvelope(v.public, `${v.envelope}x~${v.signed.split('~')[1]}`, backend), null); // altered
    assert.equal(await verifiedEnvelope(v.public, v.signed.slice(0, -1), backend), null); // cut short
    assert.equal(await verifiedEnvelope(v.public, `${v.signed.slice(0, -2)}!!`, backend), null); // not base64url
    assert.equal(await verifiedEnvelope(other.publicText, v.signed, backend), null); // another key
  });
}
