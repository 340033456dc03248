// The one atomic writer on a full or failing disk: the target keeps its old bytes, no temporary file stays,
// and the error says in words which folder is full and how much room the write needed. The full disk is
// simulated in this process (disk-full.test-support.ts) and, where this runs as root and may mount, is also a
// real 64 kB tmpfs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { asDiskWriteError, DiskWriteError, formatBytes, removeStaleTempFiles, writeFileAtomic } from './atomic-file.ts';
import { fillDisk, tempFilesIn } from './disk-full.test-support.ts';
import { openSafetensors, writeSafetensors } from './safetensors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-atomic-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 256);
const isDiskFull = (folder: string, needed: number) => (e: unknown) =>
  e instanceof DiskWriteError &&
  e.kind === 'disk-full' &&
  e.folder === folder &&
  e.bytesNeeded === needed &&
  e.message.includes(folder) &&
  e.message.includes(`${formatBytes(needed)} needed`) &&
  /disk is full/i.test(e.message);

describe('writeFileAtomic', () => {
  it('writes several chunks in order, creating the folder, and continues after short writes', (t) => {
    const file = path.join(dir, 'made', 'deep', 'out.bin');
    const original = fs.writeSync as (fd: number, b: Uint8Array, o?: number, l?: number) => number;
    let calls = 0;
    // a system that writes at most 7 bytes per call (pipes, network filesystems, signals do this)
    t.mock.method(fs, 'writeSync', (fd: number, b: Uint8Array, o = 0, l?: number) => {
      calls += 1;
      return original(fd, b, o, Math.min(7, l ?? b.byteLength - o));
    });
    writeFileAtomic(file, [bytes(40, 1), bytes(0), bytes(25, 2)]);
    t.mock.restoreAll();
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), new Uint8Array([...bytes(40, 1), ...bytes(25, 2)]));
    assert.ok(calls >= 10, `${calls} write calls`);
    assert.deepEqual(tempFilesIn(dir), []);
  });

  it('a full disk: the old file stays whole, no temporary file, the error names the folder and the bytes', (t) => {
    const folder = path.join(dir, 'full');
    const file = path.join(folder, 'picture.png');
    writeFileAtomic(file, bytes(500, 9));
    const disk = fillDisk(t, folder, { freeBytes: 100 });
    assert.throws(() => writeFileAtomic(file, bytes(4096, 3)), isDiskFull(folder, 4096));
    assert.ok(disk.opened.length === 1 && disk.refused > 0);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes(500, 9));
    assert.deepEqual(tempFilesIn(folder), []);
    // once there is room again the same write goes through
    disk.restore();
    writeFileAtomic(file, bytes(4096, 3));
    assert.equal(fs.statSync(file).size, 4096);
  });

  it('a new file on a full disk is not created at all', (t) => {
    const folder = path.join(dir, 'full-new');
    fs.mkdirSync(folder);
    fillDisk(t, folder, { freeBytes: 0 });
    assert.throws(() => writeFileAtomic(path.join(folder, 'new.png'), bytes(10)), isDiskFull(folder, 10));
    assert.deepEqual(fs.readdirSync(folder), []);
  });

  it('a write that makes no progress is a full disk, not an endless loop', (t) => {
    const folder = path.join(dir, 'zero');
    t.mock.method(fs, 'writeSync', () => 0);
    assert.throws(() => writeFileAtomic(path.join(folder, 'z.bin'), bytes(10)), isDiskFull(folder, 10));
    assert.deepEqual(fs.readdirSync(folder), []);
  });

  it('a failing disk (EIO on fsync) is a disk-error naming the folder; nothing is left', (t) => {
    const folder = path.join(dir, 'eio');
    const file = path.join(folder, 'doc.bin');
    writeFileAtomic(file, bytes(20, 4));
    fillDisk(t, folder, { freeBytes: 1 << 20, fsyncCode: 'EIO' });
    assert.throws(
      () => writeFileAtomic(file, bytes(64)),
      (e: unknown) => e instanceof DiskWriteError && e.kind === 'disk-error' && e.code === 'EIO' && e.message.includes(folder),
    );
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes(20, 4));
    assert.deepEqual(tempFilesIn(folder), []);
  });

  it('other errors pass through unchanged', () => {
    fs.writeFileSync(path.join(dir, 'plain-file'), 'x');
    assert.throws(() => writeFileAtomic(path.join(dir, 'plain-file', 'x.bin'), bytes(1)), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'EEXIST');
  });
});

