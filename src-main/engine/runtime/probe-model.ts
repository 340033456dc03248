// The smallest model a provider must run to count as working: used by the start-up probe and by the
// child process that captures a failing provider's own log (provider-log.ts).

/** A one-node ONNX model (Relu on a [1] float tensor), hand-encoded so the probe depends on nothing else. */
export function tinyModel(): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
    out.push(n);
    return out;
  };
  const int = (field: number, v: number) => [...varint(field << 3), ...varint(v)];
  const bytes = (field: number, b: number[]) => [...varint((field << 3) | 2), ...varint(b.length), ...b];
  const str = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);
  // ValueInfoProto{name, type: TypeProto{tensor_type{elem_type: FLOAT, shape{dim{dim_value: 1}}}}}
  const valueInfo = (name: string) => [...str(1, name), ...bytes(2, bytes(1, [...int(1, 1), ...bytes(2, bytes(1, int(1, 1)))]))];
  const node = [...str(1, 'x'), ...str(2, 'y'), ...str(3, 'probe'), ...str(4, 'Relu')];
  const graph = [...bytes(1, node), ...str(2, 'probe'), ...bytes(11, valueInfo('x')), ...bytes(12, valueInfo('y'))];
  // ModelProto{ir_version: 8, opset_import{version: 13}, graph}
  return Uint8Array.from([...int(1, 8), ...bytes(8, int(2, 13)), ...bytes(7, graph)]);
}

