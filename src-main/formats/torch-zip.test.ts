import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors } from './safetensors.ts';
import { TensorFileError, type TensorFile } from './tensor-file.ts';
import { PickleWriter, stateDictPickle, torchArchive } from './pickle-zip-builders.test-support.ts';
import { openTorchZip } from './torch-zip.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');
const fixture = (name: string) => path.join(fixtures, name);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-torch-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeTemp(bytes: Buffer, name = `case-${counter++}.ckpt`): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function withFiles(a: string, b: string, check: (x: TensorFile, y: TensorFile) => void): void {
  const x = openTorchZip(a);
  const y = openSafetensors(b);
  try {
    check(x, y);
  } finally {
    x.close();
    y.close();
  }
}

function rejects(file: string, kind: TensorFileError['kind'], pattern: RegExp): void {
  assert.throws(
    () => openTorchZip(file).close(),
    (error: unknown) => {
      assert.ok(error instanceof TensorFileError, `expected TensorFileError, got ${String(error)}`);
      assert.equal(error.kind, kind, error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('tiny-controlnet-b.pth equals tiny-controlnet-b.safetensors byte for byte', () => {
  withFiles(fixture('tiny-controlnet-b.pth'), fixture('tiny-controlnet-b.safetensors'), (pth, st) => {
    assert.equal(pth.format, 'torch-zip');
    assert.deepEqual([...pth.tensors.keys()].sort(), [...st.tensors.keys()].sort());
    for (const [name, entry] of st.tensors) {
      const other = pth.tensors.get(name)!;
      assert.equal(other.dtype, entry.dtype, name);
      assert.deepEqual(other.shape, entry.shape, name);
      assert.equal(other.byteLength, entry.byteLength, name);
      assert.ok(other.fileOffset + other.byteLength <= pth.sizeBytes);
      assert.deepEqual(pth.readBytes(name), st.readBytes(name), name);
    }
  });
});

/** Same names, shapes, and values compared as float32. */
function assertSameValues(torchFile: string, safetensorsFile: string): void {
  withFiles(torchFile, safetensorsFile, (t, s) => {
    assert.deepEqual([...t.tensors.keys()].sort(), [...s.tensors.keys()].sort());
    for (const [name, entry] of s.tensors) {
      assert.deepEqual(t.tensors.get(name)!.shape, entry.shape, name);
      assert.deepEqual(t.readFloat32(name), s.readFloat32(name), name);
    }
  });
}

test("tiny-controlnet.ckpt's state_dict equals tiny-controlnet.safetensors; scalars become metadata", () => {
  assertSameValues(fixture('tiny-controlnet.ckpt'), fixture('tiny-controlnet.safetensors'));
  const ckpt = openTorchZip(fixture('tiny-controlnet.ckpt'));
  try {
    assert.deepEqual({ ...ckpt.metadata }, { global_step: '1000', epoch: '3' });
    assert.ok(!ckpt.tensors.has('state_dict.input_blocks.0.0.bias'), 'state_dict names are not prefixed');
  } finally {
    ckpt.close();
  }
});

test('CtrLoRA base and condition LoRA checkpoints equal their safetensors copies', () => {
  assertSameValues(fixture('tiny-ctrlora-base.ckpt'), fixture('tiny-ctrlora-base.safetensors'));
  assertSameValues(fixture('tiny-ctrlora-edge.ckpt'), fixture('tiny-ctrlora-edge.safetensors'));
});

test('tiny-cnxs.ckpt and tiny-ctrlora-blob.ckpt open and every tensor reads', () => {
  for (const name of ['tiny-cnxs.ckpt', 'tiny-ctrlora-blob.ckpt']) {
    const tf = openTorchZip(fixture(name));
    try {
      assert.equal(tf.path, fs.realpathSync(fixture(name)));
      assert.ok(tf.tensors.size > 200, `${name}: ${tf.tensors.size} tensors`);
      for (const [tensorName, entry] of tf.tensors) {
        assert.ok(tensorName.startsWith('control_model.'), tensorName);
        assert.equal(entry.dtype, 'F32', tensorName);
        const values = tf.readFloat32(tensorName);
        assert.equal(values.length * 4, entry.byteLength, tensorName);
        assert.ok(values.every(Number.isFinite), tensorName);
      }
    } finally {
      tf.close();
    }
  }
});

test('hostile fixtures are refused, naming the global, and their command never runs', () => {
  // Each fixture's pickle runs `touch /tmp/HINTBRUSH_PWNED` when unpickled by Python (read with pickletools).
  const marker = '/tmp/HINTBRUSH_PWNED';
  const before = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : null;
  const cases: [string, RegExp][] = [
    ['hostile-os-system.ckpt', /refuses to load: the pickle calls "posix\.system" \(os\.system\)/],
    ['hostile-eval.ckpt', /refuses to load: the pickle calls "__builtin__\.eval"/],
    ['hostile-subprocess.ckpt', /refuses to load: the pickle calls "commands\.getoutput"/],
  ];
  for (const [name, pattern] of cases) {
    assert.ok(fs.readFileSync(fixture(name)).includes(marker), `${name} still targets ${marker}`);
    rejects(fixture(name), 'hostile', pattern);
  }
  if (before === null) assert.equal(fs.existsSync(marker), false, 'no hostile command ran');
  else assert.equal(fs.statSync(marker).mtimeMs, before, 'no hostile command touched the marker');
});

test('a synthetic os.system / builtins.exec pickle never creates its marker file', () => {
  const marker = path.join(dir, 'pwned-marker');
  const viaGlobal = new PickleWriter().proto(2).global('os', 'system').str(`touch '${marker}'`).tuple1().reduce().stop();
  rejects(writeTemp(torchArchive(viaGlobal.bytes(), {})), 'hostile', /calls "os\.system"/);
  const viaStack = new PickleWriter().proto(4).shortStr('builtins').shortStr('exec').stackGlobal().memoize();
  viaStack.shortStr(`open('${marker}', 'w')`).tuple1().reduce().stop();
  rejects(writeTemp(torchArchive(viaStack.bytes(), {})), 'hostile', /calls "builtins\.exec"/);
  const viaInst = new PickleWriter().proto(2).mark().str(`touch '${marker}'`).inst('subprocess', 'check_call').stop();
  rejects(writeTemp(torchArchive(viaInst.bytes(), {})), 'hostile', /calls "subprocess\.check_call"/);
  const viaExt = new PickleWriter().proto(2).raw([0x82, 1]).stop();
  rejects(writeTemp(torchArchive(viaExt.bytes(), {})), 'hostile', /extension registry/);
  assert.equal(fs.existsSync(marker), false);
});

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

test('storage offsets, shared storages and nested dicts', () => {
  const p = new PickleWriter().proto(2).emptyDict().mark();
  p.str('model').emptyDict().mark();
  p.str('a').tensor({ key: '0', numel: 6, shape: [2, 2], offset: 2 });
  p.str('b').tensor({ key: '0', numel: 6, shape: [1, 2], stride: [7, 1] }); // size-1 dims may have any stride
  p.str('scalar').tensor({ key: '1', numel: 1, shape: [], storageType: 'HalfStorage' });
  p.setitems();
  p.str('ema').emptyDict().str('w').tensor({ key: '2', numel: 2, shape: [2], storageType: 'LongStorage' }).setitem();
  p.str('lr').float(0.5).str('name').str('run ü').str('huge').long1([0, 0, 0, 0, 0, 0, 0, 0, 0x80]).str('none').none();
  p.setitems().stop();
  const storages = { '0': f32([0, 1, 2, 3, 4, 5]), '1': Buffer.from([0x00, 0x3c]), '2': Buffer.from(new BigInt64Array([-5n, 9n]).buffer) };
  const file = writeTemp(torchArchive(p.bytes(), storages, { deflate: ['data.pkl'] }));
  const tf = openTorchZip(file);
  try {
    assert.deepEqual([...tf.tensors.keys()], ['model.a', 'model.b', 'model.scalar', 'ema.w']);
    assert.deepEqual([...tf.readFloat32('model.a')], [2, 3, 4, 5]);
    assert.deepEqual([...tf.readFloat32('model.b')], [0, 1]);
    assert.equal(tf.tensors.get('model.a')!.fileOffset, tf.tensors.get('model.b')!.fileOffset + 8);
    assert.deepEqual(tf.tensors.get('model.scalar')!.shape, []);
    assert.deepEqual([...tf.readFloat32('model.scalar')], [1]);
    assert.deepEqual([...tf.readFloat32('ema.w')], [-5, 9]);
    assert.deepEqual({ ...tf.metadata }, { lr: '0.5', name: 'run ü', huge: String(-(2n ** 71n)) });
  } finally {
    tf.close();
  }
});

test('zip64 archives (as torch writes past 4 GB) read the same', () => {
  const pickle = stateDictPickle({ w: { key: '0', numel: 3, shape: [3] } });
  const file = writeTemp(torchArchive(pickle, { '0': f32([1, -2, 3]) }, { zip64: true, prefix: 'my model' }));
  const tf = openTorchZip(file);
  try {
    assert.deepEqual([...tf.readFloat32('w')], [1, -2, 3]);
  } finally {
    tf.close();
  }
});

test('malformed torch archives are refused with the problem named', () => {
  const one = (t: Parameters<typeof stateDictPickle>[0]['x'], storage = f32([1, 2, 3, 4])) =>
    writeTemp(torchArchive(stateDictPickle({ 'down.weight': t }), { '0': storage }));
  const good = torchArchive(stateDictPickle({ w: { key: '0', numel: 4, shape: [4] } }), { '0': f32([1, 2, 3, 4]) });

  rejects(one({ key: '0', numel: 4, shape: [2, 2], stride: [1, 2] }), 'unsupported', /tensor 'down\.weight' is a non-contiguous view/);
  rejects(writeTemp(torchArchive(stateDictPickle({ w: { key: '0', numel: 4, shape: [4] } }), { '0': f32([1, 2, 3, 4]) }, { deflate: ['0'] })),
    'unsupported', /tensor 'w' is stored compressed/);
  rejects(one({ key: '0', numel: 4, shape: [3], offset: 2 }), 'corrupt', /tensor 'down\.weight' reaches past the end of its storage/);
  rejects(one({ key: '0', numel: 5, shape: [4] }), 'corrupt', /storage '0' holds 16 bytes, not 5 F32 elements/);
  rejects(one({ key: '7', numel: 4, shape: [4] }), 'corrupt', /storage '7' has no entry archive\/data\/7/);
  rejects(one({ key: '0', numel: 4, shape: [4], storageType: 'ComplexFloatStorage' }), 'unsupported', /ComplexFloatStorage, which is not supported/);
  rejects(writeTemp(good.subarray(0, good.length - 10)), 'corrupt', /no zip end-of-central-directory record/);
  rejects(writeTemp(Buffer.from('PK\x03\x04 tiny')), 'corrupt', /too short to be a zip archive/);
  const badOffset = Buffer.from(good);
  badOffset.writeUInt32LE(good.length, good.length - 6); // central directory offset past the end
  rejects(writeTemp(badOffset), 'corrupt', /central directory .* lies outside the file/);
  const longName = torchArchive(stateDictPickle({}), { ['k'.repeat(5000)]: Buffer.alloc(0) });
  rejects(writeTemp(longName), 'corrupt', /5013-byte name \(limit 4096\)/);
  const notTorch = torchArchive(stateDictPickle({}), {}, { prefix: 'a/b' });
  rejects(writeTemp(notTorch), 'unsupported', /not a torch\.save checkpoint/);
  const badLocal = Buffer.from(good);
  badLocal.writeUInt32LE(0, 0); // first local header signature destroyed
  rejects(writeTemp(badLocal), 'corrupt', /has no local header at byte 0/);
  const badCrc = Buffer.from(good);
  badCrc[30 + 'archive/data.pkl'.length + 3] ^= 0xff; // one byte of data.pkl
  rejects(writeTemp(badCrc), 'corrupt', /fails its size or CRC check/);
  rejects(writeTemp(torchArchive(new PickleWriter().proto(2).emptyDict().bytes(), {})), 'corrupt', /ends in the middle of an opcode/);
  rejects(writeTemp(torchArchive(new PickleWriter().proto(2).emptyList().stop().bytes(), {})), 'unsupported', /not a dict of tensors/);
  const cyclic = new PickleWriter().proto(2).emptyDict().put(0).str('self').get(0).setitem().stop();
  rejects(writeTemp(torchArchive(cyclic.bytes(), {})), 'corrupt', /nests dicts more than 32 deep/);
  const dup = new PickleWriter().proto(2).emptyDict().mark().str('a.b').tensor({ key: '0', numel: 1, shape: [1] });
  dup.str('a').emptyDict().str('b').tensor({ key: '0', numel: 1, shape: [1] }).setitem().setitems().stop();
  rejects(writeTemp(torchArchive(dup.bytes(), { '0': f32([1]) })), 'corrupt', /tensor name 'a\.b' appears twice/);
});
