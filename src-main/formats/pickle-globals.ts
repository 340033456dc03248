// The allow-list: the only globals a weights pickle may name, and what "calling" each one means here. Every
// entry is re-implemented as data construction; no Python callable is ever looked up by name and invoked.
// Anything not listed (os.system, builtins.eval, subprocess.*, an unknown class) refuses the whole file.

import { PyDict, PyGlobal, PyTuple, TorchStorage, TorchTensor, type PyValue } from './pickle-values.ts';
import { TensorFileError, type DType } from './tensor-file.ts';

/** torch's legacy typed-storage names, which `torch.save` still writes in persistent ids. */
const STORAGE_DTYPES: Record<string, DType | null> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  // Real storage types with no dtype here: allowed as names, refused as 'unsupported' when a tensor uses them.
  ComplexFloatStorage: null,
  ComplexDoubleStorage: null,
  QInt8Storage: null,
  QUInt8Storage: null,
  QInt32Storage: null,
  QUInt4x2Storage: null,
  QUInt2x4Storage: null,
};

const REBUILD_TENSOR = new Set(['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor']);
const CALLABLE = new Set([
  ...REBUILD_TENSOR,
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'collections.OrderedDict',
  'torch.Size',
]);
/** Types that only appear as arguments (the class a tensor is rebuilt as). */
const TENSOR_TYPES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter', 'torch.nn.Parameter']);

/** torch names that do rebuild tensors, of kinds this reader does not handle: an honest 'unsupported'. */
const KNOWN_UNSUPPORTED = new Set([
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_xla_tensor',
  'torch.storage.UntypedStorage',
  'torch.storage._load_from_bytes',
]);

const ALIASES: Record<string, string> = { 'posix.system': 'os.system', 'nt.system': 'os.system' };

/** The dtype of an allow-listed storage type, null if torch has it but this reader cannot read it. */
export function storageDType(type: PyGlobal): DType | null | undefined {
  if (type.module !== 'torch' || !Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, type.name)) return undefined;
  return STORAGE_DTYPES[type.name];
}

/** GLOBAL: returns the name if it is on the allow-list; otherwise the load stops here, before any call. */
export function resolveGlobal(module: string, name: string, file: string): PyGlobal {
  const global = new PyGlobal(module, name);
  const q = global.qualified;
  if (CALLABLE.has(q) || TENSOR_TYPES.has(q) || storageDType(global) !== undefined) return global;
  if (KNOWN_UNSUPPORTED.has(q)) {
    throw new TensorFileError('unsupported', file, `the pickle uses ${q}, a kind of tensor this reader does not load`);
  }
  const shown = q.length > 200 ? `${q.slice(0, 200)}...` : q;
  const alias = ALIASES[q] ? ` (${ALIASES[q]})` : '';
  throw new TensorFileError(
    'hostile',
    file,
    `refuses to load: the pickle calls ${JSON.stringify(shown)}${alias}, which is not one of the tensor and container ` +
      'constructors torch.save uses; a pickle can run any code when loaded, so nothing in this file was run',
  );
}

function malformed(global: PyGlobal, why: string, file: string): TensorFileError {
  return new TensorFileError('corrupt', file, `the pickle calls ${global.qualified} with malformed arguments: ${why}`);
}

function intTuple(value: PyValue, what: string, global: PyGlobal, file: string): number[] {
  if (!(value instanceof PyTuple)) throw malformed(global, `${what} is not a tuple`, file);
  return value.items.map((v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw malformed(global, `${what} has ${String(v)}`, file);
    return v;
  });
}

function rebuildTensor(global: PyGlobal, args: readonly PyValue[], file: string): TorchTensor {
  const [storage, offset, size, stride] = args;
  if (args.length < 4) throw malformed(global, `${args.length} arguments`, file);
  if (!(storage instanceof TorchStorage)) throw malformed(global, 'the first argument is not a storage', file);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw malformed(global, `storage offset ${String(offset)}`, file);
  }
  const shape = intTuple(size, 'size', global, file);
  const strides = intTuple(stride, 'stride', global, file);
  if (shape.length !== strides.length) throw malformed(global, `size has ${shape.length} dims, stride ${strides.length}`, file);
  return new TorchTensor(storage, offset, shape, strides);
}

/** REDUCE/NEWOBJ on an allow-listed global: builds the value as data, never runs anything. */
export function applyAllowed(global: PyGlobal, args: readonly PyValue[], file: string): PyValue {
  const q = global.qualified;
  if (REBUILD_TENSOR.has(q)) return rebuildTensor(global, args, file);
  switch (q) {
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(args[0] instanceof TorchTensor)) throw malformed(global, 'the data is not a tensor', file);
      return args[0];
    case 'torch._tensor._rebuild_from_type_v2': {
      const [func, type, inner] = args;
      if (!(func instanceof PyGlobal) || !REBUILD_TENSOR.has(func.qualified)) {
        throw malformed(global, 'the function is not a tensor rebuild', file);
      }
      if (!(type instanceof PyGlobal) || !TENSOR_TYPES.has(type.qualified)) throw malformed(global, 'the type is not a tensor type', file);
      if (!(inner instanceof PyTuple)) throw malformed(global, 'the arguments are not a tuple', file);
      return rebuildTensor(func, inner.items, file);
    }
    case 'collections.OrderedDict': {
      const dict = new PyDict();
      const pairs = args[0];
      if (pairs === undefined) return dict;
      if (!Array.isArray(pairs)) throw malformed(global, 'items are not a list', file);
      for (const pair of pairs) {
        const items = pair instanceof PyTuple ? pair.items : Array.isArray(pair) ? pair : [];
        const key = items[0];
        if (items.length !== 2 || (typeof key !== 'string' && typeof key !== 'number')) throw malformed(global, 'an item is not a pair', file);
        dict.map.set(key, items[1]);
      }
      return dict;
    }
    case 'torch.Size':
      return new PyTuple(intTuple(args[0] ?? null, 'size', global, file));
    default:
      throw new TensorFileError('unsupported', file, `the pickle calls ${q}, which this reader does not construct`);
  }
}
