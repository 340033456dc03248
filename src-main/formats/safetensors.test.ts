import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeSafetensors, openSafetensors, writeSafetensors } from './safetensors.ts';
import { DTYPE_BYTES, TensorFileError } from './tensor-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-safetensors-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeRaw(bytes: Uint8Array): string {
  const file = path.join(dir, `case-${counter++}.safetensors`);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A file with the given header (object or raw text) and data area; `length` overrides the length prefix. */
function build(header: unknown, data: number | Uint8Array = 0, length?: bigint): string {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(text.length));
  const body = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  return writeRaw(Buffer.concat([prefix, text, body]));
}

function rejects(file: string, kind: TensorFileError['kind'], pattern: RegExp): void {
  assert.throws(
    () => openSafetensors(file).close(),
    (error: unknown) => {
      assert.ok(error instanceof TensorFileError, `expected TensorFileError, got ${String(error)}`);
      assert.equal(error.kind, kind, error.message);
      assert.match(error.message, pattern);
      assert.ok(error.message.startsWith(file), 'message names the file');
      return true;
    },
  );
}

const f32 = (name: string, shape: number[], begin: number) => ({
  [name]: { dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] },
});

test('malformed safetensors files are refused with a message naming the problem', () => {
  rejects(writeRaw(Buffer.from([1, 0, 0])), 'corrupt', /3 bytes, shorter than the 8-byte/);
  rejects(build('{}', 0, 0n), 'corrupt', /header length is 0/);
  rejects(build('{}', 0, 200_000_000n), 'corrupt', /header length 200000000 exceeds the bound/);
  rejects(build('{}', 0, 0xffff_ffff_ffff_ffffn), 'corrupt', /exceeds the bound/);
  rejects(build('{}', 0, 4096n), 'corrupt', /header length 4096 is larger than the file \(10 bytes\)/);
  rejects(build(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'corrupt', /header is not valid UTF-8/);
  rejects(build('{"a": '), 'corrupt', /header is not valid JSON/);
  rejects(build('[1, 2]'), 'corrupt', /header is not a JSON object/);
  rejects(build('null'), 'corrupt', /header is not a JSON object/);
  rejects(build({ w: 3 }), 'corrupt', /tensor "w" is not an object/);
  rejects(build({ w: { shape: [1], data_offsets: [0, 4] } }, 4), 'corrupt', /tensor "w" is missing dtype/);
  rejects(build({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), 'corrupt', /tensor "w" is missing shape/);
  rejects(build({ w: { dtype: 'F32', shape: [1] } }, 4), 'corrupt', /tensor "w" is missing data_offsets/);
  rejects(build({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, 4), 'corrupt', /tensor "w" has unknown dtype "F17"/);
  rejects(build({ w: { dtype: 7, shape: [1], data_offsets: [0, 4] } }, 4), 'corrupt', /unknown dtype 7/);
  rejects(build({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4), 'unsupported', /dtype F8_E4M3, which is not supported/);
  rejects(build({ w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, 16), 'corrupt', /tensor "w": shape is not an array/);
  rejects(build({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), 'corrupt', /shape \[-1\] has a dimension that is not a non-negative integer/);
  rejects(build({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), 'corrupt', /not a non-negative integer/);
  rejects(build({ w: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, 8), 'corrupt', /not a non-negative integer/);
  rejects(build({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4), 'corrupt', /too many elements/);
  rejects(build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 8), 'corrupt', /data_offsets \[0,4,8\] is not two non-negative integers/);
  rejects(build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, '4'] } }, 4), 'corrupt', /is not two non-negative integers/);
  rejects(build({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8), 'corrupt', /data_offsets \[8, 4\] are not in order/);
  rejects(build({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 12] } }, 24), 'corrupt', /has 12 bytes of data but shape \[2, 3\] of F32 needs 24/);
  rejects(build(f32('w', [4], 0), 8), 'corrupt', /data_offsets \[0, 16\] lie outside the data area \(8 bytes/);
  rejects(build({ ...f32('a', [4], 0), ...f32('b', [2], 8) }, 16), 'corrupt', /tensors "a" \[0, 16\] and "b" \[8, 16\] overlap/);
  rejects(
    build({ ...f32('a', [8], 0), ...f32('e', [0], 4), ...f32('c', [1], 12) }, 32),
    'corrupt',
    /"a" \[0, 32\] and "c" \[12, 16\] overlap/,
  );
  rejects(build({ __metadata__: ['x'] }), 'corrupt', /__metadata__ is not a map of strings to strings/);
  rejects(build({ __metadata__: { steps: 1000 } }), 'corrupt', /__metadata__ value of "steps" is not a string/);
});

test('I/O problems are io errors naming the file', () => {
  rejects(path.join(dir, 'does-not-exist.safetensors'), 'io', /cannot open: ENOENT/);
  rejects(dir, 'io', /is not a regular file/);
});

test('valid edge cases: gaps, empty tensors, padding, metadata, no tensors', () => {
  const header = { __metadata__: { format: 'pt' }, ...f32('a', [1], 0), ...f32('empty', [0, 3], 4), ...f32('b', [2], 8) };
  const data = new Float32Array([1.5, 99, -2, 3]); // bytes 4..8 are a gap
  const text = JSON.stringify(header) + '    ';
  const file = build(text, new Uint8Array(data.buffer));
  const tf = openSafetensors(file);
  try {
    assert.equal(tf.format, 'safetensors');
    assert.deepEqual({ ...tf.metadata }, { format: 'pt' });
    assert.deepEqual([...tf.tensors.keys()].sort(), ['a', 'b', 'empty']);
    assert.equal(tf.tensors.get('b')!.fileOffset, 8 + Buffer.byteLength(text) + 8);
    assert.deepEqual([...tf.readFloat32('a')], [1.5]);
    assert.deepEqual([...tf.readFloat32('b')], [-2, 3]);
    assert.equal(tf.readFloat32('empty').length, 0);
    assert.throws(() => tf.readBytes('nope'), /has no tensor named 'nope'/);
  } finally {
    tf.close();
  }
  assert.throws(() => tf.readBytes('a'), /already closed/);
  const none = openSafetensors(build('{}'));
  assert.equal(none.tensors.size, 0);
  none.close();
});

test('a file truncated after opening is reported, not read as zeros', () => {
  const file = build(f32('a', [4], 0), 16);
  const tf = openSafetensors(file);
  try {
    fs.truncateSync(file, 20);
    assert.throws(() => tf.readBytes('a'), (e: unknown) => e instanceof TensorFileError && e.kind === 'io' && /truncated/.test(e.message));
  } finally {
    tf.close();
  }
});

test('writeSafetensors round trip, every dtype, in a folder with spaces and non-ASCII characters', () => {
  const folder = path.join(dir, 'my models – ÜberModelle 模型');
  fs.mkdirSync(folder);
  const file = path.join(folder, 'LoRA ünïcödé 1.safetensors');
  const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000]); // 1, -2, 65504, 2^-24, -0
  const tensors = [
    { name: 'half', dtype: 'F16' as const, shape: [5], data: half },
    { name: 'bf', dtype: 'BF16' as const, shape: [2], data: new Uint16Array([0x3f80, 0xc0a0]) }, // 1, -5
    { name: 'w', dtype: 'F32' as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4.25]) },
    { name: 'd', dtype: 'F64' as const, shape: [2], data: new Float64Array([0.1, -1e300]) },
    { name: 'i64', dtype: 'I64' as const, shape: [2], data: new BigInt64Array([-3n, 1000n]) },
    { name: 'i32', dtype: 'I32' as const, shape: [1], data: new Int32Array([-7]) },
    { name: 'i16', dtype: 'I16' as const, shape: [1], data: new Int16Array([-300]) },
    { name: 'i8', dtype: 'I8' as const, shape: [1], data: new Int8Array([-8]) },
    { name: 'u8', dtype: 'U8' as const, shape: [1, 1], data: Buffer.from([200]) },
    { name: 'flag', dtype: 'BOOL' as const, shape: [3], data: new Uint8Array([1, 0, 1]) },
    { name: 'scalar', dtype: 'F32' as const, shape: [], data: new Float32Array([7]) },
  ];
  writeSafetensors(file, tensors, { 'ss_network_alpha': '2', note: 'ünï' });
  assert.deepEqual(fs.readdirSync(folder), ['LoRA ünïcödé 1.safetensors'], 'no temporary file left behind');
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0, 'data area starts 8-byte aligned');
  assert.deepEqual(bytes, encodeSafetensors(tensors, { 'ss_network_alpha': '2', note: 'ünï' }));

  const tf = openSafetensors(file);
  try {
    assert.equal(tf.path, fs.realpathSync(file));
    assert.deepEqual({ ...tf.metadata }, { ss_network_alpha: '2', note: 'ünï' });
    for (const t of tensors) {
      const entry = tf.tensors.get(t.name)!;
      assert.equal(entry.dtype, t.dtype);
      assert.deepEqual(entry.shape, t.shape);
      assert.equal(entry.fileOffset % DTYPE_BYTES[t.dtype], 0, `${t.name} naturally aligned`);
      const bytes = tf.readBytes(t.name);
      assert.equal(bytes.byteOffset, 0, 'readBytes gives an aligned buffer');
      assert.deepEqual(bytes, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    assert.deepEqual([...tf.readFloat32('half')], [1, -2, 65504, 2 ** -24, -0]);
    assert.deepEqual([...tf.readFloat32('bf')], [1, -5]);
    assert.deepEqual([...tf.readFloat32('d')], [Math.fround(0.1), -Infinity]);
    assert.deepEqual([...tf.readFloat32('i64')], [-3, 1000]);
    assert.deepEqual([...tf.readFloat32('i32')], [-7]);
    assert.deepEqual([...tf.readFloat32('i16')], [-300]);
    assert.deepEqual([...tf.readFloat32('i8')], [-8]);
    assert.deepEqual([...tf.readFloat32('u8')], [200]);
    assert.deepEqual([...tf.readFloat32('flag')], [1, 0, 1]);
    assert.deepEqual([...tf.readFloat32('scalar')], [7]);
  } finally {
    tf.close();
  }
});

test('writeSafetensors refuses inconsistent input and leaves no file', () => {
  const file = path.join(dir, 'bad-out.safetensors');
  const w = (tensors: Parameters<typeof writeSafetensors>[1], pattern: RegExp) =>
    assert.throws(() => writeSafetensors(file, tensors), pattern);
  w([{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }], /has 8 bytes but shape \[3\] of F32 needs 12/);
  w([{ name: 'a', dtype: 'F16', shape: [2], data: new Float32Array(1) }], /declared F16 but its data is a Float32Array/);
  w(
    [
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) },
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ],
    /'a' is given twice/,
  );
  w([{ name: '__metadata__', dtype: 'U8', shape: [0], data: new Uint8Array(0) }], /reserved/);
  // a folder that cannot be made (its parent is a file) is an 'io' error naming the file
  fs.writeFileSync(path.join(dir, 'a-file'), 'x');
  assert.throws(() => writeSafetensors(path.join(dir, 'a-file', 'x.safetensors'), []), (e: unknown) => e instanceof TensorFileError && e.kind === 'io');
  assert.equal(fs.existsSync(file), false);
});
