import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectFormat, openTensorFile } from './open-tensor-file.ts';
import { TensorFileError } from './tensor-file.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');
const fixture = (name: string) => path.join(fixtures, name);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-open-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function rejects(file: string, kind: TensorFileError['kind'], pattern: RegExp): void {
  assert.throws(
    () => openTensorFile(file).close(),
    (e: unknown) => e instanceof TensorFileError && e.kind === kind && pattern.test(e.message) && e.file === file,
  );
}

function put(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('dispatch follows the content, not the extension', () => {
  const cases: [string, string, 'safetensors' | 'torch-zip'][] = [
    ['tiny-lora.safetensors', 'lora.safetensors', 'safetensors'],
    ['tiny-controlnet-b.pth', 'cn.pth', 'torch-zip'],
    ['tiny-lora.safetensors', 'misnamed.ckpt', 'safetensors'],
    ['tiny-controlnet.ckpt', 'misnamed.safetensors', 'torch-zip'],
  ];
  for (const [source, name, format] of cases) {
    const file = path.join(dir, name);
    fs.copyFileSync(fixture(source), file);
    const tf = openTensorFile(file);
    try {
      assert.equal(tf.format, format, name);
      assert.ok(tf.tensors.size > 0);
    } finally {
      tf.close();
    }
  }
});

test('a symlinked file in a folder with spaces and non-ASCII characters reports its real path', () => {
  const folder = path.join(dir, 'Модели и LoRA – 日本語 ü');
  fs.mkdirSync(folder);
  const link = path.join(folder, 'control net ß.pth');
  fs.symlinkSync(fixture('tiny-controlnet-b.pth'), link);
  const tf = openTensorFile(link);
  try {
    assert.equal(tf.path, fs.realpathSync(fixture('tiny-controlnet-b.pth')));
    assert.equal(tf.sizeBytes, fs.statSync(fixture('tiny-controlnet-b.pth')).size);
  } finally {
    tf.close();
  }
  const copy = path.join(folder, 'ñame with spaces.safetensors');
  fs.copyFileSync(fixture('tiny-controlnet-b.safetensors'), copy);
  const st = openTensorFile(copy);
  try {
    assert.equal(st.path, fs.realpathSync(copy));
    assert.equal(st.readFloat32('control_model.input_blocks.0.0.bias').length, 32);
  } finally {
    st.close();
  }
});

test('legacy, foreign and unknown files get a clear refusal', () => {
  // torch.save(..., _use_new_zipfile_serialization=False): PROTO 2, then LONG1 with torch's magic number.
  const legacy = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
  rejects(put('old.ckpt', legacy), 'unsupported', /old torch format.*please re-save/);
  const tar = Buffer.alloc(1024);
  tar.write('ustar', 257, 'latin1');
  rejects(put('ancient.pt', tar), 'unsupported', /tar-based torch format/);
  rejects(put('model.gguf', Buffer.from('GGUF\x03\x00\x00\x00rest')), 'unsupported', /GGUF/);
  rejects(put('notes.ckpt', Buffer.from('hello, this is not a model')), 'unsupported', /neither a safetensors file nor a zip-format torch checkpoint \(it starts with bytes 68 65 6c/);
  rejects(put('empty.ckpt', Buffer.alloc(0)), 'corrupt', /is empty/);
  rejects(put('zero.safetensors', Buffer.alloc(16)), 'corrupt', /header length is 0/);
  rejects(path.join(dir, 'missing.safetensors'), 'io', /ENOENT/);
  rejects(fixture('hostile-os-system.ckpt'), 'hostile', /refuses to load/);
});

test('detectFormat on first bytes', () => {
  const st = Buffer.alloc(16);
  st.writeBigUInt64LE(2n);
  st.write('{}', 8);
  assert.equal(detectFormat(st), 'safetensors');
  assert.equal(detectFormat(Buffer.from('PK\x03\x04')), 'torch-zip');
  assert.equal(detectFormat(Buffer.from([0x80, 0x02, 0x7d])), 'torch-legacy');
  const header0x480 = Buffer.alloc(16, 0x20); // a safetensors header of 0x480 bytes starts 0x80 0x04, like PROTO 4
  header0x480.writeBigUInt64LE(0x480n);
  header0x480.write('{"a"', 8);
  assert.equal(detectFormat(header0x480), 'safetensors');
  assert.equal(detectFormat(Buffer.from('{"a": 1}')), 'unknown');
  assert.equal(detectFormat(new Uint8Array(0)), 'unknown');
});
