// Builders for the formats tests: a pickle assembler and a zip writer, so malformed and hostile checkpoints can
// be made byte by byte in a temporary folder instead of being stored as more fixtures. Test-only code.

import zlib from 'node:zlib';
import { crc32 } from './crc32.ts';

/** Assembles pickle opcodes (the binary ones torch.save writes, plus a few it never does). */
export class PickleWriter {
  private readonly parts: Buffer[] = [];

  private op(code: number, payload?: Buffer): this {
    this.parts.push(Buffer.from([code]));
    if (payload) this.parts.push(payload);
    return this;
  }
  private le(n: number, bytes: number): Buffer {
    const b = Buffer.alloc(bytes);
    b.writeUIntLE(n, 0, bytes);
    return b;
  }

  raw(bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  proto(version = 2): this { return this.op(0x80, Buffer.from([version])); }
  frame(length: number): this { return this.op(0x95, Buffer.from(new BigUint64Array([BigInt(length)]).buffer)); }
  stop(): this { return this.op(0x2e); }
  mark(): this { return this.op(0x28); }
  pop(): this { return this.op(0x30); }
  none(): this { return this.op(0x4e); }
  bool(v: boolean): this { return this.op(v ? 0x88 : 0x89); }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, Buffer.from([n]));
    if (n >= 0 && n < 65536) return this.op(0x4d, this.le(n, 2));
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, b);
  }
  long1(bytes: number[]): this { return this.op(0x8a, Buffer.from([bytes.length, ...bytes])); }
  float(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.op(0x47, b);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58, Buffer.concat([this.le(b.length, 4), b]));
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x8c, Buffer.concat([Buffer.from([b.length]), b]));
  }
  global(module: string, name: string): this { return this.op(0x63, Buffer.from(`${module}\n${name}\n`)); }
  stackGlobal(): this { return this.op(0x93); }
  inst(module: string, name: string): this { return this.op(0x69, Buffer.from(`${module}\n${name}\n`)); }
  emptyDict(): this { return this.op(0x7d); }
  emptyList(): this { return this.op(0x5d); }
  emptyTuple(): this { return this.op(0x29); }
  tuple(): this { return this.op(0x74); }
  tuple1(): this { return this.op(0x85); }
  tuple2(): this { return this.op(0x86); }
  tuple3(): this { return this.op(0x87); }
  setitem(): this { return this.op(0x73); }
  setitems(): this { return this.op(0x75); }
  append(): this { return this.op(0x61); }
  appends(): this { return this.op(0x65); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  binpersid(): this { return this.op(0x51); }
  put(i: number): this { return i < 256 ? this.op(0x71, Buffer.from([i])) : this.op(0x72, this.le(i, 4)); }
  get(i: number): this { return i < 256 ? this.op(0x68, Buffer.from([i])) : this.op(0x6a, this.le(i, 4)); }
  memoize(): this { return this.op(0x94); }

  /** `torch._utils._rebuild_tensor_v2(storage(pid), offset, size, stride, False, OrderedDict())`. */
  tensor(t: PickleTensor): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', t.storageType ?? 'FloatStorage').str(t.key).str('cpu').int(t.numel).tuple().binpersid();
    this.int(t.offset ?? 0);
    this.mark();
    for (const d of t.shape) this.int(d);
    this.tuple().mark();
    for (const s of t.stride ?? contiguousStride(t.shape)) this.int(s);
    this.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    return this.tuple().reduce();
  }

  bytes(): Buffer { return Buffer.concat(this.parts); }
}

export interface PickleTensor {
  key: string;
  numel: number;
  shape: number[];
  stride?: number[];
  offset?: number;
  storageType?: string;
}

export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i];
  }
  return stride;
}

/** A dict pickle `{name: tensor, ...}` as torch.save writes a state dict. */
export function stateDictPickle(tensors: Record<string, PickleTensor>): Buffer {
  const p = new PickleWriter().proto(2).emptyDict().mark();
  for (const [name, t] of Object.entries(tensors)) p.str(name).tensor(t);
  return p.setitems().stop().bytes();
}

export interface ZipInput {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** Extra field bytes for the local header only (torch pads there to align data). */
  localExtra?: Buffer;
}

/** A zip archive; with `zip64` it writes zip64 extra fields and end records as torch does past 4 GB. */
export function buildZip(inputs: readonly ZipInput[], options: { zip64?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const input of inputs) {
    const name = Buffer.from(input.name, 'utf8');
    const stored = input.deflate ? zlib.deflateRawSync(input.data) : input.data;
    const crc = crc32(input.data);
    const extra = input.localExtra ?? Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(input.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(input.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, stored);

    const z64 = Buffer.alloc(options.zip64 ? 28 : 0);
    if (options.zip64) {
      z64.writeUInt16LE(1, 0);
      z64.writeUInt16LE(24, 2);
      z64.writeBigUInt64LE(BigInt(input.data.length), 4);
      z64.writeBigUInt64LE(BigInt(stored.length), 12);
      z64.writeBigUInt64LE(BigInt(offset), 20);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(45, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(input.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(options.zip64 ? 0xffffffff : stored.length, 20);
    central.writeUInt32LE(options.zip64 ? 0xffffffff : input.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(z64.length, 30);
    central.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    centrals.push(central, name, z64);
    offset += 30 + name.length + extra.length + stored.length;
  }
  const cd = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(inputs.length), 24);
    record.writeBigUInt64LE(BigInt(inputs.length), 32);
    record.writeBigUInt64LE(BigInt(cd.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : inputs.length, 8);
  eocd.writeUInt16LE(options.zip64 ? 0xffff : inputs.length, 10);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, cd, ...tail, eocd]);
}

/** A torch.save-shaped archive: `<prefix>/data.pkl`, `<prefix>/data/<key>` and `<prefix>/version`. */
export function torchArchive(
  pickle: Buffer,
  storages: Record<string, Buffer>,
  options: { prefix?: string; zip64?: boolean; deflate?: string[] } = {},
): Buffer {
  const prefix = options.prefix ?? 'archive';
  const inputs: ZipInput[] = [{ name: `${prefix}/data.pkl`, data: pickle, deflate: options.deflate?.includes('data.pkl') }];
  for (const [key, data] of Object.entries(storages)) {
    inputs.push({ name: `${prefix}/data/${key}`, data, deflate: options.deflate?.includes(key), localExtra: Buffer.alloc(7) });
  }
  inputs.push({ name: `${prefix}/version`, data: Buffer.from('3\n') });
  return buildZip(inputs, options);
}
