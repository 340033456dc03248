// Writes textual-inversion embedding files in the layouts the community uses, byte by byte, for tests: A1111's
// `.pt` (a torch.save zip of `{string_to_token, string_to_param: {'*': vectors}, name, step, ...}`), A1111's
// `.safetensors` (`emb_params`) and diffusers' learned_embeds (`{token: vectors}` as `.bin` or `.safetensors`).
// Vectors come from the tiny checkpoint's own token-embedding table, so a test can compare an embedding with
// the words it copies. Test-only code.

import { writeFileSync } from 'node:fs';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { PickleWriter, torchArchive } from '../../formats/pickle-zip-builders.test-support.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';

export const TOKEN_EMBEDDING_KEY = 'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight';

/** Rows of the checkpoint's token-embedding table for `ids`: [ids.length, width]. */
export function tokenRows(checkpoint: TensorFile, ids: readonly number[]): { vectors: Float32Array; width: number } {
  const table = checkpoint.readFloat32(TOKEN_EMBEDDING_KEY);
  const width = checkpoint.tensors.get(TOKEN_EMBEDDING_KEY)!.shape[1];
  const vectors = new Float32Array(ids.length * width);
  ids.forEach((id, i) => vectors.set(table.subarray(id * width, (id + 1) * width), i * width));
  return { vectors, width };
}

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** A1111's Embedding.save(): torch.save of the dict, the vectors as the only storage. */
export function writeA1111Pt(file: string, vectors: Float32Array, count: number, width: number, name: string): void {
  const shape = count === 1 && vectors.length === width ? [1, width] : [count, width];
  const p = new PickleWriter().proto(2).emptyDict().mark();
  p.str('string_to_token').emptyDict().str('*').int(265).setitem();
  p.str('string_to_param').emptyDict().str('*').tensor({ key: '0', numel: vectors.length, shape }).setitem();
  p.str('name').str(name);
  p.str('step').int(3000);
  p.str('sd_checkpoint').none();
  p.str('sd_checkpoint_name').none();
  writeFileSync(file, torchArchive(p.setitems().stop().bytes(), { '0': bytes(vectors) }));
}

/** A1111's safetensors embeddings: one tensor `emb_params` [count, width]. */
export function writeA1111Safetensors(file: string, vectors: Float32Array, count: number, width: number): void {
  writeSafetensors(file, [{ name: 'emb_params', dtype: 'F32', shape: [count, width], data: vectors }]);
}

/** diffusers' learned_embeds.bin: torch.save({token: vectors}); one vector is saved as [width]. */
export function writeDiffusersBin(file: string, vectors: Float32Array, count: number, width: number, token: string): void {
  const shape = count === 1 ? [width] : [count, width];
  const p = new PickleWriter().proto(2).emptyDict().str(token).tensor({ key: '0', numel: vectors.length, shape }).setitem().stop();
  writeFileSync(file, torchArchive(p.bytes(), { '0': bytes(vectors) }));
}

/** diffusers' learned_embeds.safetensors: `{token: vectors}`. */
export function writeDiffusersSafetensors(file: string, vectors: Float32Array, count: number, width: number, token: string): void {
  writeSafetensors(file, [{ name: token, dtype: 'F32', shape: count === 1 ? [width] : [count, width], data: vectors }]);
}
