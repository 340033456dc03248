// The common view of a weights file (safetensors, or a zip-format torch pickle) that the library's detector
// and the engine's graph builder both read. Tensor bytes are never loaded eagerly: each entry records where
// its raw little-endian bytes lie in the file, so the ONNX graph can point at them as external data and the
// file is never copied or converted on disk.

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface TensorEntry {
  /** Key as stored in the file (e.g. `model.diffusion_model.input_blocks.0.0.weight`). */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor's first byte in `TensorFile.path`. */
  readonly fileOffset: number;
  readonly byteLength: number;
  /**
   * Real path of the file holding the bytes when it differs from the TensorFile's own path: merged views
   * (a CtrLoRA base with a condition LoRA's norms and zero convs) point entries into several files.
   */
  readonly sourcePath?: string;
}

/** One opened weights file. Owned by whoever opened it; `close()` releases the file handle. */
export interface TensorFile {
  /** Real path of the file (symlinks resolved), so ORT's external-data folder check passes. */
  readonly path: string;
  readonly format: 'safetensors' | 'torch-zip';
  readonly sizeBytes: number;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** safetensors `__metadata__`; for torch files, plain scalar entries next to the state dict. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Raw bytes of one tensor, as stored (dtype unchanged). */
  readBytes(name: string): Buffer;
  /** Values of one tensor converted to float32 in memory (F16/BF16/F64/ints widened or narrowed). */
  readFloat32(name: string): Float32Array;
  close(): void;
}

/** A problem with a file, named for the user: which file and what is wrong with it. */
export class TensorFileError extends Error {
  constructor(
    readonly kind: 'corrupt' | 'hostile' | 'unsupported' | 'io',
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'TensorFileError';
  }
}
