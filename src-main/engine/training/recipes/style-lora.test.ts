import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureFile, golden } from '../../goldens.test-support.ts';
import { describe, GRADIENT_TOLERANCE, OPTIMIZER_TOLERANCE, replayGoldens, type GoldenSource } from '../golden-training.test-support.ts';
import { type Node, topologicalOrder } from '../../graph/node.ts';
import { buildStyleLoraTraining } from './style-lora.ts';

const context = () => ({ dtype: 'float32' as const, shape: [2, 77, 32], data: golden('train.context', 'training.safetensors').data });
const source = (): GoldenSource => ({ file: 'training.safetensors', prefix: 'style.', data: 'train.', steps: 12, extra: {}, context: context() });
const shape = { batch: 2, height: 16, width: 16, tokens: 77 };

test('style LoRA: parameters are the kohya keys of training.json', () => {
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, rank: 4, alpha: 2 });
  const expected = fixtureFile('training.safetensors');
  const names = tg.params.map((p) => p.name).sort();
  const golden = [...expected.tensors.keys()].filter((k) => k.startsWith('style.init.')).map((k) => k.slice('style.init.'.length)).sort();
  assert.deepEqual(names, golden);
  for (const p of tg.params) assert.deepEqual(p.input.shape, expected.tensors.get(`style.init.${p.name}`)!.shape, p.name);
});

test('style LoRA reproduces loss0, grad.*, step1.*, losses and final.* (12 AdamW steps)', async (t) => {
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, rank: 4, alpha: 2 });
  const e = await replayGoldens(tg, source());
  t.diagnostic(`style: ${describe(e)}`);
  assert.ok(e.loss0 < GRADIENT_TOLERANCE, `loss0 ${e.loss0}`);
  assert.ok(e.grad < GRADIENT_TOLERANCE, `grad ${e.grad}`);
  assert.ok(e.step1! < OPTIMIZER_TOLERANCE, `step1 ${e.step1}`);
  assert.ok(e.losses < OPTIMIZER_TOLERANCE, `losses ${e.losses}`);
  assert.ok(e.final < OPTIMIZER_TOLERANCE, `final ${e.final}`);
});

test('style LoRA with attention in query chunks (8 per 256-token attention) and recomputation reproduces the same goldens', async (t) => {
  // 2 images x 8 heads x 32 queries x 256 keys per chunk: the 16x16 level's attention runs in 8 chunks.
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, rank: 4, alpha: 2, attentionChunkElements: 2 * 8 * 32 * 256 });
  assert.ok(countChunks(tg.loss) > 0, 'the graph has chunked attention');
  const e = await replayGoldens(tg, source(), { recompute: true });
  t.diagnostic(`style, chunked: ${describe(e)}`);
  assert.ok(e.loss0 < GRADIENT_TOLERANCE, `loss0 ${e.loss0}`);
  assert.ok(e.grad < GRADIENT_TOLERANCE, `grad ${e.grad}`);
  assert.ok(e.step1! < OPTIMIZER_TOLERANCE, `step1 ${e.step1}`);
  assert.ok(e.losses < OPTIMIZER_TOLERANCE, `losses ${e.losses}`);
  assert.ok(e.final < OPTIMIZER_TOLERANCE, `final ${e.final}`);
});

/** Attention chunks in a graph: Concat nodes along the token axis fed by Reshapes of attention outputs. */
function countChunks(loss: Node): number {
  return topologicalOrder([loss]).filter((n) => n.op === 'Concat' && n.inputs.length === 8 && n.inputs.every((i) => i.op === 'Reshape')).length;
}
