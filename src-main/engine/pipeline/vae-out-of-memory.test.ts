// A VAE decode that runs out of memory is done again in tiles (the engine's own smaller step); if the tiles do
// not fit either, the job's message says so and offers the user's next step. The out-of-memory itself is
// ORT's error raised by a session of this runtime (it cannot be provoked on this CPU for a tiny model): the
// full-size decoder's session is replaced by one whose run fails with CUDA's real allocator text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generationOomMessage, SteppedDownOutOfMemory } from '../runtime/out-of-memory.ts';
import { EngineRunError, type ModelSession } from '../runtime/session.ts';
import { TiledVaeDecoder } from '../models/vae-tiled.ts';
import { fixture, fixtureFile } from '../goldens.test-support.ts';
import { ModelRuntime } from './model-runtime.ts';

const CUDA_OOM = 'CUDA failure 2: out of memory ; GPU=0 ; hostname=studio ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_allocator.cc ; line=48 ; expr=cudaMalloc((void**)&p, size);';

function failFullDecode(runtime: ModelRuntime, failTiles = false): string[] {
  const keys: string[] = [];
  const get = runtime.sessions.get.bind(runtime.sessions);
  runtime.sessions.get = async (key, build, overrides) => {
    keys.push(key);
    if (!key.startsWith('vae-dec|')) return get(key, build, overrides);
    return { run: async () => { throw new EngineRunError('out-of-memory', `out of memory: ${CUDA_OOM}`); } } as unknown as ModelSession;
  };
  if (failTiles) {
    runtime.vaeDecodeTiled = async () => {
      throw new SteppedDownOutOfMemory('vae-tiled', `out of memory: ${CUDA_OOM}`);
    };
  }
  return keys;
}

const latent = (h: number, w: number) => ({ shape: [1, 4, h, w], data: Float32Array.from({ length: 4 * h * w }, (_, i) => Math.sin(i * 0.37)) });

test('a full VAE decode out of memory is decoded in tiles instead, exactly as the tiled decoder does', async () => {
  const runtime = new ModelRuntime('float32', ['cpu']);
  const keys = failFullDecode(runtime);
  const big = latent(72, 8); // taller than one 64-pixel tile
  const out = await runtime.vaeDecode(fixture('tiny-sd15.safetensors'), big);
  assert.equal(runtime.tiledDecodes, 1);
  assert.deepEqual(keys.filter((k) => k.startsWith('vae-dec|')).length, 1);
  const reference = new TiledVaeDecoder(fixtureFile('tiny-sd15.safetensors'), { compute: 'float32', providers: ['cpu'] });
  const expected = await reference.decode(big);
  await reference.release();
  assert.deepEqual(out.shape, expected.shape);
  assert.deepEqual(out.data, expected.data);
});

test('a latent of one tile or less has no smaller step: the out-of-memory passes on', async () => {
  const runtime = new ModelRuntime('float32', ['cpu']);
  failFullDecode(runtime);
  await assert.rejects(runtime.vaeDecode(fixture('tiny-sd15.safetensors'), latent(8, 8)), (e: EngineRunError) => e.kind === 'out-of-memory');
  assert.equal(runtime.tiledDecodes, 0);
});

test('tiles out of memory too: the message names the size, says the VAE already used tiles, and offers a lower resolution', async () => {
  const runtime = new ModelRuntime('float16', ['cuda', 'cpu']);
  failFullDecode(runtime, true);
  const err = await runtime.vaeDecode(fixture('tiny-sd15.safetensors'), latent(128, 128)).catch((e: EngineRunError) => e);
  assert.ok(err instanceof EngineRunError && err.kind === 'out-of-memory');
  const message = generationOomMessage({ width: 1024, height: 1024, batchSize: 1, provider: 'cuda', compute: 'float16' }, err);
  assert.match(message, /^Out of GPU memory \(CUDA\) generating 1024x1024 with batch size 1 in float16\. The VAE already decoded in tiles\. Next smaller step: lower the size to 768x768\./);
  assert.match(message, /CUDA failure 2: out of memory/);
});
