// A pickle reader that executes nothing. Python's unpickler calls whatever `module.name` a pickle asks for,
// which is how a downloaded .ckpt can run `os.system` on load. Here GLOBAL is looked up in an allow-list of the
// few constructors `torch.save` uses to rebuild tensors and plain containers; those are re-implemented as data
// (a tensor becomes a description of a byte range), and any other name stops the load before anything runs.

import { TensorFileError } from './tensor-file.ts';
import { applyAllowed, resolveGlobal } from './pickle-globals.ts';
import { PyDict, PyGlobal, PyTuple, type PyKey, type PyValue } from './pickle-values.ts';

export * from './pickle-values.ts';

/** Gives the value a persistent id stands for (torch: the storage); throws for ids it does not understand. */
export type PersistentLoad = (pid: PyValue) => PyValue;

/** Limits on what a pickle may ask for; torch's pickles of real checkpoints are far below them. */
const MAX_LONG_BYTES = 64;

const textDecoder = new TextDecoder('utf-8');

/** Reads a pickle (protocol 2-5 binary opcodes) and returns the value it builds. */
export function loadPickle(data: Uint8Array, file: string, persistentLoad: PersistentLoad): PyValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opAt = 0;

  const fail = (message: string, kind: TensorFileError['kind'] = 'corrupt') =>
    new TensorFileError(kind, file, `pickle ${message} (opcode at byte ${opAt})`);
  const need = (n: number) => {
    if (n > data.length - pos) throw fail('ends in the middle of an opcode');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(data.length)) throw fail('has a length past its end');
    return Number(v);
  };
  const bytes = (n: number) => data.subarray(need(n), pos);
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw fail('ends in the middle of a text line');
    const text = textDecoder.decode(data.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const pop = (): PyValue => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) throw fail('pops from an empty stack');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) throw fail('reads from an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const mark = marks.pop();
    if (mark === undefined) throw fail('has no MARK to pop to');
    return stack.splice(mark);
  };
  const asKey = (v: PyValue): PyKey => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof PyTuple) return `(${v.items.map((x) => String(asKey(x))).join(', ')})`;
    throw fail('uses an unhashable value as a dict key');
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyDict)) throw fail('sets items on something that is not a dict');
    if (items.length % 2 !== 0) throw fail('sets a key without a value');
    for (let i = 0; i < items.length; i += 2) target.map.set(asKey(items[i]), items[i + 1]);
  };
  const appendItems = (target: PyValue, items: PyValue[]) => {
    if (!Array.isArray(target)) throw fail('appends to something that is not a list');
    for (const item of items) target.push(item);
  };
  const call = (callable: PyValue, args: PyValue) => {
    if (!(callable instanceof PyGlobal)) throw fail('calls something that is not an allowed global');
    if (!(args instanceof PyTuple)) throw fail(`calls ${callable.qualified} with arguments that are not a tuple`);
    return applyAllowed(callable, args.items, file);
  };
  const int = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const long = (n: number) => {
    if (n > MAX_LONG_BYTES) throw fail(`has a ${n}-byte integer`);
    const b = bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return int(v);
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) throw fail(`reads memo slot ${index}, which was never written`);
    return memo.get(index) as PyValue;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const version = u8();
        if (version > 5) throw fail(`protocol ${version} is newer than 5`, 'unsupported');
        break;
      }
      case 0x95: need(8); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return top(); // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: stack.push(long(u32())); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(textDecoder.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(textDecoder.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(textDecoder.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(Buffer.from(bytes(u32())).toString('latin1')); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x8f: stack.push([]); break; // EMPTY_SET (kept as a list: nothing here needs set semantics)
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x91: stack.push(popMark()); break; // FROZENSET
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: // APPENDS
      case 0x90: { const items = popMark(); appendItems(top(), items); break; } // ADDITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); stack.push(resolveGlobal(module, name, file)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL names are not strings');
        stack.push(resolveGlobal(module, name, file));
        break;
      }
      case 0x69: { // INST: a GLOBAL and a call in one opcode
        const module = line();
        const name = line();
        const callable = resolveGlobal(module, name, file);
        stack.push(call(callable, new PyTuple(popMark())));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ
      case 0x92: { pop(); const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ_EX (kwargs ignored)
      case 0x6f: { const items = popMark(); stack.push(call(items[0] ?? null, new PyTuple(items.slice(1)))); break; } // OBJ
      case 0x62: pop(); top(); break; // BUILD: state only sets Python attributes, which carry no tensor data
      case 0x51: stack.push(persistentLoad(pop())); break; // BINPERSID
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4 name globals through the copyreg registry, which can be anything
        throw new TensorFileError('hostile', file, 'refuses to load: the pickle calls a global through the extension registry');
      default:
        throw fail(`uses opcode 0x${op.toString(16).padStart(2, '0')}, which torch.save does not write`, 'unsupported');
    }
  }
}
