// Fused inference ops per execution provider, and the fallback to the plain graph when a provider refuses one.
//
// Which provider has which kernel (ORT 1.30's operator kernel lists, docs/OperatorKernels.md and the contrib op
// registrations of each EP):
// - com.microsoft.MultiHeadAttention: CPU, CUDA, DirectML and WebGPU have kernels. CoreML has none: its EP takes
//   standard ops only, so a contrib node would split the graph and send attention back to the CPU. WebGPU's
//   kernel (its FlashAttention program) is not accurate enough: measured on SwiftShader, it moves the tiny UNet's
//   first self-attention by 6e-3 and unet.eps by 5.5e-3 (module tolerance 1e-4; a B=2, T=4096, 8x40 attention
//   by 2.3e-4), while the plain MatMul/Softmax graph in query chunks matches the CPU to 6e-7. WebGPU gets the
//   plain graph; the chunks keep each score buffer within 128 MB.
// - com.microsoft.GroupNorm (channels last): CUDA and DirectML have kernels, the CPU and WebGPU have none. ORT's
//   SD optimiser uses it with NHWC convolutions on CUDA; here it sits between transposes, and no measurement on a
//   GPU has shown that this wins yet, so it is off everywhere until `npm run bench -- --fusions` shows a gain.
//
// A fused graph that a provider refuses (no kernel, a session that fails to build) is rebuilt plain on the same
// provider, and the reason is kept with the session, as a skipped provider's is.

import type { ProviderReport } from '../../common/contract.ts';
import type { GraphOptions, Node } from '../graph/node.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { candidateProviders, EngineRunError, ModelSession, noProviderError, type FusionFallback, type ProviderName, type SessionOptions } from './session.ts';

export type Fusions = Pick<GraphOptions, 'fusedAttention' | 'fusedGroupNorm'>;

export const FUSIONS_BY_PROVIDER: Readonly<Record<ProviderName, Fusions>> = {
  cpu: { fusedAttention: true },
  cuda: { fusedAttention: true },
  dml: { fusedAttention: true },
  webgpu: {},
  coreml: {},
};

export const NO_FUSIONS: Fusions = Object.freeze({});

/**
 * A fused graph a provider refused, and the plain graph ran instead; or, with `movedTo`, a graph the provider
 * refused to run at all, which then ran on the provider named there.
 */
export type { FusionFallback };

export interface FusionOptions extends SessionOptions {
  /** Overrides of FUSIONS_BY_PROVIDER, per provider (the bench's --fusions, tests). */
  fusions?: Partial<Record<ProviderName, Fusions>>;
}

export function fusionsFor(provider: ProviderName, overrides?: FusionOptions['fusions']): Fusions {
  return overrides?.[provider] ?? FUSIONS_BY_PROVIDER[provider];
}

function fusedOpNames(f: Fusions): string[] {
  return [f.fusedAttention ? 'MultiHeadAttention' : '', f.fusedGroupNorm ? 'GroupNorm' : ''].filter(Boolean);
}

/**
 * A session for the graph `build` makes, on the first provider that runs it: fused where that provider has the
 * kernels, plain where it has not or where it refused the fused graph.
 */
export async function createFusedSession(
  build: (fusions: Fusions) => Record<string, Node>,
  graphName: string,
  opts: FusionOptions = {},
): Promise<ModelSession> {
  const fallbacks: FusionFallback[] = [];
  const skipped: ProviderReport[] = [];
  const providers = opts.providers ?? candidateProviders();
  for (const [i, provider] of providers.entries()) {
    const rest = providers.slice(i + 1);
    const elsewhere = rest.length > 0 ? () => createFusedSession(build, graphName, { ...opts, providers: rest }) : null;
    const single: SessionOptions = { ...opts, providers: [provider] };
    const fusions = fusionsFor(provider, opts.fusions);
    const fused = fusedOpNames(fusions);
    let refused: FusionFallback | null = null;
    if (fused.length > 0) {
      try {
        return withReports(await ModelSession.create(emitOnnx(build(fusions), { graphName }), single), skipped, fallbacks, elsewhere);
      } catch (err) {
        refused = { provider, fused: fused.join(', '), reason: (err as Error).message.split('\n')[0].slice(0, 300) };
      }
    }
    try {
      const session = await ModelSession.create(emitOnnx(build(NO_FUSIONS), { graphName }), single);
      // Only a provider that runs the plain graph refused the fused one; one that cannot start refused both.
      if (refused) fallbacks.push(refused);
      return withReports(session, skipped, fallbacks, elsewhere);
    } catch (err) {
      // The provider itself cannot start (missing libraries): go on with the next, as ModelSession does.
      if (!(err instanceof EngineRunError) || err.kind !== 'provider') throw err;
      skipped.push(...err.skipped);
    }
  }
  throw noProviderError(skipped);
}

function withReports(session: ModelSession, skipped: ProviderReport[], fallbacks: FusionFallback[], elsewhere: ModelSession['reopenElsewhere']): ModelSession {
  session.skipped.unshift(...skipped);
  session.fallbacks.push(...fallbacks);
  session.reopenElsewhere = elsewhere;
  return session;
}

/** One line for a log or a job's notes. */
export function describeFallback(f: FusionFallback): string {
  if (f.movedTo) return `${f.provider}: refused to run the graph (${f.reason}); it runs on ${f.movedTo} instead`;
  return `${f.provider}: fused ${f.fused} refused (${f.reason}); the plain graph runs instead`;
}
