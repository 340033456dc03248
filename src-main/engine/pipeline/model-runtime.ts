// Everything a generation needs from the models, as plain Float32Array in/out: text encoding, one UNet
// evaluation (with summed control residuals), ControlNet residuals, VAE encode/decode. Graphs are built on
// first use for the sizes asked and kept in the SessionCache; LoRA strengths and control weights are inputs,
// so sliders never rebuild anything.
//
// Ownership: the runtime owns the files it opens (FileCache) and its sessions; dispose() releases both.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import type { Graph } from '../graph/node.ts';
import { buildClipTextGraph, clipLoraName, detectClipText } from '../models/clip-text.ts';
import { buildCnxsUnetGraph, CNXS_REGION_MASK_PREFIX } from '../models/cnxs.ts';
import { buildControlNetGraph } from '../models/controlnet.ts';
import { buildCtrLoraGraph } from '../models/ctrlora.ts';
import { LoraSet, type LoraNamer } from '../models/lora.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES, controlShapes, type UnetGraphOptions } from '../models/unet.ts';
import { RegionalLoraSet, regionLoraStrengthName } from '../models/region-lora.ts';
import type { LayerAdapter } from '../models/weights.ts';
import { detectUnet, unetLoraName, type UnetConfig } from '../models/unet-config.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, detectVae, type VaeConfig } from '../models/vae.ts';
import { checkSd15Vae, standaloneVaeView } from '../models/vae-file.ts';
import type { FusionOptions, Fusions } from '../runtime/fusions.ts';
import { SessionCache } from '../runtime/session-cache.ts';
import { FileCache } from './file-cache.ts';
import { EngineRunError, FOLDED_INFERENCE, LEAN_INFERENCE, VAE_INFERENCE, type ProviderName, type TensorData } from '../runtime/session.ts';
import { SteppedDownOutOfMemory } from '../runtime/out-of-memory.ts';
import { DEFAULT_TILES, TiledVaeDecoder } from '../models/vae-tiled.ts';

export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}


const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });

/** Regional prompting's inputs (regions.ts RegionConditioning); null or absent: the plain graphs. */
export interface RegionFeeds {
  /** Tells sessions of different region layouts apart. */
  readonly key: string;
  /** Token count of each region's context. */
  readonly tokens: readonly number[];
  /** The LoRAs tied to each region (region-lora.ts), empty lists for regions without; strengths are fed here. */
  readonly loras: readonly (readonly LoraUse[])[];
  /** Feeds for the region inputs among a session's inputs (masks and contexts; LoRA strengths are the runtime's). */
  feeds(inputNames: readonly string[]): Record<string, TensorData>;
}

const regionKey = (regions: RegionFeeds | null) => (regions ? `|${regions.key}|${regions.loras.map((l) => l.map((u) => u.path).join(',')).join(';')}` : '');
const hasRegionLoras = (regions: RegionFeeds | null): regions is RegionFeeds => !!regions && regions.loras.some((l) => l.length > 0);
/** Region attention's graph options (regional-attention.ts); both undefined without regions: the plain graphs. */
const regionGraphOptions = (regions: RegionFeeds | null) => ({ regionTokens: regions?.tokens, regionNegativeReads: regions?.loras.map((l) => l.length > 0) });

export interface LoraUse {
  path: string;
  strength: number;
}

/** One UNet evaluation's inputs, taken alike by the plain UNet and the UNet fused with a ControlNet-XS. */
interface UnetStep {
  sample: Tensor32;
  timestep: Float32Array;
  context: Tensor32;
  /** The summed control residuals of the other control units, or null (the graph has no control inputs). */
  control: Float32Array[] | null;
  loras: readonly LoraUse[];
  regions: RegionFeeds | null;
}

export class ModelRuntime {
  readonly files = new FileCache();
  readonly sessions: SessionCache;
  private readonly configs = new Map<string, { unet: UnetConfig; vae: VaeConfig }>();
  /** Standalone VAE files as LDM-layout views (their files are owned by `files`). */
  private readonly vaeViews = new Map<string, TensorFile>();

