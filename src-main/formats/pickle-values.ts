// The values a torch pickle can build, as plain data. Nothing here can run code: a "global" is only a name
// that passed the allow-list, and tensors and storages are descriptions of byte ranges in the archive.

import type { DType } from './tensor-file.ts';

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A Python dict (or OrderedDict); keys keep insertion order, as Python's do. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
}

/** An allow-listed global (a function or type), only ever applied by `applyAllowed`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage named by a persistent id: `key` names the zip entry `data/<key>`. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    /** Elements (of `dtype`) the pickle says the storage holds. */
    readonly numel: number,
  ) {}
}

/** A rebuilt tensor: a view of `storage` (offsets and strides in elements). */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

export type PyKey = string | number | bigint | boolean | null;
export type PyValue = PyKey | Uint8Array | PyTuple | PyValue[] | PyDict | PyGlobal | TorchStorage | TorchTensor;
