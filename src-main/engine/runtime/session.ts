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
import { emitOnnx, type EmittedModel } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { diagnoseProvider, isOutOfMemory } from './provider-diagnosis.ts';
import { optimizedModelCache } from './optimized-model-cache.ts';

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

// The GPU that CUDA and DirectML open, from the artist's setting (engine-process.ts sets it when main sends
// the choice). Engine-wide: one process drives one GPU; sessions created afterwards use it.
const deviceIds = new Map<ProviderName, number>();

/** Chooses the device of `provider` ('cuda' or 'dml') for sessions created from now on; undefined: ORT's default. */
export function setProviderDevice(provider: 'cuda' | 'dml', deviceId: number | undefined): void {
  if (deviceId === undefined) deviceIds.delete(provider);
  else deviceIds.set(provider, deviceId);
}

/** How `provider` is named in ORT's executionProviders: with its device id when one was chosen. */
export function providerEntry(provider: string): string | { name: 'cuda' | 'dml'; deviceId: number } {
  const deviceId = deviceIds.get(provider as ProviderName);
  return deviceId === undefined ? provider : { name: provider as 'cuda' | 'dml', deviceId };
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
    /** For 'provider': each provider tried, with why it could not run the model. */
    readonly skipped: readonly ProviderReport[] = [],
  ) {
    super(message);
  }
}

/** No provider of `skipped` could run the model: the error names each with its reason. */
export function noProviderError(skipped: readonly ProviderReport[]): EngineRunError {
  return new EngineRunError('provider', `no execution provider could run the model: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`, skipped);
}

export interface SessionOptions {
  /** Providers to try, in order. Defaults to candidateProviders(). */
  providers?: ProviderName[];
  /** Disable graph optimisations that would merge recomputed nodes (training). */
  disableOptimizers?: string[];
  intraOpThreads?: number;
  /**
   * How a CPU session spends memory (measured in the README's benchmarks); unset, ORT's defaults (level 'all',
   * weight casts folded, memory arena). Set, the memory arena is off, so what a run used goes back before the
   * next model runs.
   */
  cpuMemory?: CpuMemoryPolicy;
  /**
   * Outputs to leave where the provider computed them (runResident): on the GPU with WebGPU, the only provider
   * that can keep outputs on the device from JS (ort-facts.md); in ORT's own host tensor elsewhere.
   */
  residentOutputs?: string[];
  /**
   * Keep ORT's optimized model in the engine's optimized-model cache (optimized-model-cache.ts) and load it from
   * there next time: CPU sessions of emitted graphs whose `cpuMemory` folds weight casts (the generation runtime's).
   */
  cacheOptimized?: boolean;
  /**
   * The layout WebGPU runs convolutions in; unset, ORT's default (NHWC, with Transposes around each Conv). 'NCHW'
   * keeps the graph's own layout: measured on SwiftShader, a VAE decoder run took 9.6 s of CPU time instead of
   * 16.7 s (its tiled Transposes are slow there), so the software-GPU test asks for it for the VAE; no real GPU
   * has been measured, so the engine leaves ORT's default.
   */
  webgpuLayout?: 'NCHW' | 'NHWC';
}

export interface CpuMemoryPolicy {
  /**
   * Fold the casts of weights whose file dtype differs from the compute dtype into float32 copies at session
   * creation (an fp16 UNet: 3.4 GB of heap, about 10 s). Without, they are cast at every run and the file stays
   * mapped (1.7 GB, about 1 s to create; each UNet evaluation casts again).
   */
  foldWeightCasts: boolean;
  /**
   * ORT's NCHWc layout pass (level 'all'): a blocked copy of every convolution weight, which pays off only for
   * the VAE's full-resolution convolutions. It folds weight casts whatever ConstantFolding says.
   */
  layoutPass: boolean;
}

/** Inference of the big models (UNet, ControlNets, text encoder): memory first. */
export const LEAN_INFERENCE: CpuMemoryPolicy = Object.freeze({ foldWeightCasts: false, layoutPass: false });
/** The big models with their weights folded once: UNet steps about 15% faster for about 2 GB more (README). */
export const FOLDED_INFERENCE: CpuMemoryPolicy = Object.freeze({ foldWeightCasts: true, layoutPass: false });
/** The VAE: small weights, 512 px convolutions that run about 20% faster in NCHWc. */
export const VAE_INFERENCE: CpuMemoryPolicy = Object.freeze({ foldWeightCasts: true, layoutPass: true });

type OrtTensor = import('onnxruntime-node').Tensor;

/**
 * A float32 tensor that stays where the engine keeps it between runs (training state): fed back as an input
 * without a copy, read to host memory only when asked (a checkpoint, the file at the end).
 */
export class ResidentTensor {
  private constructor(readonly tensor: OrtTensor) {}

