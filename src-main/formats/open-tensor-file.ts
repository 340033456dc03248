// One entry point for "open this weights file": the format is decided by the file's first bytes, never by its
// extension (downloads are routinely misnamed: a .ckpt that is safetensors, a .safetensors that is a pickle).

import fs from 'node:fs';
import { openRegularFile, readExact } from './fd-tensor-file.ts';
import { openSafetensors } from './safetensors.ts';
import { TensorFileError, type TensorFile } from './tensor-file.ts';
import { openTorchZip } from './torch-zip.ts';

export type DetectedFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'torch-tar' | 'gguf' | 'unknown';

/** Classifies a file from its first bytes (up to 512: a tar header is that long). */
export function detectFormat(head: Uint8Array): DetectedFormat {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) {
    return 'torch-zip'; // 'PK\3\4' (or 'PK\5\6' for an empty archive)
  }
  if (b.length >= 4 && b.toString('latin1', 0, 4) === 'GGUF') return 'gguf';
  // safetensors: a little-endian u64 header length, then the JSON object itself. Checked before the pickle test:
  // a header of 0x280, 0x380, 0x480 or 0x580 bytes starts with the same two bytes as a pickle's PROTO 2..5.
  if (b.length >= 9) {
    let i = 8;
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
    if (b[i] === 0x7b && b.readUInt32LE(4) === 0) return 'safetensors';
  }
  // A pickle starts with PROTO (0x80, version); torch's legacy format starts with its magic number right after.
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'torch-legacy';
  if (b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar') return 'torch-tar';
  return 'unknown';
}

function hex(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Opens a safetensors file or zip-format torch checkpoint, whichever the content says it is. */
export function openTensorFile(file: string): TensorFile {
  const opened = openRegularFile(file);
  let head: Uint8Array;
  try {
    head = readExact(opened.fd, file, 0, Math.min(512, opened.size));
  } finally {
    fs.closeSync(opened.fd);
  }
  const format = detectFormat(head);
  switch (format) {
    case 'safetensors':
      return openSafetensors(file);
    case 'torch-zip':
      return openTorchZip(file);
    case 'torch-legacy':
      throw new TensorFileError(
        'unsupported',
        file,
        'is in the old torch format (a bare pickle, before PyTorch 1.6), which cannot be read safely here; ' +
          'please re-save it with a current torch.save, or convert it to safetensors',
      );
    case 'torch-tar':
      throw new TensorFileError('unsupported', file, 'is in the very old tar-based torch format; please re-save it or convert it to safetensors');
    case 'gguf':
      throw new TensorFileError('unsupported', file, 'is a GGUF file; only safetensors and torch checkpoints are supported');
    case 'unknown':
      if (opened.size === 0) throw new TensorFileError('corrupt', file, 'is empty');
      // Named as safetensors but malformed: let the safetensors reader say precisely what is wrong.
      if (/\.safetensors$/i.test(file)) return openSafetensors(file);
      throw new TensorFileError(
        'unsupported',
        file,
        `is neither a safetensors file nor a zip-format torch checkpoint (it starts with bytes ${hex(head)})`,
      );
  }
}
