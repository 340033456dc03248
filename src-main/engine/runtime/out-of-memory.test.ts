import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generationOomMessage, smallerSize, trainingOomMessage } from './out-of-memory.ts';
import { EngineRunError } from './session.ts';

const oom = new EngineRunError('out-of-memory', 'out of memory: Failed to allocate memory for requested buffer of size 1073741824');

test('the next smaller size keeps sides multiples of 64, about half the pixels, never below 256', () => {
  assert.deepEqual(smallerSize(1024, 1024), { width: 768, height: 768 });
  assert.deepEqual(smallerSize(768, 512), { width: 576, height: 384 });
  assert.deepEqual(smallerSize(512, 256), { width: 384, height: 256 });
  assert.equal(smallerSize(256, 256), null);
});

test('generation: batch first, then fp16 on a GPU, then a lower size, then nothing smaller', () => {
  const g = { width: 1024, height: 768, batchSize: 2, provider: 'dml', compute: 'float32' as const };
  assert.match(generationOomMessage(g, oom), /^Out of GPU memory \(DirectML\) generating 1024x768 with batch size 2 in float32\. Next smaller step: generate with batch size 1/);
  assert.match(generationOomMessage({ ...g, batchSize: 1 }, oom), /Next smaller step: compute in fp16/);
  assert.match(generationOomMessage({ ...g, batchSize: 1, compute: 'float16' }, oom), /Next smaller step: lower the size to 768x576\./);
  assert.match(generationOomMessage({ ...g, width: 256, height: 256, batchSize: 1, provider: 'cpu' }, oom), /^Out of memory generating 256x256.*Next smaller step: close other programs that use the memory\./);
  assert.match(generationOomMessage(g, oom), /\(out of memory: Failed to allocate memory for requested buffer of size 1073741824\)$/);
});

test('training: recomputation first, then batch, fp16 and resolution', () => {
  const t = { resolution: 768, batchSize: 2, rank: 32, recompute: false, provider: 'webgpu', compute: 'float32' as const };
  assert.match(trainingOomMessage(t, oom), /^Out of GPU memory \(WebGPU\) training at 768 px with batch size 2, rank 32, recomputation off, in float32\. Next smaller step: turn recomputation on/);
  assert.match(trainingOomMessage({ ...t, recompute: true }, oom), /Next smaller step: train with batch size 1\./);
  assert.match(trainingOomMessage({ ...t, recompute: true, batchSize: 1 }, oom), /Next smaller step: train in fp16/);
  assert.match(trainingOomMessage({ ...t, recompute: true, batchSize: 1, compute: 'float16' }, oom), /Next smaller step: lower the resolution to 640 px\./);
});