  constructor(
    readonly compute: DataType = 'float32',
    private readonly providers?: ProviderName[],
    /** Overrides of the fused ops each provider runs (runtime/fusions.ts); tests use it to run the plain graphs. */
    fusions?: FusionOptions['fusions'],
    /**
     * Memory-first CPU sessions (LEAN_INFERENCE: weights cast at every run). HINTBRUSH_CPU_WEIGHTS=fold trades
     * about 2 GB more for UNet steps about 15% faster (README, Benchmarks); the bench sets it per run.
     */
    memoryFirst = process.env.HINTBRUSH_CPU_WEIGHTS !== 'fold',
  ) {
    // optimized models on disk (when the engine has a cache folder): a later app start skips graph optimisation
    this.sessions = new SessionCache(16, { providers, fusions, cpuMemory: memoryFirst ? LEAN_INFERENCE : FOLDED_INFERENCE, cacheOptimized: true });
  }

  config(checkpoint: string): { unet: UnetConfig; vae: VaeConfig } {
    let c = this.configs.get(checkpoint);
    if (!c) {
      const file = this.files.open(checkpoint, 'checkpoint');
      c = { unet: detectUnet(file), vae: detectVae(file) };
      this.configs.set(checkpoint, c);
    }
    return c;
  }

  private loraSet(g: Graph, loras: readonly LoraUse[], namer: LoraNamer): LoraSet | null {
    if (loras.length === 0) return null;
    const bindings = loras.map((l, i) => ({ file: this.files.open(l.path, 'lora'), modules: this.files.loraModules(l.path), strength: g.input(`lora_${i}`, 'float32', [1]) }));
    return new LoraSet(g, this.compute, bindings, namer);
  }

  private loraFeeds(loras: readonly LoraUse[], regions: RegionFeeds | null = null): Record<string, TensorData> {
    const feeds: Record<string, TensorData> = Object.fromEntries(loras.map((l, i) => [`lora_${i}`, f32([1], Float32Array.of(l.strength))]));
    regions?.loras.forEach((list, r) => list.forEach((l, i) => (feeds[regionLoraStrengthName(r, i)] = f32([1], Float32Array.of(l.strength)))));
    return feeds;
  }

  /** The UNet's LoRAs: the plain LoraSet, or with LoRAs tied to regions the RegionalLoraSet (region-lora.ts). */
  private unetLoras(g: Graph, loras: readonly LoraUse[], regions: RegionFeeds | null, namer: LoraNamer, shape: { batch: number; height: number; width: number }): LayerAdapter | null {
    const global = this.loraSet(g, loras, namer);
    if (!hasRegionLoras(regions)) return global;
    const perRegion = regions.loras.map((list, r) => {
      if (list.length === 0) return null;
      const bindings = list.map((l, i) => ({ file: this.files.open(l.path, 'lora'), modules: this.files.loraModules(l.path), strength: g.input(regionLoraStrengthName(r, i), 'float32', [1]) }));
      return new LoraSet(g, this.compute, bindings, namer);
    });
    return new RegionalLoraSet(g, this.compute, global, perRegion, shape);
  }

  /** The width of the checkpoint's text encoder (what textual-inversion vectors must match). */
  textWidth(checkpoint: string): number {
    return detectClipText(this.files.open(checkpoint, 'checkpoint')).width;
  }

  /**
   * Hidden states for token chunks: ids [n, 77] -> [n, 77, D]. `override` puts textual-inversion vectors in
   * place of the token embeddings where its mask is 1 (TokenOverride in clip-text.ts).
   */
  async encodeText(
    checkpoint: string,
    ids: Int32Array,
    chunks: number,
    clipSkip: 1 | 2,
    loras: readonly LoraUse[],
    override?: { vectors: Float32Array; mask: Uint8Array },
  ): Promise<Tensor32> {
    const key = `text|${checkpoint}|${chunks}|${this.compute}|${loras.map((l) => l.path).join(',')}`;
    const session = await this.sessions.get(key, () => {
      const built = buildClipTextGraph(this.files.open(checkpoint, 'checkpoint'), {
        batch: chunks,
        compute: this.compute,
        loras: (g, cfg) => this.loraSet(g, loras, clipLoraName(cfg)),
        embeddingInputs: true,
      });
      return { graph: built.graph, outputs: { hidden: built.outputs.hidden, skip2: built.outputs.hiddenSkip2 } };
    });
    const width = this.textWidth(checkpoint);
    const t = ids.length / chunks;
    const vectors = override?.vectors ?? new Float32Array(chunks * t * width);
    const mask = override?.mask ?? new Uint8Array(chunks * t);
    const out = await session.run({
      input_ids: { dtype: 'int64', shape: [chunks, t], data: BigInt64Array.from(ids, (v) => BigInt(v)) },
      embedding_vectors: f32([chunks, t, width], vectors),
      embedding_mask: { dtype: 'bool', shape: [chunks, t, 1], data: mask },
      ...this.loraFeeds(loras),
    });
    const hidden = clipSkip === 2 ? out.skip2 : out.hidden;
    return { shape: [...hidden.shape], data: hidden.data as Float32Array };
  }

