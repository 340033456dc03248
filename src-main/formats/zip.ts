// A read-only zip reader for `torch.save` archives, written for hostile input: the end record and central
// directory are located and bounds-checked before anything they say is trusted, local headers are read only
// for the entries actually used, and every offset is checked to lie before the central directory.
// Supports zip64 (torch writes it for checkpoints over 4 GB), stored and deflated entries.

import zlib from 'node:zlib';
import { crc32 } from './crc32.ts';
import { readExact } from './fd-tensor-file.ts';
import { TensorFileError } from './tensor-file.ts';

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** Far above any checkpoint's directory (a few hundred bytes per tensor), far below memory trouble. */
const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;
export const MAX_ENTRY_NAME_BYTES = 4096;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

export interface ZipDirectory {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** Where the central directory starts: every entry's local header and data must end before it. */
  readonly centralDirectoryOffset: number;
}

function u64(buf: Buffer, at: number, what: string, file: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new TensorFileError('corrupt', file, `zip ${what} ${value} is out of range`);
  return Number(value);
}

/** Finds the end-of-central-directory record: the last signature whose comment length reaches the file's end. */
function findEndRecord(fd: number, size: number, file: string): { at: number; record: Buffer } {
  if (size < EOCD_SIZE) throw new TensorFileError('corrupt', file, `is ${size} bytes, too short to be a zip archive`);
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = readExact(fd, file, tailStart, tailLength) as Buffer;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tailLength) {
      return { at: tailStart + i, record: tail.subarray(i, i + EOCD_SIZE) };
    }
  }
  throw new TensorFileError('corrupt', file, 'has no zip end-of-central-directory record (truncated or not a zip archive)');
}

interface DirectoryBounds {
  count: number;
  offset: number;
  size: number;
  /** First byte after the space the central directory may occupy. */
  limit: number;
}

function locateDirectory(fd: number, size: number, file: string): DirectoryBounds {
  const { at, record } = findEndRecord(fd, size, file);
  const disk = record.readUInt16LE(4);
  const cdDisk = record.readUInt16LE(6);
  let count = record.readUInt16LE(10);
  let cdSize = record.readUInt32LE(12);
  let cdOffset = record.readUInt32LE(16);
  let limit = at;
  if (disk !== 0 || cdDisk !== 0 || record.readUInt16LE(8) !== count) {
    throw new TensorFileError('unsupported', file, 'is a multi-part zip archive');
  }
  const saturated = count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  const locator = at >= 20 ? (readExact(fd, file, at - 20, 20) as Buffer) : undefined;
  if (locator && locator.readUInt32LE(0) === ZIP64_LOCATOR_SIGNATURE) {
    const recordAt = u64(locator, 8, 'zip64 record offset', file);
    if (recordAt + 56 > at - 20) throw new TensorFileError('corrupt', file, 'zip64 end record lies outside the file');
    const z = readExact(fd, file, recordAt, 56) as Buffer;
    if (z.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw new TensorFileError('corrupt', file, 'zip64 end record has a bad signature');
    count = u64(z, 32, 'entry count', file);
    cdSize = u64(z, 40, 'central directory size', file);
    cdOffset = u64(z, 48, 'central directory offset', file);
    limit = recordAt;
  } else if (saturated) {
    throw new TensorFileError('corrupt', file, 'zip end record needs zip64 values but has no zip64 record');
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new TensorFileError('unsupported', file, `zip central directory of ${cdSize} bytes exceeds the bound of ${MAX_CENTRAL_DIRECTORY_BYTES}`);
  }
  if (cdOffset + cdSize > limit) {
    throw new TensorFileError('corrupt', file, `zip central directory [${cdOffset}, ${cdOffset + cdSize}) lies outside the file`);
  }
  if (count * 46 > cdSize) throw new TensorFileError('corrupt', file, `zip claims ${count} entries in a ${cdSize}-byte directory`);
  return { count, offset: cdOffset, size: cdSize, limit };
}

/** Reads the zip64 extended-information field: 8-byte values for exactly the fields saturated at 0xffffffff. */
function applyZip64Extra(extra: Buffer, entry: { usize: number; csize: number; offset: number }, name: string, file: string): void {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    const body = extra.subarray(at + 4, at + 4 + length);
    if (body.length !== length) throw new TensorFileError('corrupt', file, `zip entry '${name}' has a truncated extra field`);
    if (id === 0x0001) {
      let p = 0;
      const next = (what: string) => {
        if (p + 8 > body.length) throw new TensorFileError('corrupt', file, `zip entry '${name}' has a short zip64 field`);
        const v = u64(body, p, what, file);
        p += 8;
        return v;
      };
      if (entry.usize === 0xffffffff) entry.usize = next('size');
      if (entry.csize === 0xffffffff) entry.csize = next('compressed size');
      if (entry.offset === 0xffffffff) entry.offset = next('offset');
      return;
    }
    at += 4 + length;
  }
  if (entry.usize === 0xffffffff || entry.csize === 0xffffffff || entry.offset === 0xffffffff) {
    throw new TensorFileError('corrupt', file, `zip entry '${name}' needs zip64 sizes but has no zip64 field`);
  }
}

