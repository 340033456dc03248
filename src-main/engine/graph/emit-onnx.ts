// Turns IR nodes into ONNX ModelProto bytes (opset 17). Weight nodes become initializers whose data stays in
// the user's file (data_location = EXTERNAL, location = the file's base name, offset/length = its byte range);
// ORT is pointed at the file's folder by the session option `model_external_initializers_file_folder_path`.
// ORT accepts one such folder per session, so weights from files in any other folder are read into memory
// and embedded (only small models — a LoRA, a ControlNet-XS — ever take that path).

import fs from 'node:fs';
import path from 'node:path';
import { ONNX_TYPE_CODE } from './dtype.ts';
import { type AttrValue, GraphError, type Node, topologicalOrder } from './node.ts';
import { CONTRIB_OPS } from './ops.ts';
import { ProtoWriter } from './protobuf-writer.ts';

export const OPSET = 17;
/** ORT's contrib domain (fused inference ops) and the version of it our ops are defined in. */
const CONTRIB_DOMAIN = 'com.microsoft';
const CONTRIB_OPSET = 1;

export interface EmittedModel {
  bytes: Uint8Array;
  /** Folder holding the external weights, or null when every weight is embedded. */
  externalFolder: string | null;
  inputNames: string[];
  outputNames: string[];
  nodeCount: number;
  externalBytes: number;
  embeddedBytes: number;
  /** The files in `externalFolder` whose bytes the model points into (the optimized-model cache keys on them). */
  externalFiles?: string[];
}

interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: [string, AttrValue][];
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeAttr(w: ProtoWriter, name: string, value: AttrValue, floatAttrs: ReadonlySet<string>): void {
  w.message(5, (a) => {
    a.string(1, name);
    if (typeof value === 'string') a.bytes(4, new TextEncoder().encode(value)).int(20, ATTR_STRING);
    else if (typeof value === 'boolean') a.int(3, value ? 1 : 0).int(20, ATTR_INT);
    else if (typeof value === 'number') {
      if (floatAttrs.has(name)) a.float(2, value).int(20, ATTR_FLOAT);
      else a.int(3, value).int(20, ATTR_INT);
    } else if (floatAttrs.has(name)) a.packedFloats(7, value).int(20, ATTR_FLOATS);
    else {
      // ONNX readers accept packed repeated int64.
      a.packedInts(8, value.map((v) => BigInt(v))).int(20, ATTR_INTS);
    }
  });
}

function valueInfo(w: ProtoWriter, field: number, name: string, node: Node): void {
  w.message(field, (vi) => {
    vi.string(1, name);
    vi.message(2, (t) =>
      t.message(1, (tt) => {
        tt.int(1, ONNX_TYPE_CODE[node.dtype]);
        tt.message(2, (shape) => {
          for (const d of node.shape) shape.message(1, (dim) => dim.int(1, d));
        });
      }),
    );
  });
}