  /** One UNet evaluation. `control` holds the 13 summed residuals or null. */
  async unet(
    checkpoint: string,
    sample: Tensor32,
    timestep: Float32Array,
    context: Tensor32,
    control: Float32Array[] | null,
    loras: readonly LoraUse[],
    regions: RegionFeeds | null = null,
  ): Promise<Float32Array> {
    const [b, , h, w] = sample.shape;
    const tokens = context.shape[1];
    const key = `unet|${checkpoint}|${b}x${h}x${w}|${tokens}|${control ? 'cn' : ''}|${this.compute}|${loras.map((l) => l.path).join(',')}${regionKey(regions)}`;
    const step: UnetStep = { sample, timestep, context, control, loras, regions };
    const session = await this.sessions.get(key, (fusions) => {
      const built = buildUnetGraph(this.files.open(checkpoint, 'checkpoint'), this.unetGraphOptions(step, fusions));
      return { graph: built.graph, outputs: { eps: built.eps } };
    });
    const out = await session.run(this.unetFeeds(checkpoint, step, session.model.inputNames));
    return out.eps.data as Float32Array;
  }

  /** The graph options both UNet graphs take: sizes, control inputs, LoRAs (regional ones too) and regions. */
  private unetGraphOptions({ sample, context, control, loras, regions }: UnetStep, fusions: Fusions): UnetGraphOptions {
    const [b, , h, w] = sample.shape;
    return {
      batch: b,
      height: h,
      width: w,
      tokens: context.shape[1],
      compute: this.compute,
      ...fusions,
      withControl: control !== null,
      loras: (g, cfg) => this.unetLoras(g, loras, regions, unetLoraName(cfg), { batch: b, height: h, width: w }),
      ...regionGraphOptions(regions),
    };
  }

  /** The feeds both UNet graphs take: latents, timestep, context, LoRA strengths, region inputs, control residuals. */
  private unetFeeds(checkpoint: string, { sample, timestep, context, control, loras, regions }: UnetStep, inputNames: readonly string[]): Record<string, TensorData> {
    const [b, , h, w] = sample.shape;
    const feeds: Record<string, TensorData> = {
      sample: f32(sample.shape, sample.data),
      timestep: f32([b], timestep),
      context: f32(context.shape, context.data),
      ...this.loraFeeds(loras, regions),
      ...regions?.feeds(inputNames),
    };
    if (control) {
      const shapes = controlShapes(this.config(checkpoint).unet, b, h, w);
      CONTROL_INPUT_NAMES(shapes.length).forEach((name, i) => (feeds[name] = f32(shapes[i], control[i])));
    }
    return feeds;
  }

