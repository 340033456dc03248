// Standalone VAE files in place of the checkpoint's VAE: the tiny checkpoint's own VAE written out in every
// layout and format (bare LDM, `first_stage_model.` LDM, diffusers; .safetensors, .pt, .ckpt) reproduces the
// vae goldens through the runtime, a VAE whose decoder.conv_out.bias is shifted by +delta moves every decoded
// value by exactly delta, and VAEs that are not SD1.5's are refused with a sentence naming the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PickleWriter, torchArchive } from '../../formats/pickle-zip-builders.test-support.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { diffusersVaeFixture, ldmVaeTensors, writeVaeSafetensors, type VaeTensor } from './vae-file.test-support.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-vae-'));
const runtime = new ModelRuntime('float32', ['cpu']);
after(async () => {
  await runtime.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
const checkpoint = fixture('tiny-sd15.safetensors');
const bare = ldmVaeTensors(fixtureFile('tiny-sd15.safetensors'));

/** torch.save(tensors) or torch.save({'state_dict': tensors, 'global_step': 1}) as a zip archive. */
function writeTorch(file: string, tensors: readonly VaeTensor[], wrapped: boolean): void {
  const p = new PickleWriter().proto(2).emptyDict();
  if (wrapped) p.mark().str('state_dict').emptyDict();
  p.mark();
  const storages: Record<string, Buffer> = {};
  tensors.forEach((t, i) => {
    p.str(t.name).tensor({ key: String(i), numel: t.data.length, shape: [...t.shape] });
    storages[String(i)] = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  });
  p.setitems();
  if (wrapped) p.str('global_step').int(1).setitems();
  fs.writeFileSync(file, torchArchive(p.stop().bytes(), storages));
}

const prefixed = bare.map((t) => ({ ...t, name: `first_stage_model.${t.name}` }));
const layouts: Record<string, string> = {
  'bare LDM .safetensors': path.join(dir, 'bare.safetensors'),
  'first_stage_model. .safetensors': path.join(dir, 'prefixed.safetensors'),
  'diffusers .safetensors': path.join(dir, 'diffusers.safetensors'),
  'bare LDM .pt': path.join(dir, 'bare.pt'),
  'first_stage_model. state_dict .ckpt': path.join(dir, 'wrapped.ckpt'),
};
writeVaeSafetensors(layouts['bare LDM .safetensors'], bare);
writeVaeSafetensors(layouts['first_stage_model. .safetensors'], prefixed);
writeVaeSafetensors(layouts['diffusers .safetensors'], diffusersVaeFixture(bare));
writeTorch(layouts['bare LDM .pt'], bare, false);
writeTorch(layouts['first_stage_model. state_dict .ckpt'], prefixed, true);

const z = golden('vae.z');
const image = golden('vae.image');

for (const [layout, file] of Object.entries(layouts)) {
  test(`a standalone VAE (${layout}) holding the checkpoint's VAE reproduces vae.decoded and vae.encoded_mean`, async () => {
    const decoded = await runtime.vaeDecode(checkpoint, { shape: [...z.shape], data: z.data }, file);
    const e1 = relativeError(decoded.data, golden('vae.decoded').data);
    assert.ok(e1 < MODULE_TOLERANCE, `decode error ${e1}`);
    const encoded = await runtime.vaeEncode(checkpoint, { shape: [...image.shape], data: image.data }, file);
    const e2 = relativeError(encoded.data, golden('vae.encoded_mean').data);
    assert.ok(e2 < MODULE_TOLERANCE, `encode error ${e2}`);
  });
}

test('decoder.conv_out.bias + delta per channel moves each decoded value by delta', async () => {
  const delta = [0.1, -0.05, 0.2];
  const shifted = bare.map((t) => (t.name === 'decoder.conv_out.bias' ? { ...t, data: t.data.map((v, c) => v + delta[c]) } : t));
  const file = path.join(dir, 'shifted.safetensors');
  writeVaeSafetensors(file, shifted);
  const latent = { shape: [...z.shape], data: z.data };
  const original = await runtime.vaeDecode(checkpoint, latent, layouts['bare LDM .safetensors']);
  const moved = await runtime.vaeDecode(checkpoint, latent, file);
  const plane = original.shape[2] * original.shape[3];
  let worst = 0;
  for (let i = 0; i < moved.data.length; i++) {
    const c = Math.floor(i / plane) % 3;
    worst = Math.max(worst, Math.abs(moved.data[i] - original.data[i] - delta[c]));
  }
  assert.ok(worst < 1e-5, `largest deviation from +delta: ${worst}`);
  // and the checkpoint's own VAE is still what runs without a VAE file
  const own = await runtime.vaeDecode(checkpoint, latent);
  assert.ok(relativeError(own.data, golden('vae.decoded').data) < MODULE_TOLERANCE);
});

test('VAEs that are not SD1.5s are refused with a sentence naming the file', async () => {
  const latent = { shape: [...z.shape], data: z.data };
  const zeros = (...shape: number[]): VaeTensor => ({ name: '', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const synthetic = (latentChannels: number): VaeTensor[] => [
    { ...zeros(8, 3, 3, 3), name: 'encoder.conv_in.weight' },
    { ...zeros(8, 8, 3, 3), name: 'encoder.down.0.block.0.conv1.weight' },
    { ...zeros(2 * latentChannels, 8, 3, 3), name: 'encoder.conv_out.weight' },
    { ...zeros(8, 8, 3, 3), name: 'decoder.up.0.block.0.conv1.weight' },
    { ...zeros(8, 8, 3, 3), name: 'decoder.up.0.block.1.conv1.weight' },
    { ...zeros(8, latentChannels, 3, 3), name: 'decoder.conv_in.weight' },
    { ...zeros(latentChannels, latentChannels, 1, 1), name: 'post_quant_conv.weight' },
  ];
  const flux = path.join(dir, 'flux-ae.safetensors');
  writeVaeSafetensors(flux, synthetic(16));
  await assert.rejects(runtime.vaeDecode(checkpoint, latent, flux), /flux-ae\.safetensors: this is an SD3\/Flux VAE \(16 latent channels\)/);
  const eight = path.join(dir, 'eight.safetensors');
  writeVaeSafetensors(eight, synthetic(8));
  await assert.rejects(runtime.vaeDecode(checkpoint, latent, eight), /eight\.safetensors is not an SD1\.5 VAE: its latent has 8 channels, SD1\.5's has 4/);
  await assert.rejects(runtime.vaeDecode(checkpoint, latent, fixture('tiny-lora.safetensors')), /tiny-lora\.safetensors is a lora model, but a standalone SD1\.5 VAE is needed here/);
});