/** Emits the graph that computes `outputs` (name -> node). Inputs are the Input nodes reachable from them. */
export function emitOnnx(outputs: Record<string, Node>, opts: { graphName?: string } = {}): EmittedModel {
  const outNodes = Object.values(outputs);
  if (outNodes.length === 0) throw new GraphError('a graph needs at least one output');
  const order = topologicalOrder(outNodes);
  const names = new Map<number, string>();
  const onnxNodes: OnnxNode[] = [];
  const initializers: ((w: ProtoWriter) => void)[] = [];
  let constCount = 0;
  let externalBytes = 0;
  let embeddedBytes = 0;
  const externalFiles = new Set<string>();

  // Pick the folder holding the most external bytes; the others get embedded.
  const bytesPerFolder = new Map<string, number>();
  for (const n of order) {
    if (n.external) {
      const dir = path.dirname(n.external.file);
      bytesPerFolder.set(dir, (bytesPerFolder.get(dir) ?? 0) + n.external.length);
    }
  }
  const externalFolder = [...bytesPerFolder.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;

  const int64Const = (values: readonly number[], hint: string): string => {
    const name = `c${constCount++}_${hint}`;
    const data = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    initializers.push((w) =>
      w.message(5, (t) => {
        t.packedInts(1, [values.length]).int(2, ONNX_TYPE_CODE.int64).string(8, name).bytes(9, data);
      }),
    );
    return name;
  };

  const inputNames: string[] = [];
  for (const n of order) {
    const name = n.op === 'Input' ? String(n.attrs.name) : `${n.op}_${n.id}`;
    names.set(n.id, name);
    if (n.op === 'Input') {
      inputNames.push(name);
      continue;
    }
    if (n.op === 'Weight' || n.op === 'Constant') {
      const ext = n.external;
      const embedded = n.data ?? (ext && path.dirname(ext.file) !== externalFolder ? readRange(ext.file, ext.offset, ext.length) : null);
      initializers.push((w) =>
        w.message(5, (t) => {
          if (n.shape.length > 0) t.packedInts(1, n.shape);
          t.int(2, ONNX_TYPE_CODE[n.dtype]).string(8, name);
          if (embedded) t.bytes(9, embedded);
          else if (ext) {
            t.message(13, (e) => e.string(1, 'location').string(2, path.basename(ext.file)));
            t.message(13, (e) => e.string(1, 'offset').string(2, String(ext.offset)));
            t.message(13, (e) => e.string(1, 'length').string(2, String(ext.length)));
            t.int(14, 1);
          }
        }),
      );
      if (embedded) embeddedBytes += embedded.byteLength;
      else if (ext) {
        externalBytes += ext.length;
        externalFiles.add(ext.file);
      }
      continue;
    }
    const ins = n.inputs.map((i) => names.get(i.id)!);
    const attrs: [string, AttrValue][] = [];
    const op = n.op;
    switch (n.op) {
      case 'Reshape':
        ins.push(int64Const(n.attrs.shape as number[], 'shape'));
        break;
      case 'Expand':
        ins.push(int64Const(n.attrs.shape as number[], 'shape'));
        break;
      case 'Slice':
        ins.push(int64Const([n.attrs.start as number], 'starts'), int64Const([n.attrs.end as number], 'ends'), int64Const([n.attrs.axis as number], 'axes'));
        break;
      case 'ReduceSum':
        ins.push(int64Const(n.attrs.axes as number[], 'axes'));
        attrs.push(['keepdims', n.attrs.keepdims]);
        break;
      case 'Cast':
        attrs.push(['to', ONNX_TYPE_CODE[n.attrs.to as keyof typeof ONNX_TYPE_CODE]]);
        break;
      default:
        for (const [k, v] of Object.entries(n.attrs)) attrs.push([k, v]);
    }
    onnxNodes.push({ op, inputs: ins, outputs: [name], attrs });
  }

  // Graph outputs get their public names through Identity nodes (an output may also be an input or
  // appear under two names).
  const outputNames = Object.keys(outputs);
  for (const [outName, node] of Object.entries(outputs)) {
    onnxNodes.push({ op: 'Identity', inputs: [names.get(node.id)!], outputs: [outName], attrs: [] });
  }

  const floatAttrs = new Set(['alpha', 'beta', 'epsilon', 'value_float']);
  const w = new ProtoWriter();
  w.int(1, 8); // ir_version 8
  w.string(2, 'hintbrush');
  w.message(8, (o) => o.string(1, '').int(2, OPSET));
  const usesContrib = onnxNodes.some((on) => CONTRIB_OPS.has(on.op));
  if (usesContrib) w.message(8, (o) => o.string(1, CONTRIB_DOMAIN).int(2, CONTRIB_OPSET));
  w.message(7, (g) => {
    for (const on of onnxNodes) {
      g.message(1, (nw) => {
        for (const i of on.inputs) nw.string(1, i);
        for (const o of on.outputs) nw.string(2, o);
        nw.string(4, on.op);
        if (CONTRIB_OPS.has(on.op)) nw.string(7, CONTRIB_DOMAIN);
        for (const [k, v] of on.attrs) writeAttr(nw, k, v, floatAttrs);
      });
    }
    g.string(2, opts.graphName ?? 'hintbrush');
    for (const init of initializers) init(g);
    for (const n of order) if (n.op === 'Input') valueInfo(g, 11, names.get(n.id)!, n);
    for (const [outName, node] of Object.entries(outputs)) valueInfo(g, 12, outName, node);
  });
  return {
    bytes: w.finish(),
    externalFolder: externalBytes > 0 ? externalFolder : null,
    inputNames,
    outputNames,
    nodeCount: onnxNodes.length,
    externalBytes,
    embeddedBytes,
    externalFiles: [...externalFiles].sort(),
  };
}

function readRange(file: string, offset: number, length: number): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) throw new GraphError(`${file}: unexpected end of file reading ${length} bytes at ${offset}`);
      done += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}
