// Trained files load back where users load them: a style LoRA trained a few steps on the tiny model is a kohya
// file (keys, alpha, ss_* metadata) that the library detects as a LoRA and the engine's LoRA loader applies in a
// generation; a CtrLoRA condition trained a few steps is a release-layout condition file that the library
// detects and buildCtrLoraGraph runs in a generation. The 'train' task runs in this process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import { decodePng } from '../../formats/png.ts';
import { detectModel } from '../../model-detection/detect.ts';
import { indexLoraFile } from '../models/lora.ts';
import { detectCtrLoraCondition } from '../models/ctrlora.ts';
import { generate } from '../pipeline/generate.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import type { TaskContext, TaskProgress } from '../protocol.ts';
import { fixture } from '../goldens.test-support.ts';
import { trainTask } from '../tasks/train-task.ts';
import type { TrainedResult } from '../tasks/train-payload.ts';
import { fitted, toTensor } from './data-cache.ts';
import { makeDataset, tinyPayload } from './training-data.test-support.ts';

const context = (progress: TaskProgress[]): TaskContext => ({ jobId: 't', signal: new AbortController().signal, provider: 'cpu', resourcesDir: '', dataDir: '', progress: (p) => progress.push(p) });
const work = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-train-'));
const request = { prompt: 'hbstyle, red disc', negative: '', width: 64, height: 64, steps: 3, cfg: 7.5, seed: 5, sampler: 'ddim' as const, clipSkip: 1 as const };

test('style: a LoRA trained 3 steps is a kohya file the library and the LoRA loader take, and it changes the picture', async () => {
  const dir = work();
  const data = makeDataset(3);
  const progress: TaskProgress[] = [];
  const result = (await trainTask(tinyPayload('style', data, 3, dir, { sampleEvery: 3 }), context(progress))) as TrainedResult;
  assert.equal(result.losses.length, 3);
  assert.ok(result.losses.every(Number.isFinite));
  const steps = progress.filter((p) => p.step > 0);
  assert.deepEqual(steps.map((p) => p.step), [1, 2, 3]);
  assert.match(steps[0].message, /^loss \d/);
  const sample = decodePng(steps[2].preview!);
  assert.deepEqual([sample.width, sample.height], [64, 64], 'a sample picture at step 3');
  assert.ok(!fs.existsSync(path.join(dir, 'run', 'checkpoint.safetensors')), 'the checkpoint is gone once the file is written');

  const file = openTensorFile(result.output);
  try {
    const modules = indexLoraFile(file);
    const keys = [...file.tensors.keys()];
    assert.equal(modules.size * 3, keys.length, 'down, up and alpha per module');
    for (const [name, m] of modules) {
      assert.match(name, /^lora_unet_(down|mid|up)_blocks?_.*(to_q|to_k|to_v|to_out_0|ff_net_0_proj|ff_net_2|proj_in|proj_out)$/);
      assert.equal(m.rank, 4);
      assert.equal(file.readFloat32(m.alpha!)[0], 2);
      assert.equal(file.tensors.get(m.down)!.dtype, 'F16');
    }
    const meta = file.metadata;
    assert.equal(meta.ss_network_module, 'networks.lora');
    assert.equal(meta.ss_network_dim, '4');
    assert.equal(meta.ss_network_alpha, '2');
    assert.equal(meta.ss_base_model_version, 'sd_v1');
    assert.equal(meta.ss_steps, '3');
    assert.equal(meta.ss_learning_rate, '0.001');
    assert.equal(meta.ss_resolution, '(64, 64)');
    assert.deepEqual(JSON.parse(meta.ss_tag_frequency), { testset: { hbstyle: 3, 'picture 0': 1, 'picture 1': 1, 'picture 2': 1, 'red disc': 3 } });
    assert.match(meta.sshs_model_hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(meta.hintbrush_training), { recipe: 'style' });
    const detected = detectModel(file);
    assert.equal(detected.kind, 'lora');
  } finally {
    file.close();
  }

  const runtime = new ModelRuntime('float32', ['cpu']);
  try {
    const plain = await generate(runtime, { ...request, checkpoint: fixture('tiny-sd15.safetensors'), controls: [], loras: [] });
    const styled = await generate(runtime, { ...request, checkpoint: fixture('tiny-sd15.safetensors'), controls: [], loras: [{ path: result.output, strength: 1 }] });
    assert.ok(styled.image.data.every(Number.isFinite));
    const diff = Math.max(...styled.latents.data.map((v, i) => Math.abs(v - plain.latents.data[i])));
    assert.ok(diff > 1e-5, `the trained LoRA changes the latents (max difference ${diff})`);
  } finally {
    await runtime.dispose();
  }
});

test('ctrlora: a condition trained 2 steps is a release-layout file that buildCtrLoraGraph runs', async () => {
  const dir = work();
  const data = makeDataset(2, { pairs: true });
  const payload = tinyPayload('ctrlora', data, 2, dir, { steps: 2, rank: 3 });
  const result = (await trainTask(payload, context([]))) as TrainedResult;
  const file = openTensorFile(result.output);
  try {
    const keys = [...file.tensors.keys()];
    assert.ok(keys.every((k) => k.startsWith('control_model.')));
    assert.ok(keys.some((k) => /^control_model\.zero_convs\.\d+\.0\.weight$/.test(k)));
    assert.ok(keys.some((k) => k.startsWith('control_model.middle_block_out.0.')));
    const cond = detectCtrLoraCondition(file);
    assert.equal(cond.rank, 3, 'the rank asked for, not the base pretraining rank');
    assert.ok(cond.modules.size > 0 && cond.normTensors > 0);
    const up = file.readFloat32([...cond.modules.values()][0].up);
    assert.ok(up.some((v) => v !== 0), 'the LoRA up factors moved from zero');
    assert.equal(detectModel(file).kind, 'ctrlora-lora');
  } finally {
    file.close();
  }
  const runtime = new ModelRuntime('float32', ['cpu']);
  try {
    const image = toTensor(await fitted(path.join(data, 'img0.cond.png'), { width: 64, height: 64 }), 1, 0);
    const unit = { kind: 'ctrlora' as const, base: fixture('tiny-ctrlora-base.safetensors'), path: result.output, image, weight: 1, start: 0, end: 1 };
    const steered = await generate(runtime, { ...request, checkpoint: fixture('tiny-sd15.safetensors'), controls: [unit], loras: [] });
    assert.ok(steered.image.data.every(Number.isFinite));
  } finally {
    await runtime.dispose();
  }
});
