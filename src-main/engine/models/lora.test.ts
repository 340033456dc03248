import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import type { Graph } from '../graph/node.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { buildClipTextGraph, clipLoraName } from './clip-text.ts';
import { indexLoraFile, LoraSet, parseLoraKey, type LoraNamer } from './lora.ts';
import { buildUnetGraph } from './unet.ts';
import { unetLoraName } from './unet-config.ts';

const strength = (v: number): TensorData => ({ dtype: 'float32', shape: [1], data: Float32Array.of(v) });

function loraFactory(file: TensorFile, namer: LoraNamer) {
  return (g: Graph) => new LoraSet(g, 'float32', [{ file, modules: indexLoraFile(file), strength: g.input('lora_0', 'float32', [1]) }], namer);
}

test('kohya LoRA on the UNet at runtime strength 0.7 reproduces lora.eps; strength 0 gives unet.eps', async () => {
  const lora = fixtureFile('tiny-lora.safetensors');
  let set: LoraSet | null = null;
  const { eps } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), {
    batch: 2,
    height: 32,
    width: 32,
    tokens: 77,
    loras: (g, cfg) => (set = loraFactory(lora, unetLoraName(cfg))(g)),
  });
  const unetModules = [...indexLoraFile(lora).keys()].filter((k) => k.startsWith('lora_unet_'));
  assert.equal(set!.used.size, unetModules.length, 'every UNet module of the LoRA found its layer');
  const session = await ModelSession.create(emitOnnx({ eps }), { providers: ['cpu'] });
  const at07 = await session.run({ ...unetFeeds(), lora_0: strength(0.7) });
  const err = relativeError(at07.eps.data as Float32Array, golden('lora.eps').data);
  assert.ok(err < MODULE_TOLERANCE, `lora.eps error ${err}`);
  const at0 = await session.run({ ...unetFeeds(), lora_0: strength(0) });
  assert.ok(relativeError(at0.eps.data as Float32Array, golden('unet.eps').data) < MODULE_TOLERANCE);
  await session.release();
});

test('kohya LoRA on the text encoder reproduces lora.text.hidden', async () => {
  const lora = fixtureFile('tiny-lora.safetensors');
  const { outputs } = buildClipTextGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, loras: (g, cfg) => loraFactory(lora, clipLoraName(cfg))(g) });
  const session = await ModelSession.create(emitOnnx({ hidden: outputs.hidden }), { providers: ['cpu'] });
  const ids = golden('text.ids');
  const out = await session.run({ input_ids: { dtype: 'int64', shape: [2, 77], data: BigInt64Array.from(ids.data, (v) => BigInt(v)) }, lora_0: strength(0.7) });
  const err = relativeError(out.hidden.data as Float32Array, golden('lora.text.hidden').data);
  assert.ok(err < MODULE_TOLERANCE, `lora.text.hidden error ${err}`);
  await session.release();
});

test('diffusers and PEFT LoRA keys normalise to kohya module names', () => {
  assert.equal(parseLoraKey('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight')?.module, 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q');
  assert.equal(parseLoraKey('unet.up_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight')?.module, 'lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn2_to_out_0');
  assert.equal(parseLoraKey('text_encoder.text_model.encoder.layers.3.self_attn.q_proj.lora.down.weight')?.module, 'lora_te_text_model_encoder_layers_3_self_attn_q_proj');
  assert.equal(parseLoraKey('lora_unet_mid_block_attentions_0_proj_in.lora_up.weight')?.part, 'up');
});
