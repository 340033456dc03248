// The engine's 'generate' task in this process (the CLI and job tests run it in an engine child process).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { infotextToSettings } from '../../generation/infotext.ts';
import { decodePng } from '../../formats/png.ts';
import { EngineRunError } from '../runtime/session.ts';
import { fixture, golden, PIPELINE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import type { TaskContext, TaskProgress } from '../protocol.ts';
import type { GeneratePayload, GenerateTaskResult } from './generate-payload.ts';
import { explainFailure, generateTask, releaseGenerateRuntime } from './generate-task.ts';
import { fixtureRef as ref, fixtureSettings } from './golden-settings.test-support.ts';

after(() => releaseGenerateRuntime());

function context(onProgress: (p: TaskProgress) => void = () => {}, abort = new AbortController()): TaskContext {
  return { jobId: 'test', signal: abort.signal, provider: 'cpu', resourcesDir: '', dataDir: '', progress: onProgress };
}

const run = (payload: Partial<GeneratePayload>, ctx = context()) =>
  generateTask({ settings: fixtureSettings(), controls: [], init: null, mask: null, ...payload }, ctx) as Promise<GenerateTaskResult>;

test('a batch of two: seeds 42 and 43, the first reproduces pipe.ddim.latents, each PNG carries its parameters', async () => {
  const progress: TaskProgress[] = [];
  const result = await run({ settings: fixtureSettings({ batchSize: 2 }), returnLatents: true }, context((p) => progress.push(p)));
  assert.equal(result.compute, 'float32');
  assert.deepEqual(result.pictures.map((p) => p.seed), [42, 43]);
  const err = relativeError(result.pictures[0].latents!, golden('pipe.ddim.latents').data);
  assert.ok(err < PIPELINE_TOLERANCE, `pipe.ddim.latents error ${err}`);
  assert.ok(relativeError(result.pictures[1].latents!, golden('pipe.ddim.latents').data) > 0.01, 'seed 43 differs');
  for (const [i, picture] of result.pictures.entries()) {
    const png = decodePng(picture.png);
    assert.deepEqual([png.width, png.height, png.channels], [256, 256, 3]);
    assert.equal(png.text.parameters, picture.parameters);
    const read = infotextToSettings(png.text.parameters);
    assert.deepEqual([read.seed, read.steps, read.sampler, read.cfg], [42 + i, 10, 'ddim', 7.5]);
    assert.equal(picture.settings.batchIndex, i);
  }
  // one update before the first step, then one per step of each picture, each with a 32x32 preview
  const steps = progress.filter((p) => p.step > 0);
  assert.deepEqual(steps.map((p) => p.step), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.ok(steps.every((p) => p.total === 20 && p.preview));
  const preview = decodePng(steps[5].preview!);
  assert.deepEqual([preview.width, preview.height], [32, 32]);
});

test('a cancel stops the run within one step', async () => {
  const abort = new AbortController();
  const seen: number[] = [];
  const ctx = context((p) => {
    if (p.step > 0) seen.push(p.step);
    if (p.step === 3) abort.abort(new Error('cancelled'));
  }, abort);
  await assert.rejects(run({ settings: fixtureSettings({ steps: 30 }) }, ctx));
  assert.deepEqual(seen, [1, 2, 3]);
});

test('a missing model and a model of the wrong kind are named', async () => {
  const missing = fixtureSettings({ checkpoint: { ...ref('tiny-sd15.safetensors'), path: fixture('nope.safetensors') } });
  await assert.rejects(run({ settings: missing }), (e: Error & { kind?: string }) => e.kind === 'model-missing' && e.message.includes('nope.safetensors'));
  const wrong = fixtureSettings({ checkpoint: ref('tiny-lora.safetensors') });
  await assert.rejects(run({ settings: wrong }), (e: Error & { kind?: string }) => e.kind === 'wrong-model' && /tiny-lora\.safetensors is a lora model/.test(e.message));
  await assert.rejects(run({ settings: fixtureSettings(), controls: [{ png: new Uint8Array(3) }] }), /one control picture per control unit/);
});

test('out of memory names the size and the next smaller step', () => {
  const oom = new EngineRunError('out-of-memory', 'out of memory: Failed to allocate 2 GB');
  const err = explainFailure(oom, fixtureSettings({ width: 1024, height: 768, batchSize: 4 }), 'cuda', 'float32') as Error & { kind: string };
  assert.equal(err.kind, 'out-of-memory');
  assert.match(err.message, /^Out of GPU memory \(CUDA\) generating 1024x768 with batch size 4 in float32\. Next smaller step: generate with batch size 1/);
  assert.match(err.message, /Failed to allocate 2 GB\)$/);
  const other = new Error('x');
  assert.equal(explainFailure(other, fixtureSettings(), 'cpu', 'float32'), other);
});
