// `hintbrush generate`'s side of the one generation path: its options become the studio's request (the same
// defaults, since validateGenerateInput fills them), contract messages name the flag, and its file resolver
// hashes each model as A1111 does (checked here against hashes computed directly with node:crypto).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateGenerateInput } from '../common/generation-contract.ts';
import { settingsFromInput } from '../app/settings-from-input.ts';
import { fixture } from '../engine/goldens.test-support.ts';
import { flagMessage, requestFromOptions } from './commands/generate.ts';
import { fileModelResolver } from './file-model-resolver.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('hintbrush generate through the studio request', () => {
  it('fills the same defaults as a studio request that names only the checkpoint and prompt', () => {
    const cli = requestFromOptions({ checkpoint: 'model.safetensors', prompt: 'a cat', seed: '5' });
    const studio = validateGenerateInput({ checkpoint: 'model.safetensors', prompt: 'a cat', seed: 5, vae: null });
    assert.deepEqual(cli, studio);
  });

  it('names the flag in the contract messages', () => {
    const refused = (values: Record<string, string>, message: RegExp) =>
      assert.throws(() => requestFromOptions({ checkpoint: 'm', prompt: 'p', ...values }), (e: Error & { kind?: string }) => e.kind === 'usage' && message.test(e.message));
    refused({ 'clip-skip': '3' }, /^--clip-skip must be an? (number|integer) from 1 to 2$/);
    refused({ width: '500' }, /^--width must be a multiple of 8 from 64 to 2048$/);
    refused({ 'batch-count': '101' }, /^--batch-count must be an? (number|integer) from 1 to 100$/);
    refused({ sampler: 'plms' }, /^--sampler must be one of ddim, euler/);
    refused({ cfg: 'lots' }, /^--cfg: "lots" is not a number$/);
    refused({ 'hires-scale': '2', 'hires-resize': '0x0' }, /give --hires-scale or --hires-resize, not both/);
    refused({ 'hires-resize': '100x0' }, /^--hires-resize must be 0 or a multiple of 8 from 64/);
    assert.equal(flagMessage('init.strength must be above 0'), '--strength must be above 0');
    assert.equal(flagMessage('controls[1].resizeMode must be one of x'), '--resize-mode must be one of x');
    assert.equal(flagMessage('regions[1].feather must be a number from 0 to 64'), '--regions: regions[1].feather must be a number from 0 to 64');
    assert.equal(flagMessage('hires fix: the target is too big'), 'hires fix: the target is too big');
  });

  it("resolves model files with A1111's hash for each kind", async () => {
    const checkpoint = fixture('tiny-sd15.safetensors');
    const control = fixture('tiny-controlnet.safetensors');
    const lora = fixture('tiny-lora.safetensors');
    const input = requestFromOptions({ checkpoint, prompt: 'x', vae: checkpoint, lora: [`${lora}:0.5`] });
    const s = await settingsFromInput(input, fileModelResolver);
    const ckptBytes = readFileSync(checkpoint);
    assert.deepEqual(s.checkpoint, { id: null, name: 'tiny-sd15', hash: sha256(ckptBytes).slice(0, 10), path: checkpoint });
    assert.equal(s.vae?.hash, sha256(ckptBytes).slice(0, 10));
    const loraBytes = readFileSync(lora);
    const headerEnd = 8 + Number(loraBytes.readBigUInt64LE(0));
    assert.equal(s.loras[0].model.hash, sha256(loraBytes.subarray(headerEnd)).slice(0, 12)); // kohya's addnet hash
    const controlRef = await fileModelResolver.resolve(control, 'controlnet', 'ControlNet');
    assert.equal(controlRef.hash, sha256(readFileSync(control).subarray(0x100000, 0x110000)).slice(0, 8));
    await assert.rejects(fileModelResolver.resolve('no-such.safetensors', 'controlnet', 'ControlNet'), (e: Error & { kind?: string }) => e.kind === 'model-missing' && /--control model not found: .*no-such\.safetensors/.test(e.message));
  });
});
