import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProtoWriter } from '../engine/graph/protobuf-writer.ts';
import { readOnnxSignature } from '../formats/onnx-reader.ts';
import {
  fakeDepthModel,
  fakeDetectorModel,
  fakeHedModel,
  fakeLineartModel,
  fakeOpenposeModel,
  fakePoseModel,
  writeModel,
} from '../engine/annotators/synthetic-annotators.test-support.ts';
import { Graph } from '../engine/graph/node.ts';
import { add } from '../engine/graph/ops.ts';
import { openLibraryDatabase } from './database.ts';
import { ModelStore, type StoredModel } from './model-store.ts';
import { probeOnnxFile } from './detect-annotator.ts';
import { scanPaths } from './scanner.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-annotators-'));
}

/** A ModelProto written by hand: ir_version 8, one graph built by `graph`. */
function handModel(graph: (g: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8);
  w.message(8, (o) => o.int(2, 17));
  w.message(7, graph);
  return w.finish();
}

/** ValueInfoProto {name, float tensor of `dims`} (a string dim is a dim_param). */
function valueInfo(g: ProtoWriter, field: number, name: string, dims: (number | string)[]): void {
  g.message(field, (vi) => {
    vi.string(1, name);
    vi.message(2, (t) =>
      t.message(1, (tt) => {
        tt.int(1, 1);
        tt.message(2, (shape) => {
          for (const d of dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }),
    );
  });
}

test('the published annotator signatures are recognised, read from the graph and not from the file name', () => {
  const dir = tempDir();
  const cases: [string, string, Record<string, string | number>][] = [
    [writeModel(path.join(dir, 'a.onnx'), fakeDepthModel({ width: 42, height: 28 })), 'depth-anything', {}],
    [writeModel(path.join(dir, 'b.onnx'), fakeDepthModel({ width: 28, height: 28 }, { input: 'image', output: 'depth', rank: 4 })), 'depth-anything', {}],
    [writeModel(path.join(dir, 'c.onnx'), fakeDetectorModel({ cx: 100, cy: 100, w: 50, h: 80, score: 0.9 })), 'dwpose-detector', { input: '640x640' }],
    [writeModel(path.join(dir, 'd.onnx'), fakePoseModel({ width: 192, height: 256 }, [])), 'dwpose-pose', { keypoints: 133, input: '256x192' }],
    [writeModel(path.join(dir, 'e.onnx'), fakeOpenposeModel({ width: 64, height: 64 }, new Map())), 'openpose-body', {}],
    [writeModel(path.join(dir, 'f.onnx'), fakeLineartModel({ width: 32, height: 32 }, 'sigmoid')), 'lineart', { convention: 'informative-drawings' }],
    [writeModel(path.join(dir, 'g.onnx'), fakeLineartModel({ width: 32, height: 32 }, 'anime')), 'lineart', { convention: 'anime' }],
    [writeModel(path.join(dir, 'h.onnx'), fakeHedModel({ width: 32, height: 32 })), 'hed', { outputs: 2 }],
  ];
  for (const [file, layout, details] of cases) {
    const row = probeOnnxFile(file);
    assert.equal(row.kind, 'annotator', `${path.basename(file)}: ${row.problem}`);
    assert.equal(row.layout, layout, path.basename(file));
    assert.equal(row.problem, '');
    assert.equal(row.details.format, 'onnx');
    for (const [k, v] of Object.entries(details)) assert.equal(row.details[k], v, `${path.basename(file)} ${k}`);
  }
});

test('the signature reader sees free dimensions, real inputs beside initializers listed as inputs, and output ops', () => {
  const dir = tempDir();
  const file = path.join(dir, 'depth.onnx');
  fs.writeFileSync(
    file,
    handModel((g) => {
      g.message(1, (n) => n.string(1, 'pixel_values').string(1, 'w').string(2, 'mid').string(4, 'Conv'));
      g.message(1, (n) => n.string(1, 'mid').string(2, 'predicted_depth').string(4, 'Relu'));
      g.message(5, (t) => t.packedInts(1, [1]).int(2, 1).string(8, 'w').bytes(9, new Uint8Array(4)));
      valueInfo(g, 11, 'pixel_values', ['batch', 3, 'height', 'width']);
      valueInfo(g, 11, 'w', [1]); // an old export listing a weight as an input
      valueInfo(g, 12, 'predicted_depth', ['batch', 'height', 'width']);
    }),
  );
  const sig = readOnnxSignature(file);
  assert.deepEqual(sig.inputs.map((v) => [v.name, v.dims, v.dimNames]), [['pixel_values', [-1, 3, -1, -1], ['batch', '', 'height', 'width']]]);
  assert.deepEqual([sig.opset, sig.irVersion, sig.nodeCount, sig.initializerCount], [17, 8, 2, 1]);
  assert.deepEqual(sig.outputOps, { predicted_depth: 'Relu' });
  assert.equal(probeOnnxFile(file).layout, 'depth-anything');
});

/** Writes each of these byte strings as a .onnx file. */
function hostileFiles(dir: string): Record<string, string> {
  const write = (name: string, bytes: Uint8Array) => fs.writeFileSync(path.join(dir, name), bytes);
  const valid = handModel((g) => {
    valueInfo(g, 11, 'image', [1, 3, 32, 32]);
    valueInfo(g, 12, 'out', [1, 1, 32, 32]);
  });
  write('empty.onnx', new Uint8Array(0));
  let seed = 7;
  write('noise.onnx', Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed >>> 24)));
  write('truncated.onnx', valid.subarray(0, valid.length - 9));
  // graph field claiming 2^62 bytes
  write('huge-length.onnx', Uint8Array.from([0x08, 0x08, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00]));
  write('long-name.onnx', handModel((g) => valueInfo(g, 11, 'x'.repeat(10_000), [1, 3, 8, 8])));
  write('many-dims.onnx', handModel((g) => valueInfo(g, 11, 'x', new Array(40).fill(1))));
  write('group.onnx', Uint8Array.from([0x08, 0x08, 0x3b, 0x00])); // field 7 with the deprecated group wire type
  write('endless-varint.onnx', Uint8Array.from([0x08, ...new Array(20).fill(0xff)]));
  write('no-graph.onnx', Uint8Array.from([0x08, 0x07, 0x12, 0x00]));
  const g = new Graph();
  writeModel(path.join(dir, 'two-inputs.onnx'), { sum: add(g.input('a', 'float32', [1, 4]), g.input('b', 'float32', [1, 4])) });
  return {
    'empty.onnx': '^corrupt file: the file is empty$',
    'noise.onnx': '^corrupt file: not a valid ONNX file: ',
    'truncated.onnx': '^corrupt file: not a valid ONNX file: .*overruns',
    'huge-length.onnx': '^corrupt file: not a valid ONNX file: field 7 of 4611686018427387904 bytes overruns its message',
    'long-name.onnx': '^hostile file: a name of 10000 bytes',
    'many-dims.onnx': '^hostile file: a value with more than 16 dimensions',
    'group.onnx': '^corrupt file: not a valid ONNX file: unsupported wire type 3',
    'endless-varint.onnx': '^corrupt file: not a valid ONNX file: number longer than 10 bytes',
    'no-graph.onnx': 'without a graph: not an annotator',
    'two-inputs.onnx': '^an ONNX model that is not an annotator Hintbrush recognises \\(inputs: a float32 \\[1,4\\], b float32 \\[1,4\\]; outputs: sum',
  };
}

test('corrupt and hostile .onnx files become rows with a clear problem and never stop the scan', async () => {
  const dir = tempDir();
  const expected = hostileFiles(dir);
  writeModel(path.join(dir, 'zz-lineart.onnx'), fakeLineartModel({ width: 16, height: 16 }, 'sigmoid'));
  const db = openLibraryDatabase(':memory:');
  const result = await scanPaths(db, [dir]);
  const rows = new Map<string, StoredModel>(new ModelStore(db).all().map((r) => [path.basename(r.path), r]));
  assert.equal(result.files, Object.keys(expected).length + 1);
  for (const [name, pattern] of Object.entries(expected)) {
    const row = rows.get(name)!;
    assert.equal(row.kind, 'unknown', name);
    assert.equal(row.layout, 'onnx', name);
    assert.match(row.problem, new RegExp(pattern), name);
    assert.ok(row.problem.length < 600, `${name}: a problem text of ${row.problem.length} characters`);
  }
  assert.equal(rows.get('zz-lineart.onnx')!.kind, 'annotator');
  assert.equal(result.withProblems, Object.keys(expected).length);
  db.close();
});
