// Families and layouts no fixture covers, proven on small safetensors files written here with the real key
// names and tiny shapes: SDXL, SD2, SD3, Flux, standalone VAEs, diffusers/PEFT LoRAs, and the odd cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTensorFile } from '../formats/open-tensor-file.ts';
import { detectModel, type Detection } from './detect.ts';
import { f32Scalar, writeSafetensors, type FakeTensor } from '../library/handmade-safetensors.test-support.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-synthetic-'));
let counter = 0;

function detect(tensors: Record<string, FakeTensor>, metadata?: Record<string, string>): Detection {
  const file = path.join(dir, `model-${counter++}.safetensors`);
  writeSafetensors(file, tensors, metadata);
  const opened = openTensorFile(file);
  try {
    return detectModel(opened);
  } finally {
    opened.close();
  }
}

const t = (...shape: number[]): FakeTensor => ({ shape });
const U = 'model.diffusion_model.';

test('SDXL checkpoints (and SDXL UNet-only files) are named and refused', () => {
  const d = detect({
    [`${U}input_blocks.0.0.weight`]: t(8, 4, 3, 3),
    [`${U}input_blocks.4.1.proj_in.weight`]: t(8, 8), // linear proj_in
    [`${U}input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight`]: t(8, 20),
    [`${U}label_emb.0.0.weight`]: t(8, 12),
    'conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight': t(10, 4),
    'conditioner.embedders.1.model.token_embedding.weight': t(10, 4),
    'first_stage_model.encoder.conv_in.weight': t(4, 3, 3, 3),
  });
  assert.equal(d.kind, 'unsupported');
  assert.equal(d.family, 'sdxl');
  assert.equal(d.problem, 'this is an SDXL checkpoint; Hintbrush runs SD1.5-family models');
  assert.equal(d.details.variant, 'base');
  assert.equal(d.details.contextWidth, 20);

  const unetOnly = detect({
    [`${U}input_blocks.0.0.weight`]: t(8, 4, 3, 3),
    [`${U}input_blocks.4.1.proj_in.weight`]: t(8, 8),
    [`${U}label_emb.0.0.weight`]: t(8, 12),
  });
  assert.equal(unetOnly.kind, 'unsupported');
  assert.equal(unetOnly.family, 'sdxl');
});

test('SD2 checkpoints are told apart by the OpenCLIP text tower or linear proj_in', () => {
  const openClip = detect({
    [`${U}input_blocks.0.0.weight`]: t(8, 4, 3, 3),
    [`${U}input_blocks.1.1.proj_in.weight`]: t(8, 8),
    'cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight': t(12, 4),
    'cond_stage_model.model.token_embedding.weight': t(10, 4),
  });
  assert.equal(openClip.kind, 'unsupported');
  assert.equal(openClip.family, 'sd2');
  assert.equal(openClip.problem, 'this is an SD2 checkpoint; Hintbrush runs SD1.5-family models');

  const linearOnly = detect({ [`${U}input_blocks.0.0.weight`]: t(8, 4, 3, 3), [`${U}input_blocks.1.1.proj_in.weight`]: t(8, 8) });
  assert.equal(linearOnly.family, 'sd2');
});

test('SD3 and Flux are named and refused', () => {
  const sd3 = detect({
    [`${U}joint_blocks.0.x_block.attn.qkv.weight`]: t(6, 2),
    [`${U}joint_blocks.1.x_block.attn.qkv.weight`]: t(6, 2),
    [`${U}x_embedder.proj.weight`]: t(2, 16, 2, 2),
  });
  assert.equal(sd3.kind, 'unsupported');
  assert.equal(sd3.family, 'sd3');
  assert.equal(sd3.problem, 'this is an SD3 model; Hintbrush runs SD1.5-family models');
  assert.equal(sd3.details.blocks, 2);

  const flux = detect({
    'double_blocks.0.img_attn.qkv.weight': t(6, 2),
    'single_blocks.0.linear1.weight': t(6, 2),
    'single_blocks.1.linear1.weight': t(6, 2),
    'img_in.weight': t(2, 64),
  });
  assert.equal(flux.kind, 'unsupported');
  assert.equal(flux.family, 'flux');
  assert.equal(flux.problem, 'this is a Flux model; Hintbrush runs SD1.5-family models');
  assert.equal(flux.details.singleBlocks, 2);
});

test('an SD1.5 inpainting checkpoint has 9 input channels; a checkpoint without text encoder has a problem', () => {
  const inpaint = detect({
    [`${U}input_blocks.0.0.weight`]: t(8, 9, 3, 3),
    [`${U}input_blocks.1.1.proj_in.weight`]: t(8, 8, 1, 1),
    [`${U}input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight`]: t(8, 6),
    'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight': t(10, 6),
    'cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight': t(12, 6),
  });
  assert.equal(inpaint.kind, 'checkpoint');
  assert.equal(inpaint.details.inpainting, 'yes');
  assert.equal(inpaint.details.variant, 'inpainting');
  assert.equal(inpaint.details.vae, 'missing');
  assert.equal(inpaint.problem, '');

  const noText = detect({ [`${U}input_blocks.0.0.weight`]: t(8, 4, 3, 3), [`${U}input_blocks.1.1.proj_in.weight`]: t(8, 8, 1, 1) });
  assert.equal(noText.kind, 'checkpoint');
  assert.match(noText.problem, /no text encoder/);
});

