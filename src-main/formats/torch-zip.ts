// Zip-format `torch.save` files (.ckpt, .pth, .pt): `<archive>/data.pkl` describes the object, and each
// storage it references by persistent id is the stored (uncompressed) zip entry `<archive>/data/<key>`.
// Each tensor therefore is a byte range of the checkpoint itself; its entry records that absolute range, so
// the engine can hand it to ONNX Runtime as external data without copying or converting the file.

import fs from 'node:fs';
import { elementCount, FdTensorFile, openRegularFile, type OpenedFile } from './fd-tensor-file.ts';
import { storageDType } from './pickle-globals.ts';
import { loadPickle, PyDict, PyGlobal, PyTuple, TorchStorage, TorchTensor, type PyValue } from './pickle.ts';
import { DTYPE_BYTES, TensorFileError, type TensorEntry, type TensorFile } from './tensor-file.ts';
import { entryDataOffset, METHOD_STORED, readZipDirectory, readZipEntry, type ZipDirectory, type ZipEntry } from './zip.ts';

/** data.pkl of a large SD checkpoint is well under 10 MB; this bounds what a hostile archive can make us inflate. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;
/** state_dict nesting in real files is 1-3 levels; deeper (or cyclic) structures are refused. */
const MAX_NESTING = 32;

interface Archive {
  readonly opened: OpenedFile;
  readonly dir: ZipDirectory;
  readonly prefix: string;
  readonly file: string;
}

/** Finds the single `<name>/data.pkl` that makes a zip a torch archive. */
function findArchivePrefix(dir: ZipDirectory, file: string): string {
  const prefixes = [...dir.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
  if (prefixes.length === 0) {
    throw new TensorFileError('unsupported', file, 'is a zip archive but not a torch.save checkpoint (no <name>/data.pkl inside)');
  }
  if (prefixes.length > 1) throw new TensorFileError('corrupt', file, `holds ${prefixes.length} torch archives (data.pkl files)`);
  return prefixes[0];
}

function checkByteOrder(archive: Archive): void {
  const entry = archive.dir.entries.get(`${archive.prefix}/byteorder`);
  if (!entry) return; // torch before 2.1 wrote none; those files are little-endian
  const order = readZipEntry(archive.opened.fd, archive.file, archive.dir, entry, 16).toString('latin1');
  if (order !== 'little') throw new TensorFileError('unsupported', archive.file, `tensor data is stored ${JSON.stringify(order)}-endian`);
}

/** Interprets `('storage', <type>, key, location, numel)` persistent ids; the same key always means one storage. */
function storageLoader(archive: Archive): (pid: PyValue) => PyValue {
  const storages = new Map<string, TorchStorage>();
  const file = archive.file;
  return (pid) => {
    const items = pid instanceof PyTuple ? pid.items : [];
    const [tag, type, key, , numel] = items;
    if (items.length !== 5 || tag !== 'storage' || typeof key !== 'string' || !(type instanceof PyGlobal)) {
      throw new TensorFileError('corrupt', file, 'the pickle has a persistent id that is not a torch storage reference');
    }
    const dtype = storageDType(type);
    if (dtype === undefined) throw new TensorFileError('corrupt', file, `storage '${key}' has type ${type.qualified}, which is not a storage`);
    if (dtype === null) throw new TensorFileError('unsupported', file, `storage '${key}' has type ${type.qualified}, which is not supported`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw new TensorFileError('corrupt', file, `storage '${key}' has an invalid size ${String(numel)}`);
    }
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) {
        throw new TensorFileError('corrupt', file, `storage '${key}' is referenced with two different types or sizes`);
      }
      return known;
    }
    if (!archive.dir.entries.has(`${archive.prefix}/data/${key}`)) {
      throw new TensorFileError('corrupt', file, `storage '${key}' has no entry ${archive.prefix}/data/${key} in the archive`);
    }
    const storage = new TorchStorage(key, dtype, numel);
    storages.set(key, storage);
    return storage;
  };
}

interface Flattened {
  readonly tensors: Map<string, TorchTensor>;
  readonly metadata: Record<string, string>;
}

/**
 * The checkpoint's tensors by name. `{state_dict: {...}, global_step: 1000}` gives the state dict's own names,
 * with scalar siblings as metadata; tensors in other nested dicts are named with dotted paths.
 * Lists (optimizer states and the like) are skipped: they hold nothing an inference or LoRA loader reads.
 */
