import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPickle, PyDict, PyTuple, TorchStorage, TorchTensor, type PyValue } from './pickle.ts';
import { TensorFileError } from './tensor-file.ts';
import { PickleWriter } from './pickle-zip-builders.test-support.ts';

const noPersistent = () => {
  throw new Error('no persistent ids expected');
};
const load = (p: PickleWriter, persistent: (pid: PyValue) => PyValue = noPersistent) => loadPickle(p.bytes(), 'x.ckpt', persistent);

function refuses(p: PickleWriter, kind: TensorFileError['kind'], pattern: RegExp): void {
  assert.throws(
    () => load(p),
    (e: unknown) => e instanceof TensorFileError && e.kind === kind && pattern.test(e.message) && e.message.startsWith('x.ckpt: '),
  );
}

test('scalars, strings and integers of every width', () => {
  const p = new PickleWriter().proto(4).frame(0).mark();
  p.int(7).int(300).int(-5).int(100_000).long1([]).long1([0xff]).long1([0x00, 0x01]).long1([0xff, 0x7f]);
  p.long1([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0]).float(-1.25).bool(true).bool(false).none().str('ünï').shortStr('k');
  p.tuple().stop();
  const value = load(p);
  assert.ok(value instanceof PyTuple);
  assert.deepEqual(value.items, [7, 300, -5, 100_000, 0, -1, 256, 32767, Number.MAX_SAFE_INTEGER, -1.25, true, false, null, 'ünï', 'k']);
  const big = load(new PickleWriter().proto(2).long1([0, 0, 0, 0, 0, 0, 0, 0, 1]).stop());
  assert.equal(big, 2n ** 64n);
});

test('containers, memo (BINPUT/LONG_BINPUT/MEMOIZE) and tuples of every size', () => {
  const p = new PickleWriter().proto(4).emptyDict().memoize().mark();
  p.shortStr('list').emptyList().put(300).int(1).append().mark().int(2).int(3).appends();
  p.shortStr('again').get(300);
  p.shortStr('t').int(1).int(2).int(3).tuple3().shortStr('t2').int(1).int(2).tuple2().shortStr('t0').emptyTuple();
  p.shortStr('od').global('collections', 'OrderedDict').emptyTuple().reduce().shortStr('s').int(9).setitem();
  p.setitems().stop();
  const root = load(p);
  assert.ok(root instanceof PyDict);
  assert.deepEqual(root.map.get('list'), [1, 2, 3]);
  assert.equal(root.map.get('again'), root.map.get('list'), 'memo returns the same object');
  assert.deepEqual((root.map.get('t') as PyTuple).items, [1, 2, 3]);
  assert.deepEqual((root.map.get('t2') as PyTuple).items, [1, 2]);
  assert.deepEqual((root.map.get('t0') as PyTuple).items, []);
  assert.deepEqual([...(root.map.get('od') as PyDict).map], [['s', 9]]);
});

test('tensor rebuilds: _rebuild_tensor_v2, _rebuild_parameter, _rebuild_from_type_v2, torch.Size, BUILD', () => {
  const storages: PyValue[] = [];
  const persistent = (pid: PyValue) => {
    assert.ok(pid instanceof PyTuple);
    assert.equal(pid.items[0], 'storage');
    const s = new TorchStorage(String(pid.items[2]), 'F16', Number(pid.items[4]));
    storages.push(s);
    return s;
  };
  const p = new PickleWriter().proto(2).emptyDict().mark();
  p.str('plain').tensor({ key: '0', numel: 8, shape: [2, 4], storageType: 'HalfStorage' });
  p.str('param').global('torch._utils', '_rebuild_parameter');
  p.tensor({ key: '1', numel: 3, shape: [3] }).bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tuple3().reduce();
  p.str('typed').global('torch._tensor', '_rebuild_from_type_v2').mark();
  p.global('torch._utils', '_rebuild_tensor_v2').global('torch.nn.parameter', 'Parameter').mark();
  p.mark().str('storage').global('torch', 'HalfStorage').str('2').str('cpu').int(4).tuple().binpersid();
  p.int(1).global('torch', 'Size').mark().int(3).tuple().tuple1().reduce();
  p.mark().int(1).tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
  p.tuple().emptyDict().tuple().reduce();
  p.emptyDict().build(); // BUILD only sets Python attributes
  p.setitems().stop();
  const root = load(p, persistent) as PyDict;
  const plain = root.map.get('plain') as TorchTensor;
  assert.ok(plain instanceof TorchTensor);
  assert.deepEqual([plain.shape, plain.stride, plain.storageOffset, plain.storage.key], [[2, 4], [4, 1], 0, '0']);
  assert.deepEqual((root.map.get('param') as TorchTensor).shape, [3]);
  const typed = root.map.get('typed') as TorchTensor;
  assert.deepEqual([typed.shape, typed.stride, typed.storageOffset, typed.storage.key], [[3], [1], 1, '2']);
  assert.equal(storages.length, 3);
});

