// Whole text-to-image runs against diffusers' pipelines (pipe.* goldens), through `generate`, the same code path
// the CLI and the engine's generation jobs use. Every golden runs twice: with the fused attention the CPU
// provider gets by default, and with the plain MatMul/Softmax graphs other providers fall back to.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fixture, golden, PIPELINE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { generate } from './generate.ts';
import { goldenRequest } from './golden-request.test-support.ts';
import { ModelRuntime } from './model-runtime.ts';

const runtimes = {
  fused: new ModelRuntime('float32', ['cpu']),
  plain: new ModelRuntime('float32', ['cpu'], { cpu: {} }),
};
after(() => Promise.all(Object.values(runtimes).map((r) => r.dispose())));

const request = goldenRequest;

for (const [graphs, runtime] of Object.entries(runtimes)) {
  for (const sampler of ['ddim', 'euler', 'euler_a', 'dpmpp_2m_karras'] as const) {
    test(`${graphs} graphs: txt2img with ${sampler} reproduces pipe.${sampler}.latents and .image`, async () => {
      const result = await generate(runtime, request({ sampler }));
      const e1 = relativeError(result.latents.data, golden(`pipe.${sampler}.latents`).data);
      assert.ok(e1 < PIPELINE_TOLERANCE, `pipe.${sampler}.latents error ${e1}`);
      const e2 = relativeError(result.image.data, golden(`pipe.${sampler}.image`).data);
      assert.ok(e2 < PIPELINE_TOLERANCE, `pipe.${sampler}.image error ${e2}`);
    });
  }

  test(`${graphs} graphs: two ControlNets (1.0 and 0.6) reproduce pipe.cn.latents`, async () => {
    const hint = golden('pipe.cn.hint');
    const inverse = { shape: [...hint.shape], data: hint.data.map((v) => 1 - v) };
    const result = await generate(
      runtime,
      request({
        controls: [
          { kind: 'controlnet', path: fixture('tiny-controlnet.safetensors'), image: { shape: [...hint.shape], data: hint.data }, weight: 1, start: 0, end: 1 },
          { kind: 'controlnet', path: fixture('tiny-controlnet-b.safetensors'), image: inverse, weight: 0.6, start: 0, end: 1 },
        ],
      }),
    );
    const err = relativeError(result.latents.data, golden('pipe.cn.latents').data);
    assert.ok(err < PIPELINE_TOLERANCE, `pipe.cn.latents error ${err}`);
  });

  test(`${graphs} graphs: img2img at strength 0.6 reproduces pipe.img2img.latents`, async () => {
    const image = golden('vae.image');
    const result = await generate(runtime, request({ init: { image: { shape: [...image.shape], data: image.data }, strength: 0.6 } }));
    const err = relativeError(result.latents.data, golden('pipe.img2img.latents').data);
    assert.ok(err < PIPELINE_TOLERANCE, `pipe.img2img.latents error ${err}`);
  });

  test(`${graphs} graphs: a LoRA at 0.7 on UNet and text encoder reproduces pipe.lora.latents`, async () => {
    const result = await generate(runtime, request({ loras: [{ path: fixture('tiny-lora.safetensors'), strength: 0.7 }] }));
    const err = relativeError(result.latents.data, golden('pipe.lora.latents').data);
    assert.ok(err < PIPELINE_TOLERANCE, `pipe.lora.latents error ${err}`);
  });

  test(`${graphs} graphs: two CtrLoRA conditions at 0.5 each reproduce ctrlora.pipe.latents`, async () => {
    const pick = (name: string) => {
      const g = golden(name, 'control.safetensors');
      const plane = g.data.length / g.shape[0];
      return { shape: [1, ...g.shape.slice(1)], data: g.data.slice(0, plane) };
    };
    const base = fixture('tiny-ctrlora-base.ckpt');
    const result = await generate(
      runtime,
      request({
        controls: [
          { kind: 'ctrlora', base, path: fixture('tiny-ctrlora-edge.ckpt'), image: pick('ctrlora.hint_a'), weight: 0.5, start: 0, end: 1 },
          { kind: 'ctrlora', base, path: fixture('tiny-ctrlora-blob.ckpt'), image: pick('ctrlora.hint_b'), weight: 0.5, start: 0, end: 1 },
        ],
      }),
    );
    const err = relativeError(result.latents.data, golden('ctrlora.pipe.latents', 'control.safetensors').data);
    assert.ok(err < PIPELINE_TOLERANCE, `ctrlora.pipe.latents error ${err}`);
  });

  test(`${graphs} graphs: ControlNet-XS at weight 1 reproduces cnxs.pipe.latents`, async () => {
    const g = golden('cnxs.hint', 'control.safetensors');
    const plane = g.data.length / g.shape[0];
    const image = { shape: [1, ...g.shape.slice(1)], data: g.data.slice(0, plane) };
    const result = await generate(runtime, request({ controls: [{ kind: 'cnxs', path: fixture('tiny-cnxs.ckpt'), image, weight: 1, start: 0, end: 1 }] }));
    const err = relativeError(result.latents.data, golden('cnxs.pipe.latents', 'control.safetensors').data);
    assert.ok(err < PIPELINE_TOLERANCE, `cnxs.pipe.latents error ${err}`);
  });
}
