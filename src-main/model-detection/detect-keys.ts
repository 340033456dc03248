// What every detector shares: the result type, the detector interface, and a small index over a file's tensor
// names and shapes. Detection looks at key names and tensor shapes only (never at the file name), so a renamed
// file is still recognised and a misleading name fools nothing.
import type { ModelKind } from '../common/contract.ts';
import type { DType, TensorEntry, TensorFile } from '../formats/tensor-file.ts';

export interface Detection {
  kind: ModelKind;
  /** Key layout or sub-kind: 'ldm', 'original', 'original:control_model.', 'diffusers', 'kohya', 'peft'... */
  layout: string;
  /** 'sd15', 'sdxl', 'sd2', 'sd3', 'flux'... or '' when not known. */
  family: string;
  /** Why the file cannot be used; '' when it can. */
  problem: string;
  details: Record<string, string | number>;
}

/** One recogniser. Returns null when the file is not what it looks for; detectors are tried in order. */
export interface Detector {
  readonly name: string;
  detect(keys: KeyIndex, file: TensorFile): Detection | null;
}

/** Wrappers some trainers put around a whole state dict; stripped when every key carries one. */
const WRAPPER_PREFIXES = ['state_dict.', 'module.'];

/** Tensor names (wrapper prefix removed) with their entries, and the lookups detectors need. */
export class KeyIndex {
  readonly names: readonly string[];
  /** The wrapper prefix removed from every key ('' when none). */
  readonly wrapper: string;
  private readonly entries = new Map<string, TensorEntry>();

  constructor(tensors: ReadonlyMap<string, TensorEntry>) {
    const all = [...tensors.keys()];
    this.wrapper = WRAPPER_PREFIXES.find((w) => all.length > 0 && all.every((n) => n.startsWith(w))) ?? '';
    for (const [name, entry] of tensors) this.entries.set(name.slice(this.wrapper.length), entry);
    this.names = [...this.entries.keys()];
  }

  /** The key as stored in the file, for TensorFile.readBytes/readFloat32. */
  original(name: string): string {
    return this.wrapper + name;
  }

  get size(): number {
    return this.names.length;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): TensorEntry | undefined {
    return this.entries.get(name);
  }

  shape(name: string): readonly number[] | undefined {
    return this.entries.get(name)?.shape;
  }

  /** True when some key starts with `prefix`. */
  hasPrefix(prefix: string): boolean {
    return this.names.some((n) => n.startsWith(prefix));
  }

  /** Every key matching `pattern`. */
  matching(pattern: RegExp): string[] {
    return this.names.filter((n) => pattern.test(n));
  }

  /** The first key matching `pattern`, or undefined. */
  first(pattern: RegExp): string | undefined {
    return this.names.find((n) => pattern.test(n));
  }

  count(pattern: RegExp): number {
    let n = 0;
    for (const name of this.names) if (pattern.test(name)) n++;
    return n;
  }

  /** Distinct values of capture group 1 of `pattern` over all keys (e.g. layer indices). */
  distinct(pattern: RegExp): Set<string> {
    const out = new Set<string>();
    for (const name of this.names) {
      const m = pattern.exec(name);
      if (m && m[1] !== undefined) out.add(m[1]);
    }
    return out;
  }

  /** Total number of values over all tensors. */
  parameterCount(filter?: (name: string) => boolean): number {
    let total = 0;
    for (const [name, e] of this.entries) {
      if (filter && !filter(name)) continue;
      total += elementCount(e.shape);
    }
    return total;
  }

  /** The dtype holding the most values (what a user means by "this is an fp16 model"). */
  dominantDType(filter?: (name: string) => boolean): DType | '' {
    const byDType = new Map<DType, number>();
    for (const [name, e] of this.entries) {
      if (filter && !filter(name)) continue;
      byDType.set(e.dtype, (byDType.get(e.dtype) ?? 0) + elementCount(e.shape));
    }
    let best: DType | '' = '';
    let bestCount = -1;
    for (const [dtype, n] of byDType) {
      if (n > bestCount) [best, bestCount] = [dtype, n];
    }
    return best;
  }

  /** The most frequent value of shape[dim] over keys matching `pattern` (e.g. a LoRA's rank). */
  commonDim(pattern: RegExp, dim: number): { value: number; min: number; max: number } | undefined {
    const counts = new Map<number, number>();
    for (const name of this.names) {
      if (!pattern.test(name)) continue;
      const v = this.entries.get(name)!.shape[dim];
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    if (counts.size === 0) return undefined;
    const values = [...counts.keys()];
    const value = values.reduce((a, b) => ((counts.get(b) ?? 0) > (counts.get(a) ?? 0) ? b : a));
    return { value, min: Math.min(...values), max: Math.max(...values) };
  }
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Escapes a literal key prefix for use inside a RegExp. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const FAMILY_NAMES: Record<string, string> = {
  sd15: 'SD1.5',
  sd2: 'SD2',
  sdxl: 'SDXL',
  sd3: 'SD3',
  flux: 'Flux',
  'sd3/flux': 'SD3/Flux',
};

export function familyName(family: string): string {
  return FAMILY_NAMES[family] ?? family;
}

/** A recognised file of a family Hintbrush does not run: `this is an SDXL checkpoint; Hintbrush runs ...`. */
export function unsupported(
  family: string,
  what: string,
  layout: string,
  details: Record<string, string | number> = {},
): Detection {
  const name = familyName(family);
  const article = name.startsWith('SD') ? 'an' : 'a'; // "an SDXL", "a Flux"
  return {
    kind: 'unsupported',
    layout,
    family,
    problem: `this is ${article} ${name} ${what}; Hintbrush runs SD1.5-family models`,
    details,
  };
}

/** Whether a transformer's proj_in is a linear layer (SD2, SDXL) rather than a 1x1 convolution (SD1.5). */
export function linearProjIn(keys: KeyIndex, prefix: string): boolean | undefined {
  const name = keys.first(new RegExp(`^${literal(prefix)}(input_blocks\\.\\d+\\.1|down_blocks\\.\\d+\\.attentions\\.\\d+)\\.proj_in\\.weight$`));
  if (!name) return undefined;
  return keys.shape(name)!.length === 2;
}

/** Cross-attention context width: the input width of the first attn2.to_k under `prefix`. */
export function contextWidth(keys: KeyIndex, prefix: string): number | undefined {
  const name = keys.first(new RegExp(`^${literal(prefix)}.*\\.attn2\\.to_k\\.weight$`));
  return name ? keys.shape(name)![1] : undefined;
}