  /** The 13 residuals of one ControlNet, already multiplied by `strength`. */
  async controlNet(path: string, sample: Tensor32, timestep: Float32Array, context: Tensor32, hint: Tensor32, strength: number, regions: RegionFeeds | null = null): Promise<Float32Array[]> {
    const [b, , h, w] = sample.shape;
    const key = `cn|${path}|${b}x${h}x${w}|${context.shape[1]}|${this.compute}${regionKey(regions)}`;
    let names: string[] = [];
    const session = await this.sessions.get(key, (fusions) => {
      const built = buildControlNetGraph(this.files.open(path, 'controlnet'), { batch: b, height: h, width: w, tokens: context.shape[1], contextDim: context.shape[2], compute: this.compute, ...regionGraphOptions(regions), ...fusions });
      names = CONTROL_INPUT_NAMES(built.residuals.length);
      return { graph: built.graph, outputs: Object.fromEntries(built.residuals.map((r, i) => [names[i], r])) };
    });
    names = session.model.outputNames;
    const out = await session.run({
      sample: f32(sample.shape, sample.data),
      timestep: f32([b], timestep),
      context: f32(context.shape, context.data),
      hint: f32(hint.shape, hint.data),
      strength: f32([1], Float32Array.of(strength)),
      ...regions?.feeds(session.model.inputNames),
    });
    return names.map((n) => out[n].data as Float32Array);
  }

  /** The 13 residuals of one CtrLoRA condition (Base ControlNet + condition LoRA) x strength x weight. */
  async ctrLora(basePath: string, conditionPath: string, latent: Tensor32, timestep: Float32Array, context: Tensor32, weight: number, regions: RegionFeeds | null = null): Promise<Float32Array[]> {
    const [b, , h, w] = latent.shape;
    const key = `ctrlora|${basePath}|${conditionPath}|${b}x${h}x${w}|${context.shape[1]}|${this.compute}${regionKey(regions)}`;
    const session = await this.sessions.get(key, (fusions) => {
      const built = buildCtrLoraGraph(this.files.open(basePath, 'ctrlora-base'), this.files.open(conditionPath, 'ctrlora-lora'), {
        batch: b,
        height: h,
        width: w,
        tokens: context.shape[1],
        contextDim: context.shape[2],
        compute: this.compute,
        ...regionGraphOptions(regions),
        ...fusions,
      });
      return { graph: built.graph, outputs: built.outputs };
    });
    const out = await session.run({
      timestep: f32([b], timestep),
      context: f32(context.shape, context.data),
      latent: f32(latent.shape, latent.data),
      strength: f32([1], Float32Array.of(1)),
      weight: f32([1], Float32Array.of(weight)),
      ...regions?.feeds(session.model.inputNames),
    });
    return session.model.outputNames.map((n) => out[n].data as Float32Array);
  }

  /**
   * One evaluation of the UNet fused with a ControlNet-XS (plus other units' residuals and LoRAs). `regionMask`
   * (the tied region's feathered plane, pooled to a size on request: feathered-regions.ts RegionMask) limits the
   * XS's infusions to that region; null: the whole picture, and the graph has no mask inputs.
   */
  async cnxsUnet(
    checkpoint: string,
    cnxsPath: string,
    sample: Tensor32,
    timestep: Float32Array,
    context: Tensor32,
    hint: Tensor32,
    weight: number,
    control: Float32Array[] | null,
    loras: readonly LoraUse[],
    regions: RegionFeeds | null = null,
    regionMask: { at(h: number, w: number): Float32Array } | null = null,
  ): Promise<Float32Array> {
    const [b, , h, w] = sample.shape;
    const key = `cnxs|${checkpoint}|${cnxsPath}|${b}x${h}x${w}|${context.shape[1]}|${control ? 'cn' : ''}|${regionMask ? 'tied' : ''}|${this.compute}|${loras.map((l) => l.path).join(',')}${regionKey(regions)}`;
    const step: UnetStep = { sample, timestep, context, control, loras, regions };
    const session = await this.sessions.get(key, (fusions) => {
      const options = { ...this.unetGraphOptions(step, fusions), regionMasked: regionMask !== null };
      const built = buildCnxsUnetGraph(this.files.open(checkpoint, 'checkpoint'), this.files.open(cnxsPath, 'cnxs'), options);
      return { graph: built.graph, outputs: { eps: built.eps } };
    });
    const feeds: Record<string, TensorData> = {
      ...this.unetFeeds(checkpoint, step, session.model.inputNames),
      hint: f32(hint.shape, hint.data),
      weight: f32([1], Float32Array.of(weight)),
    };
    for (const name of session.model.inputNames) {
      if (!regionMask || !name.startsWith(CNXS_REGION_MASK_PREFIX)) continue;
      const [mh, mw] = name.slice(CNXS_REGION_MASK_PREFIX.length).split('x').map(Number);
      feeds[name] = f32([1, 1, mh, mw], regionMask.at(mh, mw));
    }
    return (await session.run(feeds)).eps.data as Float32Array;
  }