  static fromHost(shape: readonly number[], data: Float32Array): ResidentTensor {
    return new ResidentTensor(new (ort().Tensor)('float32', data, [...shape]));
  }

  static wrap(tensor: OrtTensor): ResidentTensor {
    return new ResidentTensor(tensor);
  }

  get onDevice(): boolean {
    return this.tensor.location !== 'cpu';
  }

  /** The values in host memory (a download from the device; the tensor's own array otherwise, not a copy). */
  async read(): Promise<Float32Array> {
    if (!this.onDevice) return this.tensor.data as Float32Array;
    // Not this.tensor.getData(): in onnxruntime-node 1.30 it aborts the process (downloadFromDevice).
    return downloadFromDevice(this);
  }

  /** Frees device memory (nothing to do for a host tensor). */
  dispose(): void {
    if (this.onDevice) this.tensor.dispose();
  }
}

/**
 * A fused graph a provider refused on the way to a session (runtime/fusions.ts records them); or, with
 * `movedTo`, a graph the provider refused to run at all (`fused` empty), which then ran on the provider named there.
 */
export interface FusionFallback {
  provider: ProviderName;
  fused: string; // e.g. 'MultiHeadAttention'
  reason: string;
  movedTo?: ProviderName;
}

export class ModelSession {
  /** Fused graphs refused on the way to this session (runtime/fusions.ts fills it), and providers refused at run. */
  readonly fallbacks: FusionFallback[] = [];
  /**
   * Opens the same graph on the providers after this one. A GPU provider that accepts a session may still refuse
   * to run it (WebGPU: a buffer the device cannot allocate, fp16 on a device without shader-f16); the first
   * such refusal moves the session there (reported in `fallbacks` and to `onFallback`) and runs again.
   */
  reopenElsewhere: (() => Promise<ModelSession>) | null = null;
  /** Told of each fallback made at run time (the session cache collects them for the job's report). */
  onFallback: ((f: FusionFallback) => void) | null = null;

  private constructor(
    private session: import('onnxruntime-node').InferenceSession,
    private runsOn: ProviderName,
    readonly model: EmittedModel,
    readonly skipped: ProviderReport[],
    private readonly resident: ReadonlySet<string>,
  ) {}

  get provider(): ProviderName {
    return this.runsOn;
  }

  static async create(model: EmittedModel, opts: SessionOptions = {}): Promise<ModelSession> {
    return ModelSession.open(model.bytes, model.externalFolder, () => model, opts, model);
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
    emitted?: EmittedModel,
  ): Promise<ModelSession> {
    const skipped: ProviderReport[] = [];
    const providers = opts.providers ?? candidateProviders();
    for (const [i, provider] of providers.entries()) {
      try {
        const options = sessionOptions(externalFolder, provider, opts);
        // only sessions that fold their weights: a memory-first one runs slower from a saved model (the cache says why)
        const cache = provider === 'cpu' && opts.cacheOptimized && opts.cpuMemory?.foldWeightCasts && emitted ? optimizedModelCache() : null;
        const session = await (cache && emitted
          ? cache.createSession(ort(), emitted, options)
          : typeof source === 'string'
            ? ort().InferenceSession.create(source, options)
            : ort().InferenceSession.create(source, options));
        const made = new ModelSession(session, provider, describe(session), skipped, new Set(opts.residentOutputs ?? []));
        const rest = providers.slice(i + 1);
        if (rest.length > 0) made.reopenElsewhere = () => ModelSession.open(source, externalFolder, describe, { ...opts, providers: rest }, emitted);
        return made;
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (provider === 'cpu' || isModelError(message)) throw classify(message);
        const { reason, fix } = diagnoseProvider(provider, message);
        skipped.push({ name: provider, available: false, reason, fix });
      }
    }
    throw noProviderError(skipped);
  }

  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    return (await this.runResident(feeds)).host;
  }

  /**
   * A run whose feeds may be resident tensors (fed as they are) and whose `residentOutputs` come back as
   * resident tensors; every other output is read to host memory.
   */
  async runResident(feeds: Record<string, TensorData | ResidentTensor>): Promise<{ host: Record<string, TensorData>; resident: Record<string, ResidentTensor> }> {
    const O = ort();
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = t instanceof ResidentTensor ? t.tensor : new O.Tensor(t.dtype as 'float32', t.data as Float32Array, t.shape as number[]);
    }
    let results;
    try {
      results = await this.session.run(ortFeeds);
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (this.reopenElsewhere && isDeviceRefusal(message)) return this.fallBackAndRun(feeds, message);
      throw classify(message);
    }
    const host: Record<string, TensorData> = {};
    const resident: Record<string, ResidentTensor> = {};
    for (const [name, t] of Object.entries(results)) {
      if (this.resident.has(name)) resident[name] = ResidentTensor.wrap(t);
      else if (t.location !== 'cpu') throw new EngineRunError('run', `output ${name} is on the device but was not asked to stay there`);
      else host[name] = { dtype: t.type as DataType, shape: t.dims, data: t.data as TensorData['data'] };
    }
    return { host, resident };
  }

  /** Moves to the next provider that opens the graph (reopenElsewhere), reports it, and runs there. */
  private async fallBackAndRun(feeds: Record<string, TensorData | ResidentTensor>, message: string): ReturnType<ModelSession['runResident']> {
    const reopen = this.reopenElsewhere!;
    this.reopenElsewhere = null;
    const next = await reopen();
    const refused = this.runsOn;
    await this.session.release();
    this.session = next.session;
    this.runsOn = next.runsOn;
    this.reopenElsewhere = next.reopenElsewhere;
    this.skipped.push(...next.skipped);
    const report = { provider: refused, fused: '', reason: firstLine(message), movedTo: next.runsOn };
    for (const f of [report, ...next.fallbacks]) {
      this.fallbacks.push(f);
      this.onFallback?.(f);
    }
    return this.runResident(feeds);
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
  const policy = provider === 'cpu' ? opts.cpuMemory : undefined;
  if (policy && policy.layoutPass && !policy.foldWeightCasts) throw new EngineRunError('model', 'the NCHWc layout pass folds weight casts: ask for both or neither');
  const disabled = [...(opts.disableOptimizers ?? []), ...(policy && !policy.foldWeightCasts ? ['ConstantFolding'] : [])];
  if (disabled.length) extra.optimization = { disable_specified_optimizers: disabled.join(',') };
  const level = policy && !policy.layoutPass ? 'extended' : 'all';
  const options: Record<string, unknown> = { executionProviders: [provider === 'webgpu' && opts.webgpuLayout ? { name: 'webgpu', preferredLayout: opts.webgpuLayout } : providerEntry(provider)], graphOptimizationLevel: level, enableCpuMemArena: !policy, extra };
  if (opts.intraOpThreads) options.intraOpNumThreads = opts.intraOpThreads;
  if (provider === 'webgpu' && opts.residentOutputs?.length) {
    options.preferredOutputLocation = Object.fromEntries(opts.residentOutputs.map((name) => [name, 'gpu-buffer']));
  }
  return options as import('onnxruntime-node').InferenceSession.SessionOptions;
}

