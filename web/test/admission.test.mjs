// Room admission (admission.js) against the shared vectors, on both crypto backends.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { accessKey, joinProof } from '../js/admission.js';
import { cryptoBackend } from '../js/crypto.js';
import { fromHex } from '../js/util.js';

const VECTORS = JSON.parse(readFileSync(new URL('../../tests/vectors/admission.json', import.meta.url), 'utf8'));

for (const prefer of ['webcrypto', 'noble']) {
  test(`access keys and join proofs match the vectors (${prefer})`, async () => {
    const backend = cryptoBackend({ prefer });
    assert.equal(backend.name, prefer);
    assert.ok(VECTORS.cases.length >= 2);
    for (const v of VECTORS.cases) {
      const secret = fromHex(v.secret_hex);
      assert.equal(await accessKey(secret, v.room, backend), v.access);
      assert.equal(await joinProof(secret, v.room, v.cid, backend), v.proof);
    }
  });
}

test('a proof is bound to its room and client id', async () => {
  const [v] = VECTORS.cases;
  const secret = fromHex(v.secret_hex);
  assert.notEqual(await joinProof(secret, v.room, `${v.cid}x`), v.proof);
  assert.notEqual(await joinProof(secret, `${v.room}x`, v.cid), v.proof);
  assert.notEqual(await joinProof(new Uint8Array(32).fill(1), v.room, v.cid), v.proof);
});
