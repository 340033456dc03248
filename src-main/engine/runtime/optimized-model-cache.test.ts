// The optimized-model cache against the goldens and against sessions made without it: a session loaded from an
// entry computes what the uncached one does (bit for bit) and what the goldens say; memory-first sessions are not
// cached; a changed weights file, other session settings and a damaged entry are never used; the folder stays
// under its limit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensors } from '../../formats/safetensors.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { emitOnnx, type EmittedModel } from '../graph/emit-onnx.ts';
import { fixture, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { buildUnetGraph } from '../models/unet.ts';
import { buildVaeDecoderGraph } from '../models/vae.ts';
import { writeRandomCheckpoint } from '../models/random-checkpoint.test-support.ts';
import { checkpointLayout, type Sd15Arch } from '../models/sd15-layout.test-support.ts';
import { configureOptimizedModelCache, OptimizedModelCache, setOptimizedModelCache } from './optimized-model-cache.ts';
import { FOLDED_INFERENCE, LEAN_INFERENCE, ModelSession, VAE_INFERENCE, type CpuMemoryPolicy, type TensorData } from './session.ts';

/** A small SD1.5-shaped checkpoint stored as float16, so the casts-per-run graph has casts to keep or fold. */
const SMALL: Sd15Arch = {
  unet: { modelChannels: 32, channelMult: [1, 2], attentionLevels: [0, 1], resBlocks: 1, transformerDepth: 1, contextDim: 32, inChannels: 4 },
  vae: { channels: [32, 64], resBlocks: 1 },
  clip: { width: 32, layers: 1, mlpWidth: 64, vocab: 1000, positions: 77 },
};

let dir = '';
let tiny = ''; // a copy of the tiny fixture, so the tests may change its modification time
let half = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-ort-cache-'));
  tiny = path.join(dir, 'weights', 'tiny-sd15.safetensors');
  fs.mkdirSync(path.dirname(tiny));
  fs.copyFileSync(fixture('tiny-sd15.safetensors'), tiny);
  half = path.join(dir, 'weights', 'small-f16.safetensors');
  writeRandomCheckpoint(half, checkpointLayout(SMALL), 'F16', 5);
});

after(() => {
  setOptimizedModelCache(null);
  fs.rmSync(dir, { recursive: true, force: true });
});

function unetModel(file: TensorFile, latent = 32): EmittedModel {
  return emitOnnx({ eps: buildUnetGraph(file, { batch: 2, height: latent, width: latent, tokens: 77, compute: 'float32', fusedAttention: true }).eps });
}