  /** The weights the VAE graphs read: a standalone VAE file (vae-file.ts) when given, else the checkpoint's. */
  private vaeWeights(checkpoint: string, vae: string | null | undefined): TensorFile {
    if (!vae) return this.files.open(checkpoint, 'checkpoint');
    let view = this.vaeViews.get(vae);
    if (!view) {
      view = standaloneVaeView(this.files.open(vae, 'vae'));
      checkSd15Vae(view);
      this.vaeViews.set(vae, view);
    }
    return view;
  }

  /** Scaled latent [B, 4, h, w] -> image [B, 3, 8h, 8w] in about [-1, 1]; `vae` replaces the checkpoint's VAE. */
  async vaeDecode(checkpoint: string, latent: Tensor32, vae?: string | null): Promise<Tensor32> {
    const [b, , h, w] = latent.shape;
    const key = `vae-dec|${vae || checkpoint}|${b}x${h}x${w}|${this.compute}`;
    try {
      const session = await this.sessions.get(key, (fusions) => {
        const built = buildVaeDecoderGraph(this.vaeWeights(checkpoint, vae), { batch: b, height: h, width: w, compute: this.compute, ...fusions });
        return { graph: built.graph, outputs: built.outputs };
      }, { cpuMemory: VAE_INFERENCE });
      const out = await session.run({ latent: f32(latent.shape, latent.data) });
      return { shape: [...out.image.shape], data: out.image.data as Float32Array };
    } catch (err) {
      const larger = h > DEFAULT_TILES.tile || w > DEFAULT_TILES.tile;
      if (!(err instanceof EngineRunError && err.kind === 'out-of-memory') || !larger) throw err;
      // The full-resolution decoder's activations are the pipeline's largest: free that session and decode
      // again in tiles (the next smaller step, taken without asking; close to the full decode, not equal).
      await this.sessions.drop(key);
      this.tiledDecodes++;
      return this.vaeDecodeTiled(checkpoint, latent, vae);
    }
  }

  /** VAE decodes that ran out of memory and were done in tiles instead (the generation reports it). */
  tiledDecodes = 0;

  /** The same decode in overlapping 512-pixel tiles (models/vae-tiled.ts), its sessions freed afterwards. */
  async vaeDecodeTiled(checkpoint: string, latent: Tensor32, vae?: string | null): Promise<Tensor32> {
    const decoder = new TiledVaeDecoder(this.vaeWeights(checkpoint, vae), { compute: this.compute, providers: this.providers });
    try {
      const out = await decoder.decode(latent);
      return { shape: [...out.shape], data: out.data };
    } catch (err) {
      if (err instanceof EngineRunError && err.kind === 'out-of-memory') throw new SteppedDownOutOfMemory('vae-tiled', err.message);
      throw err;
    } finally {
      await decoder.release();
    }
  }

  /** Image [B, 3, H, W] in [-1, 1] -> scaled latent mean [B, 4, H/8, W/8]; `vae` replaces the checkpoint's VAE. */
  async vaeEncode(checkpoint: string, image: Tensor32, vae?: string | null): Promise<Tensor32> {
    const [b, , h, w] = image.shape;
    const source = vae || checkpoint;
    const session = await this.sessions.get(`vae-enc|${source}|${b}x${h}x${w}|${this.compute}`, (fusions) => {
      const built = buildVaeEncoderGraph(this.vaeWeights(checkpoint, vae), { batch: b, height: h, width: w, compute: this.compute, ...fusions });
      return { graph: built.graph, outputs: built.outputs };
    }, { cpuMemory: VAE_INFERENCE });
    const out = await session.run({ image: f32(image.shape, image.data) });
    return { shape: [...out.latent.shape], data: out.latent.data as Float32Array };
  }

  get provider(): ProviderName | null {
    return this.sessions.lastProvider;
  }

  async dispose(): Promise<void> {
    await this.sessions.clear();
    this.vaeViews.clear();
    this.files.closeAll();
  }
}
