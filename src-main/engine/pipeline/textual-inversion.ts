// Textual-inversion embedding files, read as A1111 reads them (create_embedding_from_data): an A1111 `.pt`
// holds `{string_to_param: {'*': vectors}, name, step, ...}`, an A1111 `.safetensors` holds `emb_params`, and
// diffusers' `learned_embeds.bin`/`.safetensors` hold a single `{token: vectors}`. Vectors are [count, width]
// (a lone [width] vector is one vector). The embedding is named by the file's stem; the text encoder width it
// was trained for is read from the vectors and compared with the checkpoint's before use.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { CHUNK_TOKENS } from '../../generation/prompt-syntax.ts';
import type { PromptEmbedding } from '../../generation/prompt-embeddings.ts';

/** One embedding, loaded. Owned by whoever loaded it; plain data, nothing to release. */
export interface TextualInversion extends PromptEmbedding {
  /** The file's stem, the word that names it in a prompt. */
  readonly name: string;
  readonly path: string;
  readonly count: number;
  readonly width: number;
  readonly vectors: Float32Array; // [count, width]
  /** A1111's TI hash: the file's SHA-256, first 12 hex digits (what "TI hashes" records). */
  readonly shortHash: string;
}

export class EmbeddingFileError extends Error {
  readonly kind = 'bad-embedding';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'EmbeddingFileError';
  }
}

/** Text encoder widths of the families an embedding may be trained for (the SDXL tower is clip_g's). */
const WIDTH_FAMILIES: Record<number, string> = { 768: 'SD1.5 (CLIP ViT-L)', 1024: 'SD2 (OpenCLIP ViT-H)', 1280: 'SDXL (OpenCLIP ViT-bigG)' };

/** "SD2 (OpenCLIP ViT-H)" for 1024; just the width otherwise. */
export function widthFamily(width: number): string {
  return WIDTH_FAMILIES[width] ?? `a ${width}-wide text encoder`;
}

/** The stem that names an embedding in prompts (`EasyNegative.safetensors` -> `EasyNegative`). */
export function embeddingName(file: string): string {
  const base = path.basename(file);
  const ext = path.extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/** The key holding the vectors, or why the file is not an embedding A1111 would load. */
export function embeddingTensorKey(file: TensorFile): { key: string } | { problem: string } {
  const keys = [...file.tensors.keys()];
  if (file.tensors.has('clip_l') && file.tensors.has('clip_g')) {
    return { problem: 'is an SDXL embedding (clip_l and clip_g vectors); Hintbrush runs SD1.5 checkpoints only' };
  }
  const params = keys.filter((k) => k.startsWith('string_to_param.'));
  if (params.length > 1) return { problem: `has ${params.length} terms in string_to_param; an embedding file holds one` };
  if (params.length === 1) return { key: params[0] };
  if (file.tensors.has('emb_params')) return { key: 'emb_params' };
  if (keys.length === 1) return { key: keys[0] }; // diffusers' learned_embeds: {token: vectors}
  return { problem: `holds ${keys.length} tensors and no string_to_param or emb_params: not a textual-inversion embedding` };
}

/** Reads an embedding file; throws EmbeddingFileError naming the file and what is wrong with it. */
export function readTextualInversion(file: string): TextualInversion {
  const name = embeddingName(file);
  let opened: TensorFile;
  try {
    opened = openTensorFile(file);
  } catch (err) {
    throw new EmbeddingFileError(file, `Embedding ${name} (${file}) cannot be read: ${(err as Error).message}`);
  }
  try {
    const found = embeddingTensorKey(opened);
    if ('problem' in found) throw new EmbeddingFileError(file, `Embedding ${name} (${file}) ${found.problem}.`);
    const shape = opened.tensors.get(found.key)!.shape;
    if (shape.length < 1 || shape.length > 2 || shape.some((d) => d < 1)) {
      throw new EmbeddingFileError(file, `Embedding ${name} (${file}): '${found.key}' has shape [${shape.join(', ')}], not [vectors, width]`);
    }
    const [count, width] = shape.length === 2 ? shape : [1, shape[0]];
    if (count > CHUNK_TOKENS) {
      throw new EmbeddingFileError(file, `Embedding ${name} (${file}) has ${count} vectors; a prompt chunk holds at most ${CHUNK_TOKENS}`);
    }
    const vectors = opened.readFloat32(found.key);
    if (!vectors.every(Number.isFinite)) throw new EmbeddingFileError(file, `Embedding ${name} (${file}) holds NaN or infinite values`);
    const shortHash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
    return { name, path: file, count, width, vectors, shortHash };
  } finally {
    opened.close();
  }
}

/** The extensions A1111 loads embeddings from (its image-embedded ones excepted). */
export const EMBEDDING_EXTENSIONS = ['.pt', '.bin', '.safetensors'];

/**
 * Every embedding file in `dir` and its subfolders, as A1111 walks its embeddings folder: by extension, empty
 * files skipped, sorted by path so the same folder always gives the same order. Throws when `dir` is no folder.
 */
export function embeddingFilesIn(dir: string): string[] {
  if (!statSync(dir).isDirectory()) throw new EmbeddingFileError(dir, `${dir} is not a folder of embeddings`);
  const found: string[] = [];
  const walk = (folder: string, depth: number) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && depth < 8) walk(full, depth + 1);
      else if (EMBEDDING_EXTENSIONS.includes(path.extname(entry.name).toLowerCase()) && statSync(full).size > 0) found.push(full);
    }
  };
  walk(dir, 0);
  return found.sort();
}

/** Embeddings whose width fits the text encoder, and those left out (A1111 skips them too). */
export function embeddingsForWidth(all: readonly TextualInversion[], width: number): { usable: TextualInversion[]; skipped: TextualInversion[] } {
  return { usable: all.filter((e) => e.width === width), skipped: all.filter((e) => e.width !== width) };
}

/** Why an embedding was left out, in one sentence. */
export function widthMismatchMessage(e: TextualInversion, width: number): string {
  return (
    `Embedding ${e.name} was left out: its vectors are ${e.width} wide (${widthFamily(e.width)}), ` +
    `but this checkpoint's text encoder is ${width} wide (${widthFamily(width)}).`
  );
}
