// Reading a tensor the WebGPU provider kept on the device (a gpu-buffer output) back to host memory.
// onnxruntime-node 1.30's own Tensor.getData() on such a tensor aborts the whole process (measured on SwiftShader:
// "terminate called after throwing an instance of 'char const*'"), so the download is an Identity session on the
// same device whose output is a host tensor: ORT copies the buffer itself.
//
// Lifecycle: one Identity session per tensor shape, kept for the life of the process (a training run reads a
// handful of shapes at each checkpoint).

import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { ModelSession, type ResidentTensor } from './session.ts';

const readers = new Map<string, Promise<ModelSession>>();

/** The float32 values of a device-resident tensor, in host memory. */
export async function downloadFromDevice(resident: ResidentTensor): Promise<Float32Array> {
  const shape = resident.tensor.dims;
  const key = shape.join(',');
  let reader = readers.get(key);
  if (!reader) {
    const g = new Graph();
    const input = g.input('device', 'float32', shape);
    reader = ModelSession.create(emitOnnx({ host: op.unary('Identity', input) }, { graphName: 'download' }), { providers: ['webgpu'] });
    readers.set(key, reader);
    reader.catch(() => readers.delete(key));
  }
  const out = await (await reader).runResident({ device: resident });
  return out.host.host.data as Float32Array;
}
