// The choice of A1111 hash per model kind that both resolvers (library, CLI files) make through metadataHash,
// and that only the chosen hash is computed (hashing a file reads all of it).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelKind } from './contract.ts';
import { metadataHash } from './model-hashes.ts';

test("each kind gets A1111's hash for it, and only that one is computed", async () => {
  const expected: [ModelKind, string][] = [
    ['checkpoint', 'short'],
    ['vae', 'short'],
    ['lora', 'lora'],
    ['controlnet', 'legacy'],
    ['cnxs', 'legacy'],
    ['ctrlora-base', 'legacy'],
    ['ctrlora-lora', 'legacy'],
    ['upscaler', ''],
  ];
  for (const [kind, hash] of expected) {
    const called: string[] = [];
    const source = (name: string) => () => (called.push(name), Promise.resolve(name));
    const got = await metadataHash(kind, { lora: source('lora'), legacy: source('legacy'), short: source('short') });
    assert.equal(got, hash, kind);
    assert.deepEqual(called, hash ? [hash] : [], kind);
  }
});