function firstLine(message: string): string {
  return message.split('\n')[0].slice(0, 300);
}

/**
 * A GPU provider that opened the session but cannot run it on this device (ORT's WebGPU messages, measured on
 * SwiftShader): a buffer the device could not allocate invalidates the run ("WebGPU validation failed. [Invalid
 * Buffer] is invalid due to a previous error", after VK_ERROR_OUT_OF_DEVICE_MEMORY), and an fp16 graph on a device
 * without shader-f16 fails with "Program Cast requires f16 but the device does not support it".
 */
export function isDeviceRefusal(message: string): boolean {
  return /requires f16 but the device does not support it|WebGPU validation failed|WebGPU device (error|lost)|VK_ERROR_OUT_OF_DEVICE_MEMORY/i.test(message);
}

function isModelError(message: string): boolean {
  return /INVALID_GRAPH|INVALID_ARGUMENT|ShapeInferenceError|TypeInferenceError|Load model from/i.test(message);
}

function classify(message: string): EngineRunError {
  if (isOutOfMemory(message)) {
    return new EngineRunError('out-of-memory', `out of memory: ${firstLine(message)}`);
  }
  return new EngineRunError('run', firstLine(message));
}

// Reading a tensor the WebGPU provider kept on the device (a gpu-buffer output) back to host memory.
// onnxruntime-node 1.30's own Tensor.getData() on such a tensor aborts the whole process (measured on SwiftShader:
// "terminate called after throwing an instance of 'char const*'"), so the download is an Identity session on the
// same device whose output is a host tensor: ORT copies the buffer itself. One Identity session per tensor shape,
// kept for the life of the process (a training run reads a handful of shapes at each checkpoint).
const deviceReaders = new Map<string, Promise<ModelSession>>();

/** The float32 values of a device-resident tensor, in host memory. */
async function downloadFromDevice(resident: ResidentTensor): Promise<Float32Array> {
  const shape = resident.tensor.dims;
  const key = shape.join(',');
  let reader = deviceReaders.get(key);
  if (!reader) {
    const g = new Graph();
    const input = g.input('device', 'float32', shape);
    reader = ModelSession.create(emitOnnx({ host: op.unary('Identity', input) }, { graphName: 'download' }), { providers: ['webgpu'] });
    deviceReaders.set(key, reader);
    reader.catch(() => deviceReaders.delete(key));
  }
  const out = await (await reader).runResident({ device: resident });
  return out.host.host.data as Float32Array;
}
