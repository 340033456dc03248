// Element types of graph values, with their ONNX TensorProto codes. The file dtypes of safetensors
// (F32, F16, BF16...) map onto these; compute happens in float32 or float16.

import type { DType as FileDType } from '../../formats/tensor-file.ts';

export type DataType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export const ONNX_TYPE_CODE: Record<DataType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export const BYTES_PER_ELEMENT: Record<DataType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function fromFileDType(dtype: FileDType): DataType {
  switch (dtype) {
    case 'F32':
      return 'float32';
    case 'F16':
      return 'float16';
    case 'BF16':
      return 'bfloat16';
    case 'F64':
      return 'float64';
    case 'I64':
      return 'int64';
    case 'I32':
      return 'int32';
    case 'I8':
      return 'int8';
    case 'U8':
      return 'uint8';
    case 'BOOL':
      return 'bool';
    default:
      throw new Error(`tensor dtype ${dtype} has no graph equivalent`);
  }
}

export function isFloat(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

/** ORT tensor type names used by onnxruntime-node's Tensor constructor. */
export const ORT_TYPE_NAME: Partial<Record<DataType, string>> = {
  float32: 'float32',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  float64: 'float64',
};
