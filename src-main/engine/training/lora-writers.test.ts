// The writers without training: a style LoRA with text-encoder modules is written in kohya's layout (alpha per
// module, lora_te_* names the engine's CLIP LoRA namer produces), kohya's tag frequency counts, and a CtrLoRA
// condition refuses keys outside control_model.; on a full disk the LoRA files and the training checkpoint
// fail with disk-full and the file written before stays whole.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DiskWriteError } from '../../formats/atomic-file.ts';
import { fillDisk, tempFilesIn } from '../../formats/disk-full.test-support.ts';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import { clipLoraName, detectClipText } from '../models/clip-text.ts';
import { indexLoraFile } from '../models/lora.ts';
import { fixtureFile } from '../goldens.test-support.ts';
import { CHECKPOINT_FILE, checkpointProgress, saveCheckpoint, type TrainingCheckpoint } from './checkpoint.ts';
import { kohyaMetadata, tagFrequency, writeCtrLoraCondition, writeStyleLora, type StyleLoraInfo } from './lora-writers.ts';
import { buildStyleLoraTraining, textEncoderLoraLayers } from './recipes/style-lora.ts';

const info = (over: Partial<StyleLoraInfo> = {}): StyleLoraInfo => ({
  outputName: 'x', rank: 4, alpha: 1, steps: 10, lr: 1e-4, batchSize: 2, resolution: 512, seed: 3, trainTextEncoder: true, mixedPrecision: 'fp16', gradientCheckpointing: true,
  datasetName: 'cats', captions: ['hb, cat', 'hb, dog, cat', ''], imageCount: 3, buckets: [{ width: 512, height: 512, count: 3 }], baseModelName: 'sd15', baseModelHash: 'abcdef0123',
  startedAt: new Date(0), finishedAt: new Date(60_000), settings: { a: 1 }, ...over,
});

test('a style LoRA with the text encoder: kohya keys the engine applies, alpha per module, ss_* metadata', () => {
  const checkpoint = fixtureFile('tiny-sd15.safetensors');
  const tg = buildStyleLoraTraining(checkpoint, { batch: 1, height: 8, width: 8, tokens: 77, rank: 4, alpha: 1, textEncoder: true });
  assert.ok(tg.graph.inputs.some((n) => n.attrs.name === 'input_ids'), 'the context comes from token ids');
  const namer = clipLoraName(detectClipText(checkpoint));
  const te = textEncoderLoraLayers(detectClipText(checkpoint)).map((p) => namer(p)!);
  const initial = tg.initial();
  const params = tg.params.map((p) => ({ name: p.name, shape: p.input.shape, data: initial.get(p.name)! }));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-writer-')), 'x.safetensors');
  writeStyleLora(file, params, info());
  const f = openTensorFile(file);
  try {
    const modules = indexLoraFile(f);
    for (const name of te) assert.ok(modules.has(name), `${name} in the file`);
    assert.equal([...modules.keys()].filter((n) => n.startsWith('lora_te_')).length, te.length);
    assert.ok([...modules.values()].every((m) => m.alpha && f.readFloat32(m.alpha)[0] === 1));
    assert.equal(f.metadata.ss_text_encoder_lr, '0.0001');
    assert.equal(f.metadata.ss_num_epochs, '5', '10 steps of 2 batches per epoch');
    assert.equal(f.metadata.ss_mixed_precision, 'fp16');
    assert.equal(f.metadata.ss_training_started_at, '0');
    assert.equal(f.metadata.ss_training_finished_at, '60');
  } finally {
    f.close();
  }
});

test('kohya tag frequency and metadata values are strings; a condition takes control_model.* keys only', () => {
  assert.deepEqual(tagFrequency(['hb, cat', 'hb, dog, cat', '', ' , hb ']), { hb: 3, cat: 2, dog: 1 });
  const meta = kohyaMetadata(info());
  assert.ok(Object.values(meta).every((v) => typeof v === 'string'));
  assert.deepEqual(JSON.parse(meta.ss_dataset_dirs), { cats: { n_repeats: 1, img_count: 3 } });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-writer-')), 'c.safetensors');
  assert.throws(() => writeCtrLoraCondition(file, [{ name: 'zero_convs.0.0.weight', shape: [1], data: new Float32Array(1) }], { outputName: 'c', condition: 'edge', rank: 4, steps: 1, lr: 1, baseName: 'b', baseModelName: 'm', settings: null }), /not a CtrLoRA condition key/);
  assert.ok(!fs.existsSync(file));
});

test('a full disk: the LoRA files and the training checkpoint fail with disk-full, the previous file stays whole, no temporary file', (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-writer-full-'));
  const params = [
    { name: 'lora_unet_a.lora_down.weight', shape: [4, 64], data: new Float32Array(256).fill(0.25) },
    { name: 'lora_unet_a.lora_up.weight', shape: [64, 4], data: new Float32Array(256).fill(0.5) },
  ];
  const style = path.join(folder, 'style.safetensors');
  writeStyleLora(style, params, info());
  const condition = path.join(folder, 'cond.safetensors');
  const condInfo = { outputName: 'c', condition: 'edge', rank: 4, steps: 1, lr: 1, baseName: 'b', baseModelName: 'm', settings: null };
  const condParams = [{ name: 'control_model.x.weight', shape: [256], data: new Float32Array(256).fill(1) }];
  writeCtrLoraCondition(condition, condParams, condInfo);
  const checkpoint = path.join(folder, CHECKPOINT_FILE);
  const state = (step: number): TrainingCheckpoint => ({
    step, adamStep: step, lossScale: null, scalerClean: 0, seed: 1, dataOrder: { epoch: 0, order: [0, 1] }, fingerprint: 'f', elapsedSeconds: step,
    losses: new Float32Array(step).fill(0.1), params: new Map([['p', new Float32Array(512)]]), m: new Map([['p', new Float32Array(512)]]),
    v: new Map([['p', new Float32Array(512)]]), shapes: new Map([['p', [512]]]),
  });
  saveCheckpoint(checkpoint, state(3));
  const before = new Map([style, condition, checkpoint].map((f) => [f, fs.readFileSync(f)]));

  const disk = fillDisk(t, folder, { freeBytes: 700 });
  const diskFull = (e: unknown) => e instanceof DiskWriteError && e.kind === 'disk-full' && e.folder === folder && e.bytesNeeded! > 700 && /needed/.test(e.message);
  assert.throws(() => writeStyleLora(style, params.map((p) => ({ ...p, data: p.data.map(() => 0.75) })), info()), diskFull);
  assert.throws(() => writeCtrLoraCondition(condition, condParams, condInfo), diskFull);
  assert.throws(() => saveCheckpoint(checkpoint, state(6)), diskFull);
  disk.restore();
  for (const [f, bytes] of before) assert.deepEqual(fs.readFileSync(f), bytes, `${path.basename(f)} is unchanged`);
  assert.equal(checkpointProgress(checkpoint)?.step, 3, 'the resume point is the last checkpoint that was written whole');
  assert.deepEqual(tempFilesIn(folder), []);
  fs.rmSync(folder, { recursive: true, force: true });
});