test('unknown or dangerous globals are refused at GLOBAL, before any call', () => {
  refuses(new PickleWriter().proto(2).global('os', 'system'), 'hostile', /refuses to load: the pickle calls "os\.system"/);
  refuses(new PickleWriter().proto(2).global('nt', 'system'), 'hostile', /"nt\.system" \(os\.system\)/);
  refuses(new PickleWriter().proto(2).global('builtins', 'getattr'), 'hostile', /"builtins\.getattr"/);
  refuses(new PickleWriter().proto(2).global('torch', 'load'), 'hostile', /"torch\.load"/);
  refuses(new PickleWriter().proto(2).global('torch._utils ', '_rebuild_tensor_v2'), 'hostile', /not one of/);
  refuses(new PickleWriter().proto(4).shortStr('subprocess').shortStr('Popen').stackGlobal(), 'hostile', /"subprocess\.Popen"/);
  refuses(new PickleWriter().proto(2).global('numpy.core.multiarray', '_reconstruct'), 'hostile', /_reconstruct/);
  refuses(new PickleWriter().proto(2).global('torch._utils', '_rebuild_qtensor'), 'unsupported', /kind of tensor this reader does not load/);
  refuses(new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce(), 'unsupported', /does not construct/);
});

test('malformed pickles are corrupt, with the byte offset', () => {
  refuses(new PickleWriter().proto(2).int(1), 'corrupt', /ends in the middle of an opcode/);
  refuses(new PickleWriter().proto(2).raw([0x58, 0xff, 0xff, 0xff, 0x7f]), 'corrupt', /ends in the middle of an opcode \(opcode at byte 2\)/);
  refuses(new PickleWriter().proto(2).pop(), 'corrupt', /pops from an empty stack/);
  refuses(new PickleWriter().proto(2).int(1).mark().tuple2(), 'corrupt', /pops from an empty stack/);
  refuses(new PickleWriter().proto(2).tuple(), 'corrupt', /no MARK/);
  refuses(new PickleWriter().proto(2).get(4), 'corrupt', /memo slot 4, which was never written/);
  refuses(new PickleWriter().proto(2).emptyList().int(1).int(2).setitem(), 'corrupt', /not a dict/);
  refuses(new PickleWriter().proto(2).int(1).int(2).append(), 'corrupt', /not a list/);
  refuses(new PickleWriter().proto(2).emptyDict().emptyList().int(1).setitem(), 'corrupt', /unhashable/);
  refuses(new PickleWriter().proto(2).raw([0x8a, 200]), 'corrupt', /200-byte integer/);
  refuses(new PickleWriter().proto(6), 'unsupported', /protocol 6/);
  refuses(new PickleWriter().proto(2).raw([0x49]), 'unsupported', /opcode 0x49, which torch\.save does not write/);
  refuses(new PickleWriter().proto(2).int(3).emptyTuple().reduce(), 'corrupt', /not an allowed global/);
  refuses(
    new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark().int(1).int(0).tuple().reduce(),
    'corrupt',
    /_rebuild_tensor_v2 with malformed arguments/,
  );
});
