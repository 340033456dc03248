// Reads what an ONNX file says about itself (graph inputs and outputs with their shapes, the op that makes each
// output, initializer and node counts, opsets), without loading its weights and without a protobuf runtime.
// The file is hostile: every length is checked against the message that holds it, counts and string sizes are
// capped, and anything that does not parse is a TensorFileError naming the byte where it went wrong. Only
// the fields listed below are decoded; every other field is skipped by its wire type.
//
// ModelProto  1 ir_version, 2 producer_name, 7 graph, 8 opset_import {1 domain, 2 version}
// GraphProto  1 node {2 output, 4 op_type}, 5 initializer {8 name, 14 data_location}, 11 input, 12 output
// ValueInfo   1 name, 2 type {1 tensor_type {1 elem_type, 2 shape {1 dim {1 dim_value, 2 dim_param}}}}

import fs from 'node:fs';
import { openRegularFile, readExact } from './fd-tensor-file.ts';
import { TensorFileError } from './tensor-file.ts';

/** One graph input or output. A dimension is a number, or -1 when the model leaves it free (named or unset). */
export interface OnnxValue {
  name: string;
  /** 'float32', 'float16', 'int64'... or `type<N>` for codes Hintbrush does not name. */
  dtype: string;
  dims: number[];
  /** Names of the free dimensions ('' when unnamed), parallel to dims. */
  dimNames: string[];
}

export interface OnnxSignature {
  irVersion: number;
  producer: string;
  /** Default-domain opset version (0 when absent). */
  opset: number;
  /** Real inputs: graph inputs that are not initializers (old exports list every weight as an input). */
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** op_type of the node that produces each graph output, looking through Identity nodes ('' when none does). */
  outputOps: Record<string, string>;
  initializerCount: number;
  nodeCount: number;
  /** Some initializers live in files next to the model (ONNX external data). */
  externalData: boolean;
  hasGraph: boolean;
}

const LIMITS = {
  nameBytes: 4096,
  values: 4096, // graph inputs / outputs
  dims: 16,
  nodes: 2_000_000,
  initializers: 2_000_000,
  outputsPerNode: 64,
};

const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

/** A window of the file read on demand, so skipping a 1 GB initializer costs nothing. */
class FileBytes {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  constructor(
    readonly fd: number,
    readonly file: string,
    readonly size: number,
  ) {}

  byte(pos: number): number {
    if (pos < this.windowStart || pos >= this.windowStart + this.window.length) {
      const length = Math.min(16 * 1024, this.size - pos);
      if (length <= 0) throw new TensorFileError('corrupt', this.file, `unexpected end of file at byte ${pos}`);
      this.window = Buffer.from(readExact(this.fd, this.file, pos, length));
      this.windowStart = pos;
    }
    return this.window[pos - this.windowStart];
  }

