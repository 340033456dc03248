// Hires fix through the engine's 'generate' task (the path the studio and the CLI take): an ONNX upscaler file
// built with the graph builder, a ControlNet steering both passes, the PNG at the target size whose A1111
// parameters read back to the same settings; files that are not image upscalers are named before any step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { HiresSettings } from '../../common/hires-contract.ts';
import { infotextToSettings } from '../../generation/infotext.ts';
import { decodePng, encodePng } from '../../formats/png.ts';
import { sideBySideGraph, tinyUpscalerGraph, writeGraph } from '../pipeline/tiny-upscaler.test-support.ts';
import type { TaskContext, TaskProgress } from '../protocol.ts';
import type { GeneratePayload, GenerateTaskResult } from './generate-payload.ts';
import { generateTask, releaseGenerateRuntime } from './generate-task.ts';
import { fixtureRef as ref, fixtureSettings } from './golden-settings.test-support.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-hires-task-'));
after(async () => {
  await releaseGenerateRuntime();
  fs.rmSync(dir, { recursive: true, force: true });
});

const context = (onProgress: (p: TaskProgress) => void = () => {}): TaskContext => ({
  jobId: 'test',
  signal: new AbortController().signal,
  provider: 'cpu',
  resourcesDir: '',
  dataDir: '',
  progress: onProgress,
});

const hires = (over: Partial<HiresSettings>): HiresSettings => ({ upscaler: 'Latent', model: null, scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 3, denoise: 0.5, ...over });
const run = (payload: Partial<GeneratePayload>, onProgress?: (p: TaskProgress) => void) =>
  generateTask({ settings: fixtureSettings(), controls: [], init: null, mask: null, ...payload }, context(onProgress)) as Promise<GenerateTaskResult>;

test('an ONNX upscaler and a ControlNet: a 64x64 first pass becomes a 128x128 PNG whose parameters read back', async () => {
  const file = writeGraph(path.join(dir, '2x-tiny-esrgan.onnx'), tinyUpscalerGraph(48, 48));
  const hint = new Uint8Array(encodePng({ width: 64, height: 64, channels: 3, data: Uint8Array.from({ length: 64 * 64 * 3 }, (_, i) => (i % 192 < 96 ? 255 : 0)) }));
  const settings = fixtureSettings({
    width: 64,
    height: 64,
    steps: 4,
    controls: [{ kind: 'controlnet', model: ref('tiny-controlnet.safetensors', '12345678'), base: null, weight: 0.8, start: 0, end: 1, resizeMode: 'crop-and-resize' }],
    hires: hires({ upscaler: 'model', model: { id: null, name: '2x-tiny-esrgan', hash: '', path: file }, steps: 3, denoise: 0.5 }),
  });
  const progress: TaskProgress[] = [];
  const result = await run({ settings, controls: [{ png: hint }] }, (p) => progress.push(p));
  const png = decodePng(result.pictures[0].png);
  assert.deepEqual([png.width, png.height], [128, 128]);
  const text = png.text.parameters;
  assert.match(text, /Denoising strength: 0\.5, .*Hires upscale: 2, Hires steps: 3, Hires upscaler: 2x-tiny-esrgan/);
  const read = infotextToSettings(text);
  assert.deepEqual([read.width, read.height, read.steps], [64, 64, 4]);
  assert.deepEqual(read.hires, { upscaler: 'model', upscalerName: '2x-tiny-esrgan', model: { name: '2x-tiny-esrgan', hash: '', id: null }, scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 3, denoise: 0.5 });
  // 4 first-pass steps and 3 hires steps, one job; the previews follow the pass's size
  const steps = progress.filter((p) => p.step > 0);
  assert.deepEqual(steps.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(steps.every((p) => p.total === 7));
  assert.deepEqual([decodePng(steps[0].preview!).width, decodePng(steps[6].preview!).width], [8, 16]);
});

test('Hires resize 96x128 from 64x64: the latents fill the target (A1111 cuts the overflow) and the text says so', async () => {
  const settings = fixtureSettings({ width: 64, height: 64, steps: 2, hires: hires({ upscaler: 'Latent (nearest-exact)', resizeWidth: 96, resizeHeight: 128, steps: 0, denoise: 0.75 }) });
  const result = await run({ settings });
  const png = decodePng(result.pictures[0].png);
  assert.deepEqual([png.width, png.height], [96, 128]);
  assert.match(png.text.parameters, /Denoising strength: 0\.75, .*Hires resize: 96x128, Hires upscaler: Latent \(nearest-exact\)/);
  assert.doesNotMatch(png.text.parameters, /Hires steps|Hires upscale:/);
});

test('files that are not image upscalers are named before anything runs', async () => {
  const side = writeGraph(path.join(dir, 'side-by-side.onnx'), sideBySideGraph(32, 32));
  const notOnnx = path.join(dir, 'notes.onnx');
  fs.writeFileSync(notOnnx, 'these are my notes, not a model');
  for (const [file, pattern] of [
    [side, /side-by-side\.onnx is not an image upscaler: its output 32x64 is no whole multiple of its input 32x32/],
    [notOnnx, /notes\.onnx is not an image upscaler/],
    [path.join(dir, 'gone.onnx'), /The upscaler .*gone\.onnx does not exist/],
  ] as const) {
    const progress: TaskProgress[] = [];
    const settings = fixtureSettings({ width: 64, height: 64, steps: 2, hires: hires({ upscaler: 'model', model: { id: null, name: 'x', hash: '', path: file } }) });
    await assert.rejects(run({ settings }, (p) => progress.push(p)), (e: Error) => pattern.test(e.message));
    assert.ok(progress.every((p) => p.step === 0), 'no step ran');
  }
});
