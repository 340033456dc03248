// LoRA factors that are graph inputs, so the training step can differentiate with respect to them and feed
// updated values back: y = W x + scale * up(down(x)), as LoraSet applies file LoRAs (same arithmetic, so a
// trained LoRA saved in kohya layout later runs through LoraSet unchanged). Layers are addressed by their
// checkpoint key path; factor shapes follow the file layout the recipe writes ([r, in] / [out, r] for linear
// layers, [r, in, 1, 1] / [out, r, 1, 1] for kohya's 1x1-convolution LoRAs).

import type { DataType } from '../graph/dtype.ts';
import { GraphError, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import type { LayerAdapter } from '../models/weights.ts';

export interface TrainableLoraModule {
  down: Node; // float32 graph input
  up: Node; // float32 graph input
  /** alpha / rank (kohya), or 1 (CtrLoRA's LoRALinearLayer). */
  scale: number;
}

/** Applies input-fed LoRA factors to the layers whose key paths it holds; records which were reached. */
export class TrainableLora implements LayerAdapter {
  readonly used = new Set<string>();

  constructor(
    private readonly compute: DataType,
    private readonly modules: ReadonlyMap<string, TrainableLoraModule>,
  ) {}

  private factors(path: string): { down: Node; up: Node; scale: Node; rank: number } | null {
    const m = this.modules.get(path);
    if (!m) return null;
    this.used.add(path);
    const rank = m.down.shape[0];
    if (m.up.shape[1] !== rank) throw new GraphError(`LoRA at '${path}': down [${m.down.shape}] and up [${m.up.shape}] ranks differ`);
    return { down: op.cast(m.down, this.compute), up: op.cast(m.up, this.compute), scale: op.scalar(m.down.graph, m.scale, this.compute), rank };
  }

  applyLinear(path: string, x: Node, y: Node): Node {
    const f = this.factors(path);
    if (!f) return y;
    const down = op.reshape(f.down, [f.rank, -1]); // [r, in]
    const up = op.reshape(f.up, [-1, f.rank]); // [out, r]
    const delta = op.matmul(op.matmul(x, op.transpose(down, [1, 0])), op.transpose(up, [1, 0])); // [..., out]
    return op.add(y, op.mul(delta, f.scale));
  }

  applyConv(path: string, x: Node, y: Node, opts: op.ConvOptions): Node {
    const f = this.factors(path);
    if (!f) return y;
    const down = f.down.rank === 2 ? op.reshape(f.down, [f.rank, -1, 1, 1]) : f.down; // [r, in, k, k]
    const up = f.up.rank === 2 ? op.reshape(f.up, [-1, f.rank, 1, 1]) : f.up; // [out, r, 1, 1]
    const pads = down.shape[2] === 1 ? [0, 0, 0, 0] : opts.pads;
    const delta = op.conv(op.conv(x, down, null, { strides: opts.strides, pads }), up, null); // [B, out, h, w]
    return op.add(y, op.mul(delta, f.scale));
  }

  /** Throws when a module reached no layer (a wrong key path would otherwise train nothing silently). */
  checkAllUsed(what: string): void {
    const unused = [...this.modules.keys()].filter((p) => !this.used.has(p));
    if (unused.length) throw new GraphError(`${what}: ${unused.length} trainable LoRA module(s) match no layer, e.g. '${unused[0]}'`);
  }
}

/**
 * kohya's initialisation of a new LoRA: down ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)),
 * up = 0, so training starts from the unchanged model. `random` yields uniform numbers in [0, 1).
 */
export function freshLoraFactors(down: readonly number[], up: readonly number[], random: () => number): { down: Float32Array; up: Float32Array } {
  const fanIn = down.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  const d = new Float32Array(down.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.length; i++) d[i] = (2 * random() - 1) * bound;
  return { down: d, up: new Float32Array(up.reduce((a, b) => a * b, 1)) };
}

/** Deterministic uniform numbers in [0, 1) (mulberry32): fresh initialisations are reproducible from a seed. */
export function uniformRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers (Box-Muller on uniformRandom). */
export function normalRandom(seed: number): () => number {
  const uniform = uniformRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}
