// LoRA applied at run time, unmerged: y = W x + strength * (alpha / rank) * up(down(x)). The strength is a graph
// input, so moving a slider changes a number fed to the session and never rebuilds the graph. LoRA files
// name layers in kohya form (`lora_unet_down_blocks_0_attentions_0_..._to_q`); diffusers/PEFT files
// (`unet.down_blocks.0....to_q.lora_A.weight`) are normalised to the same names when the file is indexed.

import type { TensorFile } from '../../formats/tensor-file.ts';
import { fromFileDType, type DataType } from '../graph/dtype.ts';
import { type Graph, GraphError, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';

export interface LoraModule {
  down: string; // tensor key in the file
  up: string;
  alpha: string | null;
  rank: number;
}

/** Index of one LoRA file: normalised kohya module name -> its tensors. */
export function indexLoraFile(file: TensorFile): Map<string, LoraModule> {
  const modules = new Map<string, LoraModule>();
  for (const key of file.tensors.keys()) {
    const parsed = parseLoraKey(key);
    if (!parsed || parsed.part !== 'down') continue;
    const upKey = findPartner(file, key, parsed);
    if (!upKey) throw new GraphError(`${file.path}: LoRA tensor '${key}' has no matching up/B tensor`);
    const alphaKey = `${key.slice(0, key.length - parsed.suffix.length)}.alpha`;
    const rank = file.tensors.get(key)!.shape[0];
    modules.set(parsed.module, { down: key, up: upKey, alpha: file.tensors.has(alphaKey) ? alphaKey : null, rank });
  }
  return modules;
}

interface ParsedKey {
  module: string;
  part: 'down' | 'up';
  suffix: string;
}

const SUFFIXES: [string, 'down' | 'up'][] = [
  ['.lora_down.weight', 'down'],
  ['.lora_up.weight', 'up'],
  ['.lora_A.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.lora.down.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['_lora.down.weight', 'down'],
  ['_lora.up.weight', 'up'],
];

export function parseLoraKey(key: string): ParsedKey | null {
  for (const [suffix, part] of SUFFIXES) {
    if (!key.endsWith(suffix)) continue;
    let base = key.slice(0, -suffix.length);
    if (base.startsWith('lora_unet_') || base.startsWith('lora_te_')) return { module: base, part, suffix };
    // diffusers / PEFT names: unet.down_blocks.0...., text_encoder.text_model...., old attn processors
    base = base.replace(/^base_model\.model\./, '').replace(/\.processor\./, '.');
    let prefix: string;
    if (base.startsWith('unet.')) prefix = 'lora_unet_';
    else if (base.startsWith('text_encoder.')) prefix = 'lora_te_';
    else return null;
    const path = base.slice(base.indexOf('.') + 1).replace(/\.to_out$/, '.to_out.0');
    return { module: prefix + path.replace(/\./g, '_'), part, suffix };
  }
  return null;
}

function findPartner(file: TensorFile, downKey: string, parsed: ParsedKey): string | null {
  const stem = downKey.slice(0, downKey.length - parsed.suffix.length);
  for (const [suffix, part] of SUFFIXES) {
    if (part === 'up' && file.tensors.has(stem + suffix)) return stem + suffix;
  }
  return null;
}

export interface LoraBinding {
  file: TensorFile;
  modules: Map<string, LoraModule>;
  /** Scalar graph input carrying the user's strength for this LoRA. */
  strength: Node;
}

/** Maps a layer's checkpoint key path to its kohya module name, or null when LoRAs never target it. */
export type LoraNamer = (path: string) => string | null;

/** The LoRAs applied to one model graph. Tracks which modules were used so unused ones can be reported. */
export class LoraSet {
  readonly used = new Set<string>();

  constructor(
    private readonly g: Graph,
    private readonly compute: DataType,
    private readonly bindings: readonly LoraBinding[],
    private readonly namer: LoraNamer,
  ) {}

  private weight(b: LoraBinding, key: string): Node {
    const e = b.file.tensors.get(key)!;
    const raw = this.g.weight({ file: e.sourcePath ?? b.file.path, offset: e.fileOffset, length: e.byteLength, key }, fromFileDType(e.dtype), e.shape);
    return op.cast(raw, this.compute);
  }

  private scale(b: LoraBinding, m: LoraModule): Node {
    const alpha = m.alpha ? b.file.readFloat32(m.alpha)[0] : m.rank;
    return op.mul(op.cast(b.strength, this.compute), op.scalar(this.g, alpha / m.rank, this.compute));
  }

  private modulesFor(path: string): [LoraBinding, LoraModule][] {
    const name = this.namer(path);
    if (!name) return [];
    const found: [LoraBinding, LoraModule][] = [];
    for (const b of this.bindings) {
      const m = b.modules.get(name);
      if (m) {
        found.push([b, m]);
        this.used.add(`${b.file.path}:${name}`);
      }
    }
    return found;
  }

  applyLinear(path: string, x: Node, y: Node): Node {
    for (const [b, m] of this.modulesFor(path)) y = op.add(y, this.linearDelta(b, m, x));
    return y;
  }

  /** The sum of this set's deltas on a linear layer, strengths and alpha/rank applied; null when none targets it. */
  deltaLinear(path: string, x: Node): Node | null {
    let sum: Node | null = null;
    for (const [b, m] of this.modulesFor(path)) {
      const delta = this.linearDelta(b, m, x);
      sum = sum ? op.add(sum, delta) : delta;
    }
    return sum;
  }

  private linearDelta(b: LoraBinding, m: LoraModule, x: Node): Node {
    const down = op.reshape(this.weight(b, m.down), [m.rank, -1]); // [r, in]
    const up = op.reshape(this.weight(b, m.up), [-1, m.rank]); // [out, r]
    return op.mul(op.matmul(op.matmul(x, op.transpose(down, [1, 0])), op.transpose(up, [1, 0])), this.scale(b, m));
  }

  applyConv(path: string, x: Node, y: Node, opts: op.ConvOptions): Node {
    for (const [b, m] of this.modulesFor(path)) y = op.add(y, this.convDelta(b, m, x, opts));
    return y;
  }

  /** The sum of this set's deltas on a conv layer (output-shaped), or null when none targets it. */
  deltaConv(path: string, x: Node, opts: op.ConvOptions): Node | null {
    let sum: Node | null = null;
    for (const [b, m] of this.modulesFor(path)) {
      const delta = this.convDelta(b, m, x, opts);
      sum = sum ? op.add(sum, delta) : delta;
    }
    return sum;
  }

  private convDelta(b: LoraBinding, m: LoraModule, x: Node, opts: op.ConvOptions): Node {
    let down = this.weight(b, m.down);
    if (down.rank === 2) down = op.reshape(down, [m.rank, -1, 1, 1]); // linear LoRA on a 1x1 conv
    let up = this.weight(b, m.up);
    if (up.rank === 2) up = op.reshape(up, [-1, m.rank, 1, 1]);
    const kernel = down.shape[2];
    const pads = kernel === 1 ? [0, 0, 0, 0] : opts.pads;
    return op.mul(op.conv(op.conv(x, down, null, { strides: opts.strides, pads }), up, null), this.scale(b, m));
  }
}
