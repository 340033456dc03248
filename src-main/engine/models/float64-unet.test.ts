// The float64 UNet reference (float64-unet.test-support.ts) against the fixture's UNet golden: one evaluation on
// a batch of two with different timesteps (`unet.x`, `unet.t`, `unet.context` -> `unet.eps`, diffusers 0.27.2 in
// float32). Passing this is what lets the reference judge the engine elsewhere (regional prompting).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { Float64Unet } from './float64-unet.test-support.ts';

test('the float64 reference UNet reproduces unet.eps', () => {
  const unet = new Float64Unet(fixtureFile('tiny-sd15.safetensors'));
  const x = golden('unet.x');
  const t = golden('unet.t');
  const context = golden('unet.context');
  const [b, c, h, w] = x.shape;
  const [, tokens, d] = context.shape;
  const eps = new Float32Array(x.data.length);
  for (let i = 0; i < b; i++) {
    const sample = Float64Array.from(x.data.subarray(i * c * h * w, (i + 1) * c * h * w));
    const ctx = Float64Array.from(context.data.subarray(i * tokens * d, (i + 1) * tokens * d));
    const out = unet.forward({ c, h, w, data: sample }, t.data[i], [{ context: ctx, tokens }]);
    eps.set(out.data, i * c * h * w);
  }
  const err = relativeError(eps, golden('unet.eps').data);
  assert.ok(err < MODULE_TOLERANCE, `float64 UNet vs unet.eps: ${err}`);
});
