// The GPU code path, run here in software: the WebGPU provider on SwiftShader (Debian's chromium package), in a
// child process started with its environment (runtime/swiftshader.ts), against the same goldens and tolerances
// as the CPU. SwiftShader is slow (one item of the tiny UNet takes minutes on 2 busy cores), so each check is one
// run of one batch item where the goldens' items are independent, and the slowest goldens (VAE decode,
// ControlNet-XS, the pipelines) are left to run by hand (webgpu-module-checks.test-support.ts, README).
// Without SwiftShader these tests fail with the message that says what to install; they never skip.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GRADIENT_TOLERANCE, OPTIMIZER_TOLERANCE } from '../training/golden-training.test-support.ts';
import { MODULE_TOLERANCE } from '../goldens.test-support.ts';
import { SwiftShaderMissing, swiftShaderEnv } from './swiftshader.ts';

const checks = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webgpu-checks.test-support.ts');
/** fp16 compute against float32 goldens (the README's tolerance). */
const FP16_TOLERANCE = 1e-2;

/** Runs one check of webgpu-checks.test-support.ts on SwiftShader and returns what it measured. */
function runCheck(name: string): Promise<Record<string, unknown>> {
  const env = swiftShaderEnv();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', checks, name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>);
      else reject(new Error(`WebGPU check '${name}' exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

test('without SwiftShader the WebGPU tests fail, naming the missing file and the package to install', () => {
  assert.throws(() => swiftShaderEnv('/nonexistent/vk_swiftshader_icd.json'), (e: unknown) => {
    assert.ok(e instanceof SwiftShaderMissing);
    assert.match(e.message, /\/nonexistent\/vk_swiftshader_icd\.json not found/);
    assert.match(e.message, /apt-get install chromium/);
    return true;
  });
});

test('WebGPU (SwiftShader): the UNet reproduces unet.eps (its first item, t = 999) in float32, with plain attention in query chunks as WebGPU gets it', async (t) => {
  const r = await runCheck('unet-fp32');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.deepEqual(r.fallbacks, []);
  assert.ok((r.error as number) < MODULE_TOLERANCE, `unet.eps error ${r.error}`);
});

test('WebGPU (SwiftShader): the ControlNet from its fp16 file reproduces cn.down.* and cn.mid (first item) in float32', async (t) => {
  const r = await runCheck('controlnet');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.ok((r.error as number) < MODULE_TOLERANCE, `ControlNet residual error ${r.error}`);
});

test('WebGPU (SwiftShader): the CLIP text encoder reproduces text.hidden and text.hidden_skip2 in float32', async (t) => {
  const r = await runCheck('clip');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.deepEqual(r.fallbacks, []);
  assert.ok((r.error as number) < MODULE_TOLERANCE, `text.hidden error ${r.hidden}, text.hidden_skip2 error ${r.skip2}`);
});

test('WebGPU (SwiftShader): the CtrLoRA Base ControlNet with the edge condition reproduces ctrlora.edge.out.0..12 (first item) in float32', async (t) => {
  const r = await runCheck('ctrlora');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.deepEqual(r.fallbacks, []);
  assert.ok((r.error as number) < MODULE_TOLERANCE, `ctrlora.edge.out errors ${r.errors}`);
});

test('WebGPU (SwiftShader): the VAE encoder reproduces vae.encoded_mean in float32 (convolutions in NCHW)', async (t) => {
  const r = await runCheck('vae-encode');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.deepEqual(r.fallbacks, []);
  assert.ok((r.error as number) < MODULE_TOLERANCE, `vae.encoded_mean error ${r.error}`);
});

test('WebGPU (SwiftShader): fp16 compute, refused by a device without shader-f16, moves to the CPU and reproduces unet.eps within 1e-2', async (t) => {
  const r = await runCheck('unet-fp16');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'cpu');
  // SwiftShader has no shader-f16: WebGPU refuses the fp16 graph when the session is made (an fp16 Transpose of
  // the weights) or at its first run (an fp16 Cast), and either refusal is reported with ORT's reason.
  const refusals = [...(r.skipped as string[]), ...(r.fallbacks as string[])];
  assert.ok(refusals.length > 0 && refusals.every((line) => /^webgpu: .*requires f16 but the device does not support it/.test(line)), refusals.join('\n'));
  assert.ok((r.error as number) < FP16_TOLERANCE, `fp16 unet.eps error ${r.error}`);
});

test('WebGPU (SwiftShader): a buffer the device cannot allocate (1 GiB of attention scores) moves the run to the CPU, reported', async (t) => {
  const r = await runCheck('refused-buffer');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.opened, 'webgpu', 'the session opens on WebGPU; the refusal comes at run time');
  assert.equal(r.provider, 'cpu');
  assert.match((r.fallbacks as string[])[0], /^webgpu: refused to run the graph \(WebGPU validation failed.*\); it runs on cpu instead$/);
  assert.deepEqual(r.cacheFallbacks, r.fallbacks, 'the session cache collects it for the job report');
  assert.equal(r.cacheProvider, 'cpu');
  assert.ok((r.error as number) < 1e-5, `attention differs from the direct computation by ${r.error}`);
});

test('WebGPU (SwiftShader): two style-LoRA training steps with parameters and AdamW moments kept in gpu-buffer outputs match the training goldens', async (t) => {
  const r = await runCheck('training');
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.provider, 'webgpu');
  assert.equal(r.onDeviceAfterStep1, true, 'the updated parameters stay on the device after the first step');
  assert.equal(r.onDeviceAfterStep2, true, 'and after the second, which was fed them as they were');
  assert.ok((r.grad as number) < GRADIENT_TOLERANCE, `style.grad error ${r.grad}`);
  assert.ok((r.step1 as number) < OPTIMIZER_TOLERANCE, `style.step1 error ${r.step1}`);
  assert.ok((r.losses as number) < OPTIMIZER_TOLERANCE, `style.losses[0..1] error ${r.losses}`);
});
