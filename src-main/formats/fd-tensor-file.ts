// The part both readers share: an open file descriptor plus a validated table of byte ranges. Whatever format
// the table came from, reads go straight to the file at the recorded offsets, one tensor at a time.

import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { decodeToFloat32 } from './dtype-convert.ts';
import { DTYPE_BYTES, TensorFileError, type TensorEntry, type TensorFile } from './tensor-file.ts';

/** An opened regular file: descriptor, resolved path and size at open time. */
export interface OpenedFile {
  readonly fd: number;
  readonly realPath: string;
  readonly size: number;
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e && typeof e === 'object' && e.code ? `${e.code} (${e.message})` : String(error);
}

/** Opens `file` read-only after resolving symlinks; refuses directories, devices and pipes. */
export function openRegularFile(file: string): OpenedFile {
  let realPath: string;
  try {
    realPath = fs.realpathSync(file);
  } catch (error) {
    throw new TensorFileError('io', file, `cannot open: ${describe(error)}`);
  }
  let fd: number;
  try {
    fd = fs.openSync(realPath, 'r');
  } catch (error) {
    throw new TensorFileError('io', file, `cannot open: ${describe(error)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new TensorFileError('io', file, 'is not a regular file');
    return { fd, realPath, size: stat.size };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/**
 * Reads exactly `length` bytes at `position` into `target` (a fresh buffer by default). A short read means the
 * file shrank since it was validated, which is reported rather than returned as zeros.
 */
export function readExact(fd: number, file: string, position: number, length: number, target?: Uint8Array): Uint8Array {
  const out = target ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, out, done, length - done, position + done);
    } catch (error) {
      throw new TensorFileError('io', file, `read failed at byte ${position + done}: ${describe(error)}`);
    }
    if (n === 0) {
      throw new TensorFileError('io', file, `unexpected end of file at byte ${position + done} (was it truncated?)`);
    }
    done += n;
  }
  return out;
}

/** Number of elements of a shape; the readers have already checked it is a safe integer. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** TensorFile over an open descriptor and a table of validated entries. */
export class FdTensorFile implements TensorFile {
  private fd: number | null;

  constructor(
    opened: OpenedFile,
    readonly format: TensorFile['format'],
    readonly tensors: ReadonlyMap<string, TensorEntry>,
    readonly metadata: Readonly<Record<string, string>>,
    /** Path as the caller gave it, used in messages. */
    private readonly displayPath: string,
  ) {
    this.fd = opened.fd;
    this.path = opened.realPath;
    this.sizeBytes = opened.size;
  }

  readonly path: string;
  readonly sizeBytes: number;

  private entry(name: string): TensorEntry {
    const entry = this.tensors.get(name);
    if (!entry) throw new TensorFileError('corrupt', this.displayPath, `has no tensor named '${name}'`);
    return entry;
  }

  private descriptor(): number {
    if (this.fd === null) throw new TensorFileError('io', this.displayPath, 'was already closed');
    return this.fd;
  }

  private checkReadable(entry: TensorEntry): void {
    if (entry.byteLength > bufferConstants.MAX_LENGTH) {
      throw new TensorFileError('unsupported', this.displayPath, `tensor '${entry.name}' is too large to read into memory`);
    }
  }

  /** The buffer owns its ArrayBuffer from offset 0 (never a pool slice), so typed-array views of it are aligned. */
  readBytes(name: string): Buffer {
    const entry = this.entry(name);
    this.checkReadable(entry);
    const out = Buffer.allocUnsafeSlow(entry.byteLength);
    readExact(this.descriptor(), this.displayPath, entry.fileOffset, entry.byteLength, out);
    return out;
  }

  readFloat32(name: string): Float32Array {
    const entry = this.entry(name);
    this.checkReadable(entry);
    const count = entry.byteLength / DTYPE_BYTES[entry.dtype];
    // A fresh ArrayBuffer starts 8-byte aligned, so the stored bytes can be viewed as their own type in place;
    // float32 is read straight into the result.
    const bytes = new Uint8Array(entry.byteLength);
    readExact(this.descriptor(), this.displayPath, entry.fileOffset, entry.byteLength, bytes);
    return decodeToFloat32(entry.dtype, bytes, count);
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    fs.closeSync(fd);
  }
}
