// The one way Hintbrush writes a file it must not lose or half-write: pictures, training checkpoints, LoRA and
// other safetensors files. The bytes go into a hidden temporary file beside the target (same folder, so the
// rename cannot cross a filesystem), every short write is continued, the file is fsynced, then renamed over the
// target; on any error the temporary file is removed and the target is left exactly as it was. A full disk
// (ENOSPC, EDQUOT, SQLite's SQLITE_FULL) becomes a DiskWriteError of kind 'disk-full' that names the folder and
// the space the write needed, so every caller can report it in words instead of an errno.
// Runs in main and in the engine process (the safetensors writer): Node's fs only, nothing of Electron.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type DiskWriteErrorKind = 'disk-full' | 'disk-error';

/** A write that the disk refused. `bytesNeeded` is null when unknown (a database write). */
export class DiskWriteError extends Error {
  constructor(
    readonly kind: DiskWriteErrorKind,
    /** The folder whose disk refused the write. */
    readonly folder: string,
    readonly bytesNeeded: number | null,
    /** The system's code: ENOSPC, EIO, SQLITE_FULL... */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DiskWriteError';
  }
}

/** Errno codes that mean "no room": the disk, or the user's quota, is full. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
/** Errno codes of a disk that failed or refused writing for another reason. */
const FAILED_CODES = new Set(['EIO', 'EROFS', 'EFBIG', 'ENXIO']);

/** A byte count as people read it: 512 bytes, 1.4 MB, 2.1 GB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** Bytes free to this user on the disk holding `folder`, or null where the system cannot say. */
export function freeBytes(folder: string): number | null {
  try {
    const s = fs.statfsSync(folder);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/**
 * The DiskWriteError for `error` when it is a disk's refusal (errno or SQLite code), else null: the caller
 * rethrows anything else unchanged. `what` names what was being written, for the message.
 */
export function asDiskWriteError(error: unknown, folder: string, bytesNeeded: number | null, what: string): DiskWriteError | null {
  if (error instanceof DiskWriteError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  // SQLite's extended codes: SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC... are all I/O failures
  const failed = FAILED_CODES.has(code) || code.startsWith('SQLITE_IOERR');
  if (!FULL_CODES.has(code) && !failed) return null;
  const need = bytesNeeded === null ? '' : ` (${formatBytes(bytesNeeded)} needed`;
  const free = freeBytes(folder);
  const room = need ? `${need}${free === null ? '' : `, ${formatBytes(free)} free`})` : free === null ? '' : ` (${formatBytes(free)} free)`;
  if (!failed) {
    return new DiskWriteError('disk-full', folder, bytesNeeded, code, `The disk is full: could not save ${what} in ${folder}${room}. Free some space and try again.`);
  }
  const detail = (error as Error)?.message ?? String(error);
  return new DiskWriteError('disk-error', folder, bytesNeeded, code, `The disk refused to save ${what} in ${folder} (${code}: ${detail}). Nothing was changed there.`);
}

/**
 * Writes `data` (one buffer, or several written in order without joining them) to `file` whole or not at all.
 * Throws DiskWriteError on a full or failing disk; nothing new is left in the folder on any error.
 */
export function writeFileAtomic(file: string, data: Uint8Array | readonly Uint8Array[]): void {
  const chunks = data instanceof Uint8Array ? [data] : data;
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const folder = path.dirname(path.resolve(file));
  const temp = path.join(folder, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fs.mkdirSync(folder, { recursive: true });
    fd = fs.openSync(temp, 'wx');
    for (const chunk of chunks) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = null;
    fs.closeSync(closing);
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== null) closeQuietly(fd);
    removeQuietly(temp);
    throw asDiskWriteError(error, folder, total, path.basename(file)) ?? error;
  }
  syncFolder(folder);
}

/**
 * Removes the temporary files writeFileAtomic leaves only when its process dies mid-write (kill -9, power
 * loss), for a folder only this app writes. Returns how many went.
 */
export function removeStaleTempFiles(folder: string, olderThanMs = 60_000): number {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    // this writer's names, and those of the writer before it (`picture.png.<pid>.tmp`, not hidden)
    if (!/^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name) && !/^[^.].*\.(png|safetensors)\.\d+\.tmp$/.test(name)) continue;
    const file = path.join(folder, name);
    try {
      // a write of another live process (a second window, the CLI) is young: leave it alone
      if (Date.now() - fs.statSync(file).mtimeMs < olderThanMs) continue;
      fs.rmSync(file, { force: true });
      removed += 1;
    } catch {
      // gone meanwhile, or not ours to remove: either way nothing to do
    }
  }
  return removed;
}

/** Writes every byte of `bytes`, continuing after short writes; a write that makes no progress is ENOSPC. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    // POSIX allows a 0-byte write on a full device; looping on it would never end
    if (n <= 0) throw Object.assign(new Error('no space left on device (the write made no progress)'), { code: 'ENOSPC' });
    done += n;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // the write already failed; its error is the one to report
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // a disk that failed the write may fail this too; removeStaleTempFiles retries at the next start
  }
}

/** Makes the rename itself durable where the system allows fsync on a folder (not on Windows). */
function syncFolder(folder: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(folder, 'r');
    fs.fsyncSync(fd);
  } catch {
    // the file is complete and in place; only the rename's durability across a power loss is not guaranteed
  } finally {
    if (fd !== null) closeQuietly(fd);
  }
}