test('standalone VAEs in LDM and diffusers layout; a 16-channel VAE is refused', () => {
  const ldm = detect({
    'encoder.conv_in.weight': t(4, 3, 3, 3),
    'encoder.down.0.block.0.conv1.weight': t(4, 4, 3, 3),
    'encoder.conv_out.weight': t(8, 4, 3, 3),
    'decoder.up.0.block.0.conv1.weight': t(4, 4, 3, 3),
    'quant_conv.weight': t(8, 8, 1, 1),
  });
  assert.equal(ldm.kind, 'vae');
  assert.equal(ldm.layout, 'ldm');
  assert.equal(ldm.family, 'sd15');
  assert.equal(ldm.details.latentChannels, 4);

  const diffusers = detect({
    'encoder.down_blocks.0.resnets.0.conv1.weight': t(4, 4, 3, 3),
    'encoder.conv_out.weight': t(32, 4, 3, 3),
    'decoder.up_blocks.0.resnets.0.conv1.weight': t(4, 4, 3, 3),
  });
  assert.equal(diffusers.kind, 'unsupported');
  assert.equal(diffusers.layout, 'diffusers');
  assert.equal(diffusers.details.latentChannels, 16);
});

test('diffusers and PEFT LoRAs: rank, alpha (= rank when absent), targets', () => {
  const old = detect({
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight': t(2, 8),
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.up.weight': t(8, 2),
    'text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_linear_layer.down.weight': t(2, 8),
    'text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_linear_layer.up.weight': t(8, 2),
  });
  assert.equal(old.kind, 'lora');
  assert.equal(old.layout, 'diffusers');
  assert.equal(old.family, 'sd15');
  assert.equal(old.details.rank, 2);
  assert.equal(old.details.alpha, 2);
  assert.equal(old.details.targets, 'unet+text-encoder');

  const peft = detect({
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight': t(4, 8),
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight': t(8, 4),
    'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.alpha': f32Scalar(1),
  });
  assert.equal(peft.kind, 'lora');
  assert.equal(peft.layout, 'peft');
  assert.equal(peft.details.rank, 4);
  assert.equal(peft.details.alpha, 1);
  assert.equal(peft.details.targets, 'unet');

  const sdxl = detect({
    'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': t(4, 8),
    'text_encoder_2.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight': t(4, 8),
  });
  assert.equal(sdxl.kind, 'unsupported');
  assert.equal(sdxl.problem, 'this is an SDXL LoRA; Hintbrush runs SD1.5-family models');
});

test('kohya LoRAs for SDXL and Flux are named; LyCORIS is a LoRA not supported yet', () => {
  const sdxl = detect({
    'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': t(4, 8),
    'lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight': t(4, 8),
  });
  assert.equal(sdxl.kind, 'unsupported');
  assert.equal(sdxl.family, 'sdxl');
  assert.equal(sdxl.layout, 'kohya');

  const flux = detect({ 'lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight': t(4, 8) });
  assert.equal(flux.family, 'flux');
  assert.equal(flux.problem, 'this is a Flux LoRA; Hintbrush runs SD1.5-family models');

  const loha = detect({
    'lora_unet_down_blocks_0_attentions_0_proj_in.hada_w1_a': t(8, 4),
    'lora_unet_down_blocks_0_attentions_0_proj_in.alpha': f32Scalar(4),
  });
  assert.equal(loha.kind, 'lora');
  assert.equal(loha.layout, 'lycoris');
  assert.match(loha.problem, /LyCORIS/);

  const locon = detect({
    'lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight': t(8, 4, 3, 3),
    'lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight': t(4, 8, 1, 1),
  });
  assert.equal(locon.kind, 'lora');
  assert.equal(locon.details.convModules, 1);
  assert.equal(locon.details.alpha, 8); // no alpha tensor, no metadata: alpha = rank
});

test('embeddings are recognised with their vector count; SD2 and SDXL ones are named as unsupported', () => {
  const ti = detect({ emb_params: { shape: [2, 768], dtype: 'F32' } });
  assert.deepEqual([ti.kind, ti.layout, ti.problem, ti.details.vectors, ti.details.width], ['embedding', 'textual-inversion', '', 2, 768]);
  const pt = detect({ 'string_to_param.*': { shape: [8, 768], dtype: 'F32' } });
  assert.deepEqual([pt.kind, pt.details.vectors], ['embedding', 8]);
  const diffusers = detect({ '<cat-toy>': { shape: [768], dtype: 'F32' } });
  assert.deepEqual([diffusers.kind, diffusers.layout, diffusers.details.vectors], ['embedding', 'textual-inversion:diffusers', 1]);
  const sd2 = detect({ emb_params: { shape: [4, 1024], dtype: 'F32' } });
  assert.equal(sd2.kind, 'unsupported');
  assert.match(sd2.problem, /SD2/);
  const sdxl = detect({ 'string_to_param.*': { shape: [4, 1280], dtype: 'F32' } });
  assert.equal(sdxl.kind, 'unsupported');
  assert.match(sdxl.problem, /SDXL/);
});

test('empty files and unknown layouts are unknown with a reason', () => {

  const empty = detect({});
  assert.equal(empty.kind, 'unknown');
  assert.equal(empty.problem, 'the file holds no tensors');

  const other = detect({ 'weight': t(2, 2), 'bias': t(2) });
  assert.equal(other.kind, 'unknown');
  assert.match(other.problem, /2 tensors/);
});

test('a wrapper prefix on every key (state_dict., module.) is looked through', () => {
  const d = detect({
    'module.lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': t(2, 4, 1, 1),
    'module.lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': t(4, 2, 1, 1),
    'module.lora_unet_down_blocks_0_attentions_0_proj_in.alpha': f32Scalar(1.5),
  });
  assert.equal(d.kind, 'lora');
  assert.equal(d.details.alpha, 1.5); // read through the key as stored
  assert.equal(d.details.wrapper, 'module.');
});