function flatten(root: PyValue, file: string): Flattened {
  const tensors = new Map<string, TorchTensor>();
  const metadata: Record<string, string> = Object.create(null);
  const walk = (value: PyValue, name: string, depth: number): void => {
    if (value instanceof TorchTensor) {
      if (tensors.has(name)) throw new TensorFileError('corrupt', file, `tensor name '${name}' appears twice`);
      tensors.set(name, value);
    } else if (value instanceof PyDict) {
      if (depth >= MAX_NESTING) throw new TensorFileError('corrupt', file, `the pickle nests dicts more than ${MAX_NESTING} deep`);
      for (const [key, v] of value.map) walk(v, name === '' ? String(key) : `${name}.${String(key)}`, depth + 1);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
      metadata[name] = String(value);
    }
  };
  if (!(root instanceof PyDict)) {
    throw new TensorFileError('unsupported', file, 'holds a single object, not a dict of tensors (a state dict)');
  }
  const stateDict = root.map.get('state_dict');
  if (stateDict instanceof PyDict) {
    walk(stateDict, '', 1);
    for (const [key, v] of root.map) if (key !== 'state_dict') walk(v, String(key), 1);
  } else {
    walk(root, '', 0);
  }
  return { tensors, metadata };
}

/** Turns a rebuilt tensor into an absolute byte range of the file, or says why it cannot be one. */
function toEntry(archive: Archive, name: string, t: TorchTensor, dataOffsets: Map<string, number>): TensorEntry {
  const file = archive.file;
  const { storage } = t;
  const zipEntry = archive.dir.entries.get(`${archive.prefix}/data/${storage.key}`) as ZipEntry;
  if (zipEntry.method !== METHOD_STORED) {
    throw new TensorFileError('unsupported', file, `tensor '${name}' is stored compressed (zip method ${zipEntry.method}); re-save it with torch.save`);
  }
  const itemSize = DTYPE_BYTES[storage.dtype];
  if (zipEntry.compressedSize !== zipEntry.uncompressedSize || zipEntry.uncompressedSize !== storage.numel * itemSize) {
    throw new TensorFileError(
      'corrupt',
      file,
      `tensor '${name}': storage '${storage.key}' holds ${zipEntry.uncompressedSize} bytes, not ${storage.numel} ${storage.dtype} elements`,
    );
  }
  const count = elementCount(t.shape);
  if (!Number.isSafeInteger(count)) throw new TensorFileError('corrupt', file, `tensor '${name}' has too many elements`);
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected && count > 0) {
      throw new TensorFileError(
        'unsupported',
        file,
        `tensor '${name}' is a non-contiguous view (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]); ` +
          're-save it after .contiguous()',
      );
    }
    expected *= t.shape[i];
  }
  if (t.storageOffset + count > storage.numel) {
    throw new TensorFileError('corrupt', file, `tensor '${name}' reaches past the end of its storage '${storage.key}'`);
  }
  let dataOffset = dataOffsets.get(storage.key);
  if (dataOffset === undefined) {
    dataOffset = entryDataOffset(archive.opened.fd, file, archive.dir, zipEntry);
    dataOffsets.set(storage.key, dataOffset);
  }
  return {
    name,
    dtype: storage.dtype,
    shape: [...t.shape],
    fileOffset: dataOffset + t.storageOffset * itemSize,
    byteLength: count * itemSize,
  };
}

/**
 * Opens a zip-format torch checkpoint without executing its pickle. Throws TensorFileError 'hostile' when the
 * pickle names anything but tensor and container constructors. The caller owns the result: `close()` it.
 */
export function openTorchZip(file: string): TensorFile {
  const opened = openRegularFile(file);
  try {
    const dir = readZipDirectory(opened.fd, opened.size, file);
    const archive: Archive = { opened, dir, prefix: findArchivePrefix(dir, file), file };
    checkByteOrder(archive);
    const pickleEntry = dir.entries.get(`${archive.prefix}/data.pkl`) as ZipEntry;
    const pickle = readZipEntry(opened.fd, file, dir, pickleEntry, MAX_PICKLE_BYTES);
    const root = loadPickle(pickle, file, storageLoader(archive));
    const { tensors, metadata } = flatten(root, file);
    const entries = new Map<string, TensorEntry>();
    const dataOffsets = new Map<string, number>();
    for (const [name, t] of tensors) entries.set(name, toEntry(archive, name, t, dataOffsets));
    return new FdTensorFile(opened, 'torch-zip', entries, metadata, file);
  } catch (error) {
    fs.closeSync(opened.fd);
    throw error;
  }
}
