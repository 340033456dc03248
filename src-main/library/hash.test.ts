import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashFile, legacyModelHash, loraShortHash, LEGACY_HASH_LENGTH, LEGACY_HASH_OFFSET } from './hash.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-hash-'));

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('hashFile streams the whole file and gives the short and the legacy A1111 hashes', async () => {
  // 9 MiB + a bit: several 4 MiB chunks, and the legacy window (1 MiB .. 1 MiB + 64 KiB) inside the first one
  const data = Buffer.alloc(9 * 1024 * 1024 + 12345);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const file = path.join(dir, 'big.bin');
  fs.writeFileSync(file, data);

  const progress: number[] = [];
  const hashes = await hashFile(file, { onProgress: (done, total) => (assert.equal(total, data.length), progress.push(done)) });
  assert.equal(hashes.sha256, sha256(data));
  assert.equal(hashes.shortHash, hashes.sha256.slice(0, 10));
  const legacy = sha256(data.subarray(LEGACY_HASH_OFFSET, LEGACY_HASH_OFFSET + LEGACY_HASH_LENGTH)).slice(0, 8);
  assert.equal(hashes.legacyHash, legacy);
  assert.equal(await legacyModelHash(file), legacy);
  assert.equal(hashes.bytes, data.length);
  assert.equal(progress.at(-1), data.length);
  assert.ok(progress.length >= 3);
});

test('the legacy hash window straddling chunk boundaries and short files match A1111', async () => {
  // A1111 hashes whatever lies in the window: part of it, or nothing for a file under 1 MiB
  for (const size of [100, LEGACY_HASH_OFFSET + 1000, LEGACY_HASH_OFFSET + LEGACY_HASH_LENGTH + 1]) {
    const data = Buffer.alloc(size, 7);
    data.writeUInt32LE(size, 0);
    const file = path.join(dir, `s${size}.bin`);
    fs.writeFileSync(file, data);
    const expected = sha256(data.subarray(Math.min(size, LEGACY_HASH_OFFSET), LEGACY_HASH_OFFSET + LEGACY_HASH_LENGTH)).slice(0, 8);
    const hashes = await hashFile(file);
    assert.equal(hashes.legacyHash, expected, `size ${size}`);
    assert.equal(await legacyModelHash(file), expected);
    assert.equal(hashes.sha256, sha256(data));
  }
  assert.equal((await hashFile(path.join(dir, 's100.bin'))).legacyHash, 'e3b0c442'); // sha256 of nothing
});

test('hashing stops when the signal aborts', async () => {
  const file = path.join(dir, 'abort.bin');
  fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024));
  const controller = new AbortController();
  await assert.rejects(
    hashFile(file, { signal: controller.signal, onProgress: () => controller.abort() }),
    (e: Error) => e.name === 'AbortError',
  );
  const aborted = AbortSignal.abort();
  await assert.rejects(hashFile(file, { signal: aborted }), (e: Error) => e.name === 'AbortError');
});

test("loraShortHash is A1111's addnet hash for safetensors (value from Python's hashlib) and sha256[0:12] otherwise", async () => {
  const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');
  assert.equal(await loraShortHash(path.join(fixtures, 'tiny-lora.safetensors')), 'c5878c3f88bb');
  const ckpt = path.join(fixtures, 'tiny-controlnet.ckpt');
  assert.equal(await loraShortHash(ckpt), (await hashFile(ckpt)).sha256.slice(0, 12));
});