/** Reads and validates the central directory. */
export function readZipDirectory(fd: number, size: number, file: string): ZipDirectory {
  const bounds = locateDirectory(fd, size, file);
  const cd = readExact(fd, file, bounds.offset, bounds.size) as Buffer;
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8');
  let at = 0;
  for (let i = 0; i < bounds.count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw new TensorFileError('corrupt', file, `zip central directory entry ${i} is malformed`);
    }
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw new TensorFileError('corrupt', file, `zip central directory entry ${i} runs past the directory`);
    if (nameLength > MAX_ENTRY_NAME_BYTES) {
      throw new TensorFileError('corrupt', file, `zip entry ${i} has a ${nameLength}-byte name (limit ${MAX_ENTRY_NAME_BYTES})`);
    }
    const name = decoder.decode(cd.subarray(at + 46, at + 46 + nameLength));
    const sizes = { usize: cd.readUInt32LE(at + 24), csize: cd.readUInt32LE(at + 20), offset: cd.readUInt32LE(at + 42) };
    applyZip64Extra(cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), sizes, name, file);
    if (entries.has(name)) throw new TensorFileError('corrupt', file, `zip entry '${name}' appears twice`);
    if (sizes.offset + 30 + sizes.csize > bounds.offset) {
      throw new TensorFileError('corrupt', file, `zip entry '${name}' lies outside the archive's data area`);
    }
    entries.set(name, {
      name,
      method: cd.readUInt16LE(at + 10),
      flags: cd.readUInt16LE(at + 8),
      crc32: cd.readUInt32LE(at + 16),
      compressedSize: sizes.csize,
      uncompressedSize: sizes.usize,
      localHeaderOffset: sizes.offset,
    });
    at = end;
  }
  return { entries, centralDirectoryOffset: bounds.offset };
}

/**
 * Absolute offset of an entry's first data byte, from its local header (whose name and extra field lengths
 * may differ from the central directory's: torch pads the local extra field to align tensor data).
 */
export function entryDataOffset(fd: number, file: string, dir: ZipDirectory, entry: ZipEntry): number {
  if (entry.flags & 0x41) throw new TensorFileError('unsupported', file, `zip entry '${entry.name}' is encrypted`);
  const header = readExact(fd, file, entry.localHeaderOffset, 30) as Buffer;
  if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) {
    throw new TensorFileError('corrupt', file, `zip entry '${entry.name}' has no local header at byte ${entry.localHeaderOffset}`);
  }
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const localName = readExact(fd, file, entry.localHeaderOffset + 30, nameLength);
  if (Buffer.compare(localName, Buffer.from(entry.name, 'utf8')) !== 0 || header.readUInt16LE(8) !== entry.method) {
    throw new TensorFileError('corrupt', file, `zip entry '${entry.name}': local header disagrees with the central directory`);
  }
  const dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength;
  if (dataOffset + entry.compressedSize > dir.centralDirectoryOffset) {
    throw new TensorFileError('corrupt', file, `zip entry '${entry.name}' runs into the central directory`);
  }
  return dataOffset;
}

/** Whole contents of a small entry (the pickle), decompressed if needed, size and CRC checked. */
export function readZipEntry(fd: number, file: string, dir: ZipDirectory, entry: ZipEntry, maxBytes: number): Buffer {
  if (entry.uncompressedSize > maxBytes) {
    throw new TensorFileError('unsupported', file, `zip entry '${entry.name}' is ${entry.uncompressedSize} bytes (limit ${maxBytes})`);
  }
  const at = entryDataOffset(fd, file, dir, entry);
  const raw = readExact(fd, file, at, entry.compressedSize) as Buffer;
  let data: Buffer;
  if (entry.method === METHOD_STORED) {
    data = raw;
  } else if (entry.method === METHOD_DEFLATED) {
    try {
      data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (error) {
      throw new TensorFileError('corrupt', file, `zip entry '${entry.name}' does not inflate: ${(error as Error).message}`);
    }
  } else {
    throw new TensorFileError('unsupported', file, `zip entry '${entry.name}' uses compression method ${entry.method}`);
  }
  if (data.length !== entry.uncompressedSize || crc32(data) !== entry.crc32) {
    throw new TensorFileError('corrupt', file, `zip entry '${entry.name}' fails its size or CRC check`);
  }
  return data;
}