  text(pos: number, length: number): string {
    if (length > LIMITS.nameBytes) throw new TensorFileError('hostile', this.file, `a name of ${length} bytes at byte ${pos}`);
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = this.byte(pos + i);
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

interface Field {
  field: number;
  wire: number;
  /** Varint value (wire 0), as a signed 64-bit number when it fits a double exactly. */
  value: bigint;
  /** Payload range (wire 2). */
  start: number;
  end: number;
}

/** Iterates the fields of one message lying in [start, end) of the file. */
class Message {
  private pos: number;
  constructor(
    private readonly bytes: FileBytes,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  private fail(message: string): never {
    throw new TensorFileError('corrupt', this.bytes.file, `not a valid ONNX file: ${message} at byte ${this.pos}`);
  }

  private varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail('truncated number');
      const b = this.bytes.byte(this.pos++);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    this.fail('number longer than 10 bytes');
  }

  *fields(): Generator<Field> {
    while (this.pos < this.end) {
      const tag = this.varint();
      const field = Number(tag >> 3n);
      const wire = Number(tag & 7n);
      if (field === 0) this.fail('field number 0');
      if (wire === 0) {
        yield { field, wire, value: this.varint(), start: 0, end: 0 };
      } else if (wire === 2) {
        const length = this.varint();
        if (length > BigInt(this.end - this.pos)) this.fail(`field ${field} of ${length} bytes overruns its message (is the file truncated?)`);
        const start = this.pos;
        this.pos += Number(length);
        yield { field, wire, value: 0n, start, end: this.pos };
      } else if (wire === 1 || wire === 5) {
        const skip = wire === 1 ? 8 : 4;
        if (this.pos + skip > this.end) this.fail(`field ${field} overruns its message`);
        this.pos += skip;
      } else {
        this.fail(`unsupported wire type ${wire} (field ${field})`);
      }
    }
  }
}

function signed(v: bigint): number {
  const n = BigInt.asIntN(64, v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) return Number.NaN;
  return Number(n);
}

/** Reads the signature of the ONNX model in `file`. Throws TensorFileError for anything that is not one. */
export function readOnnxSignature(file: string): OnnxSignature {
  const opened = openRegularFile(file);
  try {
    if (opened.size === 0) throw new TensorFileError('corrupt', file, 'the file is empty');
    return readSignature(new FileBytes(opened.fd, file, opened.size));
  } finally {
    fs.closeSync(opened.fd);
  }
}

function readSignature(bytes: FileBytes): OnnxSignature {
  const sig: OnnxSignature = {
    irVersion: 0,
    producer: '',
    opset: 0,
    inputs: [],
    outputs: [],
    outputOps: {},
    initializerCount: 0,
    nodeCount: 0,
    externalData: false,
    hasGraph: false,
  };
  const declaredInputs: OnnxValue[] = [];
  const initializerNames = new Set<string>();
  const producedBy = new Map<string, { op: string; input: string }>();
  let graphs = 0;
  for (const f of new Message(bytes, 0, bytes.size).fields()) {
    if (f.field === 1 && f.wire === 0) sig.irVersion = signed(f.value);
    else if (f.field === 2 && f.wire === 2) sig.producer = bytes.text(f.start, f.end - f.start);
    else if (f.field === 8 && f.wire === 2) {
      let domain = '';
      let version = 0;
      for (const o of new Message(bytes, f.start, f.end).fields()) {
        if (o.field === 1 && o.wire === 2) domain = bytes.text(o.start, o.end - o.start);
        else if (o.field === 2 && o.wire === 0) version = signed(o.value);
      }
      if (domain === '' || domain === 'ai.onnx') sig.opset = version;
    } else if (f.field === 7 && f.wire === 2) {
      graphs++;
      readGraph(bytes, f.start, f.end, sig, declaredInputs, initializerNames, producedBy);
    }
  }
  sig.hasGraph = graphs > 0;
  sig.inputs = declaredInputs.filter((v) => !initializerNames.has(v.name));
  for (const out of sig.outputs) {
    let node = producedBy.get(out.name);
    for (let hops = 0; node?.op === 'Identity' && hops < 64; hops++) node = producedBy.get(node.input) ?? { op: '', input: '' };
    sig.outputOps[out.name] = node?.op ?? '';
  }
  return sig;
}

function readGraph(
  bytes: FileBytes,
  start: number,
  end: number,
  sig: OnnxSignature,
  inputs: OnnxValue[],
  initializerNames: Set<string>,
  producedBy: Map<string, { op: string; input: string }>,
): void {
  for (const f of new Message(bytes, start, end).fields()) {
    if (f.wire !== 2) continue;
    if (f.field === 1) {
      if (++sig.nodeCount > LIMITS.nodes) throw new TensorFileError('hostile', bytes.file, `more than ${LIMITS.nodes} nodes`);
      const outputs: string[] = [];
      let op = '';
      let input: string | null = null;
      for (const n of new Message(bytes, f.start, f.end).fields()) {
        if (n.wire !== 2) continue;
        if (n.field === 1 && input === null) input = bytes.text(n.start, n.end - n.start);
        else if (n.field === 2) {
          if (outputs.length >= LIMITS.outputsPerNode) throw new TensorFileError('hostile', bytes.file, `a node with more than ${LIMITS.outputsPerNode} outputs`);
          outputs.push(bytes.text(n.start, n.end - n.start));
        } else if (n.field === 4) op = bytes.text(n.start, n.end - n.start);
      }
      for (const o of outputs) producedBy.set(o, { op, input: input ?? '' });
    } else if (f.field === 5) {
      if (++sig.initializerCount > LIMITS.initializers) {
        throw new TensorFileError('hostile', bytes.file, `more than ${LIMITS.initializers} initializers`);
      }
      for (const t of new Message(bytes, f.start, f.end).fields()) {
        if (t.field === 8 && t.wire === 2) initializerNames.add(bytes.text(t.start, t.end - t.start));
        else if (t.field === 14 && t.wire === 0 && t.value === 1n) sig.externalData = true;
      }
    } else if (f.field === 11 || f.field === 12) {
      const list = f.field === 11 ? inputs : sig.outputs;
      if (list.length >= LIMITS.values) throw new TensorFileError('hostile', bytes.file, `more than ${LIMITS.values} graph inputs or outputs`);
      list.push(readValueInfo(bytes, f.start, f.end));
    }
  }
}

function readValueInfo(bytes: FileBytes, start: number, end: number): OnnxValue {
  const value: OnnxValue = { name: '', dtype: '', dims: [], dimNames: [] };
  for (const f of new Message(bytes, start, end).fields()) {
    if (f.wire !== 2) continue;
    if (f.field === 1) value.name = bytes.text(f.start, f.end - f.start);
    else if (f.field === 2) {
      for (const t of new Message(bytes, f.start, f.end).fields()) {
        if (t.field !== 1 || t.wire !== 2) continue; // only tensor types
        for (const tt of new Message(bytes, t.start, t.end).fields()) {
          if (tt.field === 1 && tt.wire === 0) {
            const code = signed(tt.value);
            value.dtype = ELEM_TYPES[code] ?? `type${code}`;
          } else if (tt.field === 2 && tt.wire === 2) {
            value.dims = [];
            value.dimNames = [];
            for (const d of new Message(bytes, tt.start, tt.end).fields()) {
              if (d.field !== 1 || d.wire !== 2) continue;
              if (value.dims.length >= LIMITS.dims) throw new TensorFileError('hostile', bytes.file, `a value with more than ${LIMITS.dims} dimensions`);
              let size = -1;
              let name = '';
              for (const dd of new Message(bytes, d.start, d.end).fields()) {
                if (dd.field === 1 && dd.wire === 0) size = signed(dd.value);
                else if (dd.field === 2 && dd.wire === 2) name = bytes.text(dd.start, dd.end - dd.start);
              }
              if (!Number.isFinite(size) || size < -1) size = -1;
              value.dims.push(size);
              value.dimNames.push(size === -1 ? name : '');
            }
          }
        }
      }
    }
  }
  return value;
}

/** `pixel_values float32 [-1,3,-1,-1]`: one line per value, for details and error messages. */
export function describeValue(v: OnnxValue): string {
  const name = v.name.length > 80 ? `${v.name.slice(0, 80)}...` : v.name;
  return `${name || '(unnamed)'} ${v.dtype || '?'} [${v.dims.join(',')}]`;
}