describe('writeSafetensors on a full disk', () => {
  it('throws disk-full with the file size needed, keeps the old file readable and leaves no temporary file', (t) => {
    const folder = path.join(dir, 'loras');
    const file = path.join(folder, 'style.safetensors');
    writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
    const before = fs.readFileSync(file);
    fillDisk(t, folder, { freeBytes: 300 });
    const big = new Float32Array(1000).fill(0.5);
    assert.throws(
      () => writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [1000], data: big }]),
      (e: unknown) => e instanceof DiskWriteError && e.kind === 'disk-full' && e.bytesNeeded! > 4000 && e.message.includes(folder),
    );
    assert.deepEqual(fs.readFileSync(file), before);
    const reread = openSafetensors(file);
    assert.deepEqual([...reread.readFloat32('w')], [1, 2, 3, 4]);
    reread.close();
    assert.deepEqual(tempFilesIn(folder), []);
  });
});

describe('disk errors from elsewhere', () => {
  it("SQLite's codes: SQLITE_FULL is disk-full, SQLITE_IOERR_* is disk-error, anything else is not a disk error", () => {
    const full = asDiskWriteError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), dir, null, 'the library database');
    assert.equal(full?.kind, 'disk-full');
    assert.match(full!.message, /disk is full: could not save the library database in/);
    assert.equal(asDiskWriteError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), dir, null, 'x')?.kind, 'disk-error');
    assert.equal(asDiskWriteError(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT' }), dir, null, 'x'), null);
    assert.equal(asDiskWriteError(new Error('plain'), dir, null, 'x'), null);
    assert.equal(formatBytes(999), '999 bytes');
    assert.equal(formatBytes(1_450_000), '1.4 MB');
  });

  it('removeStaleTempFiles removes only old temporary files of the writer', () => {
    const folder = path.join(dir, 'stale');
    fs.mkdirSync(folder);
    const old = path.join(folder, '.a.png.123.0badf00d.tmp');
    const young = path.join(folder, '.b.png.124.deadbeef.tmp');
    const other = path.join(folder, 'notes.tmp');
    const older = path.join(folder, '20261203-x-0-1.png.4242.tmp'); // the name the writer before this one used
    for (const f of [old, young, other, older]) fs.writeFileSync(f, 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const f of [old, other, older]) fs.utimesSync(f, hourAgo, hourAgo);
    assert.equal(removeStaleTempFiles(folder), 2);
    assert.deepEqual(fs.readdirSync(folder).sort(), ['.b.png.124.deadbeef.tmp', 'notes.tmp']);
  });
});

describe('a real full filesystem (tmpfs, root only)', () => {
  const mountPoint = path.join(dir, 'tmpfs');
  fs.mkdirSync(mountPoint);
  const mounted =
    process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status === 0;
  after(() => {
    if (mounted) spawnSync('umount', [mountPoint]);
  });

  it('a 256 kB picture on a 64 kB disk: disk-full, the old file whole, no temporary file', (t) => {
    if (!mounted) return t.skip('cannot mount a tmpfs here (needs root on Linux)');
    const file = path.join(mountPoint, 'picture.png');
    writeFileAtomic(file, bytes(1000, 5));
    assert.throws(() => writeFileAtomic(file, bytes(256 * 1024, 6)), isDiskFull(mountPoint, 256 * 1024));
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes(1000, 5));
    assert.deepEqual(fs.readdirSync(mountPoint), ['picture.png']);
  });
});
