// A pipeline golden on the WebGPU provider (SwiftShader), run by hand: every pipeline golden is several steps of
// a batch-2 UNet, too slow for npm test there (README). webgpu-checks.test-support.ts runs it by name, in
// swiftShaderEnv()'s environment:
//   node --import tsx webgpu-checks.test-support.ts pipe-img2img [--verbose]
// --verbose sets ORT's log level to verbose before the first session, so its node placement per session (which
// nodes ran on WebGPU, which on the CPU) is printed on stderr. Measured (README): within 2.7e-6 of the golden,
// every session and node on WebGPU, 22 min of CPU time (30 min of wall time on 2 shared cores).

import { golden, PIPELINE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { sampleLatents } from '../pipeline/generate.ts';
import { goldenRequest } from '../pipeline/golden-request.test-support.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import { describeFallback } from './fusions.ts';
import { ort } from './session.ts';

/**
 * pipe.img2img.latents: img2img from vae.image at strength 0.6 of 10 DDIM steps (6 batch-2 UNet evaluations,
 * one VAE encode, CLIP), through sampleLatents, the path `generate` and the app take, less the final VAE decode
 * (the golden is the latents). The runtime is the engine's, in float32, with WebGPU as its only provider: a graph
 * WebGPU refuses fails the check instead of moving to the CPU. Reports the provider of every session it opened.
 */
async function pipeImg2img() {
  if (process.argv.includes('--verbose')) ort().env.logLevel = 'verbose';
  const runtime = new ModelRuntime('float32', ['webgpu']);
  const sessions: { key: string; provider: string; skipped: string[] }[] = [];
  const get = runtime.sessions.get.bind(runtime.sessions);
  runtime.sessions.get = async (key, build, overrides) => {
    const session = await get(key, build, overrides);
    if (!sessions.some((s) => s.key === key)) sessions.push({ key, provider: session.provider, skipped: session.skipped.map((s) => `${s.name}: ${s.reason}`) });
    return session;
  };
  const image = golden('vae.image');
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    const latents = await sampleLatents(
      runtime,
      goldenRequest({ init: { image: { shape: [...image.shape], data: image.data }, strength: 0.6 } }),
      {
        onStep: (s) => {
          process.stderr.write(`step ${s.step}/${s.total} at ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
        },
      },
    );
    const error = relativeError(latents.data, golden('pipe.img2img.latents').data);
    const used = process.cpuUsage(cpu);
    if (!(error < PIPELINE_TOLERANCE)) process.exitCode = 1;
    return {
      provider: runtime.provider,
      sessions,
      fallbacks: runtime.sessions.fallbacks.map(describeFallback),
      error,
      tolerance: PIPELINE_TOLERANCE,
      pass: error < PIPELINE_TOLERANCE,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  } finally {
    await runtime.dispose();
  }
}

export const pipelineChecks: Record<string, () => Promise<unknown>> = { 'pipe-img2img': pipeImg2img };
