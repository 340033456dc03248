// A new CtrLoRA condition's starting values at any rank, as a condition file held in memory: the base's own
// zero convolutions and norm layers (its pretraining task's copies, as the recipe starts from them), and a fresh
// scale-1 LoRA on every linear layer that the base's pretraining LoRA covers (down ~ N(0, 1/rank²), up = 0:
// the recipe's initialisation, so training starts from the base's behaviour with the base's zero convs).
// buildCtrLoraTraining reads it like a file on disk; its values are never graph weights (they are all trained
// parameters), only read by `initial()`.

import type { TensorEntry, TensorFile } from '../../formats/tensor-file.ts';
import { GraphError } from '../graph/node.ts';
import { detectCtrLoraCondition, replacedByCondition } from '../models/ctrlora.ts';
import { baseAsCondition } from './recipes/ctrlora-condition.ts';
import { normalRandom } from './trainable-lora.ts';

/** A TensorFile over float32 arrays in memory. */
export function memoryTensorFile(path: string, values: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, metadata: Record<string, string> = {}): TensorFile {
  const tensors = new Map<string, TensorEntry>();
  let offset = 0;
  for (const [name, v] of values) {
    tensors.set(name, { name, dtype: 'F32', shape: v.shape, fileOffset: offset, byteLength: v.data.byteLength });
    offset += v.data.byteLength;
  }
  const get = (name: string) => {
    const v = values.get(name);
    if (!v) throw new GraphError(`${path}: no tensor '${name}'`);
    return v.data;
  };
  return {
    path,
    format: 'safetensors',
    sizeBytes: offset,
    tensors,
    metadata,
    readBytes: (name) => {
      const d = get(name);
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    },
    readFloat32: (name) => Float32Array.from(get(name)),
    close: () => {},
  };
}

/** The condition-layout starting point of a new condition of `rank` on `base`. */
export function freshCondition(base: TensorFile, rank: number, seed: number): TensorFile {
  if (!Number.isInteger(rank) || rank < 1) throw new GraphError(`CtrLoRA rank ${rank} must be a positive integer`);
  const own = baseAsCondition(base);
  const cond = detectCtrLoraCondition(own);
  const values = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [key, entry] of own.tensors) {
    if (key.includes('lora_layer') || !key.startsWith(cond.prefix) || !replacedByCondition(key)) continue;
    values.set(key, { shape: entry.shape, data: own.readFloat32(key) });
  }
  const normal = normalRandom(seed);
  for (const [path, m] of cond.modules) {
    const layer = base.tensors.get(`${cond.prefix}${path}.weight`);
    if (!layer || layer.shape.length !== 2) throw new GraphError(`${base.path}: the pretraining LoRA at '${path}' sits on no linear layer`);
    const [out, inp] = layer.shape;
    values.set(m.down, { shape: [rank, inp], data: Float32Array.from({ length: rank * inp }, () => normal() / rank) });
    values.set(m.up, { shape: [out, rank], data: new Float32Array(out * rank) });
  }
  return memoryTensorFile(`${base.path}#new-condition-r${rank}`, values);
}
