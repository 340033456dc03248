// Model hashes as other Stable Diffusion tools show them, so a user can match a file against Civitai or against
// the "Model hash" in an A1111 PNG's parameters:
// - SHA-256 of the whole file, streamed (multi-gigabyte checkpoints never sit in memory);
// - short hash: the first 10 hex digits of it (A1111's new "Model hash", Civitai's AutoV2);
// - A1111's legacy hash: SHA-256 of the 0x10000 bytes at offset 0x100000, first 8 hex digits. Files shorter
//   than that hash whatever lies there (possibly nothing), as A1111 does.
// All three come out of one pass over the file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export const LEGACY_HASH_OFFSET = 0x100000;
export const LEGACY_HASH_LENGTH = 0x10000;

export interface FileHashes {
  sha256: string;
  /** First 10 hex digits of sha256. */
  shortHash: string;
  /** A1111's pre-2023 model hash (8 hex digits). */
  legacyHash: string;
  /** Bytes read, i.e. the file's size when hashing finished. */
  bytes: number;
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called as bytes are read (about every 4 MiB). */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

export function shortHashOf(sha256: string): string {
  return sha256.slice(0, 10);
}

/** Hashes a file in one streaming pass. Rejects with the stream's error, or the signal's reason when aborted. */
export async function hashFile(file: string, options: HashOptions = {}): Promise<FileHashes> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const total = (await fs.promises.stat(file)).size;
  const whole = createHash('sha256');
  const legacy = createHash('sha256');
  let done = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 4 * 1024 * 1024, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    whole.update(chunk);
    feedLegacy(legacy, chunk, done);
    done += chunk.length;
    onProgress?.(done, total);
  }
  const sha256 = whole.digest('hex');
  return { sha256, shortHash: shortHashOf(sha256), legacyHash: legacy.digest('hex').slice(0, 8), bytes: done };
}

/** A1111's legacy model hash on its own (reads 64 KiB). */
export async function legacyModelHash(file: string): Promise<string> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(LEGACY_HASH_LENGTH);
    const { bytesRead } = await handle.read(buffer, 0, LEGACY_HASH_LENGTH, LEGACY_HASH_OFFSET);
    return createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex').slice(0, 8);
  } finally {
    await handle.close();
  }
}

/** Feeds the part of `chunk` (which starts at file offset `at`) that falls in the legacy hash's window. */
function feedLegacy(hash: ReturnType<typeof createHash>, chunk: Buffer, at: number): void {
  const from = Math.max(LEGACY_HASH_OFFSET, at);
  const to = Math.min(LEGACY_HASH_OFFSET + LEGACY_HASH_LENGTH, at + chunk.length);
  if (from < to) hash.update(chunk.subarray(from - at, to - at));
}

/**
 * A1111's LoRA hash ("Lora hashes" in its parameters, Civitai's AutoV3): for a .safetensors file the SHA-256 of
 * everything after the header (kohya's addnet hash, so editing the metadata keeps the hash), for any other file
 * the SHA-256 of the whole file; first 12 hex digits.
 */
export async function loraShortHash(file: string): Promise<string> {
  const handle = await fs.promises.open(file, 'r');
  try {
    let start = 0;
    if (file.toLowerCase().endsWith('.safetensors')) {
      const prefix = Buffer.alloc(8);
      const { bytesRead } = await handle.read(prefix, 0, 8, 0);
      if (bytesRead === 8) start = Number(prefix.readBigUInt64LE(0)) + 8;
    }
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ start, highWaterMark: 4 * 1024 * 1024, autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
    }
    return hash.digest('hex').slice(0, 12);
  } finally {
    await handle.close();
  }
}
