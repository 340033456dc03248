// onnxruntime-node sessions for emitted graphs. Sessions are created from in-memory model bytes whose weights
// point into the user's files (external data), so nothing is written to disk. Providers are tried in order of
// preference; one whose libraries are missing throws at session creation (ORT has no automatic fallback), so we
// catch that, remember why, and go on with the next.
//
// Lifecycle: a ModelSession owns one ORT InferenceSession; release() frees it. SessionCache owns the sessions
// it hands out and releases them on eviction.

import { createRequire } from 'node:module';
import type { ProviderReport } from '../../common/contract.ts';
import type { DataType } from '../graph/dtype.ts';
import type { EmittedModel } from '../graph/emit-onnx.ts';

const require = createRequire(import.meta.url);
type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | null = null;
export function ort(): Ort {
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

export type ProviderName = 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu';
const PREFERENCE: ProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

/** Providers this platform's onnxruntime-node build could offer, best first. */
export function candidateProviders(): ProviderName[] {
  const env = process.env.HINTBRUSH_PROVIDER as ProviderName | undefined;
  const bundled = new Set(ort().listSupportedBackends().map((b) => b.name));
  const list = PREFERENCE.filter((p) => p === 'cpu' || bundled.has(p) || (p === 'cuda' && process.platform === 'linux'));
  // WebGPU in Node is experimental and slow to start; only use it when asked.
  const filtered = list.filter((p) => p !== 'webgpu' || env === 'webgpu');
  if (env && filtered.includes(env)) return [env, ...filtered.filter((p) => p !== env)];
  return filtered;
}

export interface TensorData {
  dtype: DataType;
  shape: readonly number[];
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
}

export class EngineRunError extends Error {
  constructor(
    readonly kind: 'out-of-memory' | 'provider' | 'run' | 'model',
    message: string,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  /** Providers to try, in order. Defaults to candidateProviders(). */
  providers?: ProviderName[];
  /** Disable graph optimisations that would merge recomputed nodes (training). */
  disableOptimizers?: string[];
  intraOpThreads?: number;
}

export class ModelSession {
  private constructor(
    private readonly session: import('onnxruntime-node').InferenceSession,
    readonly provider: ProviderName,
    readonly model: EmittedModel,
    readonly skipped: ProviderReport[],
  ) {}

  static async create(model: EmittedModel, opts: SessionOptions = {}): Promise<ModelSession> {
    return ModelSession.open(model.bytes, model.externalFolder, () => model, opts);
  }

  /**
   * A session for an ONNX file as it is on disk (an annotator the user added), not an emitted graph; ORT finds
   * external data next to it. `model` then only names the inputs and outputs (no bytes).
   */
  static async fromFile(file: string, opts: SessionOptions = {}): Promise<ModelSession> {
    const describe = (s: import('onnxruntime-node').InferenceSession): EmittedModel => ({
      bytes: new Uint8Array(0),
      externalFolder: null,
      inputNames: [...s.inputNames],
      outputNames: [...s.outputNames],
      nodeCount: 0,
      externalBytes: 0,
      embeddedBytes: 0,
    });
    return ModelSession.open(file, null, describe, opts);
  }

  private static async open(
    source: Uint8Array | string,
    externalFolder: string | null,
    describe: (session: import('onnxruntime-node').InferenceSession) => EmittedModel,
    opts: SessionOptions,
  ): Promise<ModelSession> {
    const skipped: ProviderReport[] = [];
    for (const provider of opts.providers ?? candidateProviders()) {
      try {
        const options = sessionOptions(externalFolder, provider, opts);
        const session = await (typeof source === 'string' ? ort().InferenceSession.create(source, options) : ort().InferenceSession.create(source, options));
        return new ModelSession(session, provider, describe(session), skipped);
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (provider === 'cpu' || isModelError(message)) throw classify(message);
        skipped.push({ name: provider, available: false, reason: firstLine(message) });
      }
    }
    throw new EngineRunError('provider', `no execution provider could run the model: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  }

  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    const O = ort();
    const ortFeeds: Record<string, import('onnxruntime-node').Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new O.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape as number[]);
    }
    let results;
    try {
      results = await this.session.run(ortFeeds);
    } catch (err) {
      throw classify((err as Error).message ?? String(err));
    }
    const out: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] = { dtype: t.type as DataType, shape: t.dims, data: t.data as TensorData['data'] };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function sessionOptions(externalFolder: string | null, provider: ProviderName, opts: SessionOptions): import('onnxruntime-node').InferenceSession.SessionOptions {
  const session: Record<string, string> = {
    // Keep MatMul weights memory-mapped from the user's file instead of repacked copies (CPU).
    disable_prepacking: '1',
  };
  if (externalFolder) session.model_external_initializers_file_folder_path = externalFolder;
  const extra: Record<string, unknown> = { session };
  if (opts.disableOptimizers?.length) extra.optimization = { disable_specified_optimizers: opts.disableOptimizers.join(',') };
  const options: Record<string, unknown> = { executionProviders: [provider], graphOptimizationLevel: 'all', enableCpuMemArena: true, extra };
  if (opts.intraOpThreads) options.intraOpNumThreads = opts.intraOpThreads;
  return options as import('onnxruntime-node').InferenceSession.SessionOptions;
}

function firstLine(message: string): string {
  return message.split('\n')[0].slice(0, 300);
}

function isModelError(message: string): boolean {
  return /INVALID_GRAPH|INVALID_ARGUMENT|ShapeInferenceError|TypeInferenceError|Load model from/i.test(message);
}

function classify(message: string): EngineRunError {
  if (/out of memory|bad_alloc|Failed to allocate|CUDNN_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation/i.test(message)) {
    return new EngineRunError('out-of-memory', `out of memory: ${firstLine(message)}`);
  }
  return new EngineRunError('run', firstLine(message));
}