const smallFeeds = (): Record<string, TensorData> => {
  const f = (shape: number[], v: (i: number) => number) => ({ dtype: 'float32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => v(i)) });
  return { sample: f([2, 4, 16, 16], (i) => Math.sin(i)), timestep: f([2], () => 500), context: f([2, 77, 32], (i) => Math.cos(i) * 0.1) };
};

async function runOnce(model: EmittedModel, cpuMemory: CpuMemoryPolicy, feeds: Record<string, TensorData>, cached: boolean): Promise<Float32Array> {
  const session = await ModelSession.create(model, { providers: ['cpu'], cpuMemory, cacheOptimized: cached });
  try {
    const out = await session.run(feeds);
    return Object.values(out)[0].data as Float32Array;
  } finally {
    await session.release();
  }
}

const entries = (cache: OptimizedModelCache) => fs.readdirSync(cache.folder).filter((n) => !n.includes('.tmp-'));
const entryBytes = (cache: OptimizedModelCache, name: string) => fs.readdirSync(path.join(cache.folder, name)).reduce((s, f) => s + fs.statSync(path.join(cache.folder, name, f)).size, 0);

describe('optimized-model cache', () => {
  it('a UNet session with folded weights loaded from the cache reproduces unet.eps', async () => {
    const cache = new OptimizedModelCache(path.join(dir, 'cache-golden'));
    setOptimizedModelCache(cache);
    const model = unetModel(openSafetensors(tiny));
    const plain = await runOnce(model, FOLDED_INFERENCE, unetFeeds(), false);
    const written = await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true);
    const loaded = await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true);
    assert.deepEqual(written, plain);
    assert.deepEqual(loaded, plain, 'the session from the cache computes what the uncached one does');
    const err = relativeError(loaded, golden('unet.eps').data);
    assert.ok(err < MODULE_TOLERANCE, `unet.eps error ${err}`);
    assert.deepEqual(cache.stats, { hits: 1, writes: 1 });
  });

  it('carries the folded float32 copies of float16 weights; memory-first sessions are not cached', async () => {
    const cache = new OptimizedModelCache(path.join(dir, 'cache-f16'));
    setOptimizedModelCache(cache);
    const model = unetModel(openSafetensors(half), 16);
    const lean = await runOnce(model, LEAN_INFERENCE, smallFeeds(), true);
    assert.deepEqual(fs.existsSync(cache.folder) ? entries(cache) : [], []);
    const folded = [await runOnce(model, FOLDED_INFERENCE, smallFeeds(), false), await runOnce(model, FOLDED_INFERENCE, smallFeeds(), true), await runOnce(model, FOLDED_INFERENCE, smallFeeds(), true)];
    const [entry] = entries(cache);
    assert.deepEqual(fs.readdirSync(path.join(cache.folder, entry)).sort(), ['model.onnx', 'weights.bin']);
    // float32 copies of the float16 weights: twice the bytes the model reads from the checkpoint
    assert.ok(entryBytes(cache, entry) > 1.9 * model.externalBytes, `${entryBytes(cache, entry)} bytes`);
    assert.deepEqual(cache.stats, { hits: 1, writes: 1 });
    for (const out of folded) assert.deepEqual(out, lean);
  });

  it('the VAE decoder (folded, NCHWc) from the cache reproduces vae.decoded', async () => {
    const cache = new OptimizedModelCache(path.join(dir, 'cache-vae'));
    setOptimizedModelCache(cache);
    const z = golden('vae.z');
    const model = emitOnnx({ image: buildVaeDecoderGraph(openSafetensors(tiny), { batch: 1, height: z.shape[2], width: z.shape[3], compute: 'float32' }).outputs.image });
    const feeds = { latent: { dtype: 'float32' as const, shape: z.shape, data: z.data } };
    const plain = await runOnce(model, VAE_INFERENCE, feeds, false);
    await runOnce(model, VAE_INFERENCE, feeds, true);
    const loaded = await runOnce(model, VAE_INFERENCE, feeds, true);
    assert.equal(cache.stats.hits, 1);
    assert.deepEqual(loaded, plain);
    assert.ok(relativeError(loaded, golden('vae.decoded').data) < MODULE_TOLERANCE);
  });

  it('never uses an entry for a changed weights file or other session settings, and replaces a damaged one', async () => {
    const cache = new OptimizedModelCache(path.join(dir, 'cache-keys'));
    setOptimizedModelCache(cache);
    const model = unetModel(openSafetensors(tiny));
    const plain = await runOnce(model, FOLDED_INFERENCE, unetFeeds(), false);
    await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true);
    // the same file written again (a new modification time): a new entry
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(tiny, later, later);
    await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true);
    assert.equal(entries(cache).length, 2);
    assert.deepEqual(cache.stats, { hits: 0, writes: 2 });
    // other session settings (the NCHWc pass): another key
    await runOnce(model, VAE_INFERENCE, unetFeeds(), true);
    assert.equal(entries(cache).length, 3);
    assert.deepEqual(cache.stats, { hits: 0, writes: 3 });
    // a damaged entry: ORT refuses it, the entry is made again and the session still computes the right thing
    const byAge = entries(cache).sort((a, b) => fs.statSync(path.join(cache.folder, a, 'model.onnx')).mtimeMs - fs.statSync(path.join(cache.folder, b, 'model.onnx')).mtimeMs);
    const damaged = path.join(cache.folder, byAge[1], 'weights.bin'); // the folded entry of the file as it is now
    fs.truncateSync(damaged, 1000);
    assert.deepEqual(await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true), plain);
    assert.ok(fs.statSync(damaged).size > 1000, 'the entry was written again');
    assert.equal(cache.stats.writes, 4);
    assert.deepEqual(await runOnce(model, FOLDED_INFERENCE, unetFeeds(), true), plain);
    assert.equal(cache.stats.hits, 1);
  });

  it('stays under its size limit, dropping the least recently used entries and what dead writers left', async () => {
    const folder = path.join(dir, 'cache-limit');
    const probe = new OptimizedModelCache(folder);
    setOptimizedModelCache(probe);
    const file = openSafetensors(tiny);
    const models = [16, 24, 32].map((latent) => unetModel(file, latent));
    await ModelSession.create(models[0], { providers: ['cpu'], cpuMemory: FOLDED_INFERENCE, cacheOptimized: true }).then((s) => s.release());
    const one = entryBytes(probe, entries(probe)[0]);
    // room for two entries of this size: the third write drops the oldest
    const cache = new OptimizedModelCache(folder, Math.floor(2.5 * one));
    setOptimizedModelCache(cache);
    const stale = path.join(folder, 'abc.tmp-1-1');
    fs.mkdirSync(stale);
    fs.utimesSync(stale, new Date(0), new Date(0));
    for (const m of models.slice(1)) {
      await new Promise((r) => setTimeout(r, 20)); // distinct modification times
      await ModelSession.create(m, { providers: ['cpu'], cpuMemory: FOLDED_INFERENCE, cacheOptimized: true }).then((s) => s.release());
    }
    const left = fs.readdirSync(folder);
    assert.equal(left.length, 2, left.join(', '));
    assert.ok(!left.includes('abc.tmp-1-1'));
    const keys = models.map((m) => cache.keyFor(m, { executionProviders: ['cpu'] }, 'x'));
    assert.equal(new Set(keys).size, 3, 'each size is its own graph');
  });

  it('lives in <data>/ort-cache, or where HINTBRUSH_ORT_CACHE says, or nowhere when it says off', () => {
    assert.equal(configureOptimizedModelCache('/data', undefined)?.folder, path.resolve('/data/ort-cache'));
    assert.equal(configureOptimizedModelCache('/data', path.join(dir, 'elsewhere'))?.folder, path.join(dir, 'elsewhere'));
    assert.equal(configureOptimizedModelCache('/data', 'off'), null);
    assert.equal(configureOptimizedModelCache('', undefined), null);
  });
});
