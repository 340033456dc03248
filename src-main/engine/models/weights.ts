// A view of a weights file under a key prefix, as model code walks it: `w.sub('input_blocks').sub(1)` mirrors the
// checkpoint's key paths, so loading is a walk rather than a mapping table. Weights enter the graph as external
// references into the user's file, then are cast to the compute dtype inside the graph (never on disk).

import { fromFileDType, type DataType } from '../graph/dtype.ts';
import { type Graph, GraphError, type Node } from '../graph/node.ts';
import { cast, type ConvOptions } from '../graph/ops.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';

/** Adds low-rank deltas to the layers it addresses by key path: LoraSet (files), training's trainable LoRAs. */
export interface LayerAdapter {
  applyLinear(path: string, x: Node, y: Node): Node;
  applyConv(path: string, x: Node, y: Node, opts: ConvOptions): Node;
  /**
   * For a layer without a spatial position whose output [B, C] is broadcast onto the feature map h [B, C, H, W]
   * (a ResBlock's time-embedding projection): h plus what this adapter adds there per position (region LoRAs).
   */
  joinAtPositions?(path: string, x: Node, h: Node): Node;
  /** The adapter for keys and values read from a text context (region-lora.ts); absent: this one. */
  forText?(region: number | null): LayerAdapter;
}

export class MissingWeightError extends GraphError {
  constructor(file: string, key: string) {
    super(`${file}: missing tensor '${key}' (is this the right kind of model, or a damaged file?)`);
  }
}

export class Weights {
  constructor(
    readonly g: Graph,
    readonly file: TensorFile,
    readonly prefix: string,
    /** dtype the graph computes in. */
    readonly compute: DataType,
    /** LoRAs to apply to layers under this file, addressed by the same key paths. */
    readonly loras: LayerAdapter | null = null,
    /** Full key -> node read instead of the file's tensor (training feeds trainable weights as graph inputs). */
    readonly replaced: ReadonlyMap<string, Node> | null = null,
  ) {}

  /** The same view with another adapter (keys and values of a region's text, regional-attention.ts). */
  withLoras(loras: LayerAdapter | null): Weights {
    return new Weights(this.g, this.file, this.prefix, this.compute, loras, this.replaced);
  }

  sub(name: string | number): Weights {
    return new Weights(this.g, this.file, `${this.prefix}${name}.`, this.compute, this.loras, this.replaced);
  }

  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  has(name: string): boolean {
    return this.file.tensors.has(this.key(name));
  }

  /** True if any tensor lives under `prefix + name + '.'`. */
  hasModule(name: string | number): boolean {
    const p = `${this.prefix}${name}.`;
    for (const k of this.file.tensors.keys()) if (k.startsWith(p)) return true;
    return false;
  }

  /** Sorted numeric children of `name` (e.g. the N in `input_blocks.N.`). */
  indices(name: string): number[] {
    const p = `${this.prefix}${name}.`;
    const found = new Set<number>();
    for (const k of this.file.tensors.keys()) {
      if (!k.startsWith(p)) continue;
      const head = k.slice(p.length).split('.')[0];
      if (/^\d+$/.test(head)) found.add(Number(head));
    }
    return [...found].sort((a, b) => a - b);
  }

  shape(name: string): readonly number[] {
    const entry = this.file.tensors.get(this.key(name));
    if (!entry) throw new MissingWeightError(this.file.path, this.key(name));
    return entry.shape;
  }

  /** The weight as a graph node in the compute dtype. */
  get(name: string): Node {
    return cast(this.raw(name), this.compute);
  }

  /** The weight in float32 whatever the compute dtype (normalisation parameters, which stay in fp32). */
  get32(name: string): Node {
    return cast(this.raw(name), 'float32');
  }

  raw(name: string): Node {
    const key = this.key(name);
    const given = this.replaced?.get(key);
    if (given) return given;
    const entry = this.file.tensors.get(key);
    if (!entry) throw new MissingWeightError(this.file.path, key);
    const dtype = fromFileDType(entry.dtype);
    return this.g.weight({ file: entry.sourcePath ?? this.file.path, offset: entry.fileOffset, length: entry.byteLength, key }, dtype, entry.shape);
  }

  /** Key path without the trailing dot, as LoRA files address layers. */
  get path(): string {
    return this.prefix.endsWith('.') ? this.prefix.slice(0, -1) : this.prefix;
  }
}
