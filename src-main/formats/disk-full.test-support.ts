// Tests' full disk: node's fs, in this process, behaves for files under one folder as a disk with `freeBytes`
// left would: writes go through until the room runs out, the write that crosses it is short, the next one
// throws ENOSPC (Linux's behaviour), and opening a new file there still works. `fsyncCode` makes fsync fail
// instead (EIO: a disk that fails, not one that is full). Installed with node:test's mock, so it is undone when
// the test ends; `restore()` frees the disk earlier. Only this process is affected, never the engine's.
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface DiskFault {
  /** Bytes the writes under the folder were refused so far (short writes and failed calls). */
  readonly refused: number;
  /** Files under the folder that were opened for writing since the fault was installed. */
  readonly opened: string[];
  /** Frees the disk: every later write goes through. */
  restore(): void;
}

export function fillDisk(t: TestContext, folder: string, options: { freeBytes?: number; fsyncCode?: string } = {}): DiskFault {
  const root = path.resolve(folder) + path.sep;
  const watched = new Map<number, string>();
  let free = options.freeBytes ?? 0;
  let active = true;
  const state = { refused: 0, opened: [] as string[] };
  const fail = (code: string, call: string) => Object.assign(new Error(`${code}: simulated by the test, ${call}`), { code, errno: -28, syscall: call });

  const originalOpen = fs.openSync;
  t.mock.method(fs, 'openSync', (file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
    const fd = originalOpen(file, flags ?? 'r', mode);
    const name = path.resolve(String(file));
    if (active && name.startsWith(root) && typeof flags === 'string' && /[wa+]/.test(flags)) {
      watched.set(fd, name);
      state.opened.push(name);
    }
    return fd;
  });
  const originalWrite = fs.writeSync as (fd: number, buffer: Uint8Array, offset?: number, length?: number, position?: number | null) => number;
  t.mock.method(fs, 'writeSync', (fd: number, buffer: Uint8Array, offset = 0, length?: number, position?: number | null) => {
    const wanted = length ?? buffer.byteLength - offset;
    if (!active || !watched.has(fd)) return originalWrite(fd, buffer, offset, wanted, position);
    if (free <= 0) {
      state.refused += wanted;
      throw fail('ENOSPC', 'write');
    }
    const n = Math.min(wanted, free);
    free -= n;
    state.refused += wanted - n;
    return originalWrite(fd, buffer, offset, n, position);
  });
  const originalFsync = fs.fsyncSync;
  t.mock.method(fs, 'fsyncSync', (fd: number) => {
    if (active && watched.has(fd) && options.fsyncCode) throw fail(options.fsyncCode, 'fsync');
    return originalFsync(fd);
  });
  return {
    get refused() {
      return state.refused;
    },
    get opened() {
      return state.opened;
    },
    restore() {
      active = false;
    },
  };
}

/** Names in `folder` (recursively) that look like a temporary file of writeFileAtomic. */
export function tempFilesIn(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return (fs.readdirSync(folder, { recursive: true }) as string[]).filter((n) => n.endsWith('.tmp'));
}
