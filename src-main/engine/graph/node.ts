// The graph IR: one immutable node type (op, dtype, shape, inputs, attributes), hash-consed per Graph so that
// equal nodes are the same object. Shapes are static: a graph is built for one set of input sizes and its
// session cached under those sizes (sizes change rarely while an artist works, and static shapes let ORT plan
// memory and let the gradient pass know every shape).
//
// Ownership: a Graph owns its nodes; nodes never outlive the graph they were made in. Model code builds
// nodes through the op functions in ops.ts and the layers in layers.ts; the emitter turns outputs into ONNX.

import type { DataType } from './dtype.ts';

export type AttrValue = number | string | readonly number[] | boolean;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** Where a Weight node's bytes live: a byte range of the user's file (ONNX external data). */
export interface ExternalRef {
  readonly file: string; // real path of the weights file
  readonly offset: number;
  readonly length: number;
  readonly key: string; // tensor name in the file, for error messages
}

export class Node {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: string,
    readonly dtype: DataType,
    readonly shape: readonly number[],
    readonly inputs: readonly Node[],
    readonly attrs: Attrs,
    /** Only for op 'Weight'. */
    readonly external: ExternalRef | null = null,
    /** Only for op 'Constant': the raw little-endian bytes. */
    readonly data: Uint8Array | null = null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  toString(): string {
    return `${this.op}#${this.id}<${this.dtype}>[${this.shape.join(',')}]`;
  }
}

export class GraphError extends Error {
  readonly kind = 'graph';
}

function attrsKey(attrs: Attrs): string {
  const keys = Object.keys(attrs).sort();
  return keys.map((k) => `${k}=${JSON.stringify(attrs[k])}`).join(';');
}

/**
 * How a graph may be built. Fused ops (ORT's `com.microsoft` kernels) are for inference graphs on providers that
 * have kernels for them (runtime/fusions.ts); a graph built without options uses only standard ops, each of
 * which has a gradient rule, so training graphs never see a fused op.
 */
export interface GraphOptions {
  /** Attention as one `com.microsoft.MultiHeadAttention` node instead of MatMul/Softmax/MatMul. */
  readonly fusedAttention?: boolean;
  /** GroupNorm as one `com.microsoft.GroupNorm` node (channels last) instead of reductions. */
  readonly fusedGroupNorm?: boolean;
  /**
   * Plain attention splits its queries into chunks whose [B, heads, chunk, Tk] scores hold at most this many
   * elements (default ATTENTION_CHUNK_ELEMENTS), so no full score matrix lives at once, in the forward pass or
   * in the backward pass the gradient builder makes of it.
   */
  readonly attentionChunkElements?: number;
}

/** 32M elements: 128 MB of float32 scores per chunk (the full 64x64-level matrix at 512 px is 512 MB per image). */
export const ATTENTION_CHUNK_ELEMENTS = 2 ** 25;

/** Only the graph options out of a builder's options (which extend GraphOptions). */
export function graphOptionsOf(opts: GraphOptions): GraphOptions {
  return { fusedAttention: opts.fusedAttention, fusedGroupNorm: opts.fusedGroupNorm, attentionChunkElements: opts.attentionChunkElements };
}

/** A node factory with hash-consing. Input nodes are named; they are never merged. */
export class Graph {
  constructor(readonly options: GraphOptions = {}) {}

  private nextId = 0;
  private readonly interned = new Map<string, Node>();
  readonly inputs: Node[] = [];

  /** Creates (or finds) an ordinary op node. Shape inference has already happened in ops.ts. */
  node(op: string, dtype: DataType, shape: readonly number[], inputs: readonly Node[], attrs: Attrs = {}): Node {
    for (const input of inputs) {
      if (input.graph !== this) throw new GraphError(`${op}: input ${input} belongs to another graph`);
    }
    const key = `${op}|${dtype}|${shape.join(',')}|${inputs.map((n) => n.id).join(',')}|${attrsKey(attrs)}`;
    const found = this.interned.get(key);
    if (found) return found;
    const made = new Node(this, this.nextId++, op, dtype, Object.freeze([...shape]), Object.freeze([...inputs]), Object.freeze({ ...attrs }));
    this.interned.set(key, made);
    return made;
  }

  input(name: string, dtype: DataType, shape: readonly number[]): Node {
    if (this.inputs.some((n) => n.attrs.name === name)) throw new GraphError(`input '${name}' declared twice`);
    const made = new Node(this, this.nextId++, 'Input', dtype, Object.freeze([...shape]), [], Object.freeze({ name }));
    this.inputs.push(made);
    return made;
  }

  /** A weight read from a byte range of the user's file, never copied. */
  weight(ref: ExternalRef, dtype: DataType, shape: readonly number[]): Node {
    const key = `Weight|${ref.file}|${ref.offset}|${ref.length}|${dtype}|${shape.join(',')}`;
    const found = this.interned.get(key);
    if (found) return found;
    const made = new Node(this, this.nextId++, 'Weight', dtype, Object.freeze([...shape]), [], Object.freeze({ key: ref.key }), ref);
    this.interned.set(key, made);
    return made;
  }

  /** A constant embedded in the graph (small tables, masks, values computed in memory). */
  constant(dtype: DataType, shape: readonly number[], data: Uint8Array, hint = ''): Node {
    const small = data.byteLength <= 256;
    const key = small ? `Constant|${dtype}|${shape.join(',')}|${Buffer.from(data).toString('base64')}` : '';
    if (small) {
      const found = this.interned.get(key);
      if (found) return found;
    }
    const attrs: Attrs = hint ? { hint } : {};
    const made = new Node(this, this.nextId++, 'Constant', dtype, Object.freeze([...shape]), [], Object.freeze(attrs), null, data);
    if (small) this.interned.set(key, made);
    return made;
  }
}

/** Nodes reachable from `outputs`, inputs before users. */
export function topologicalOrder(outputs: readonly Node[]): Node[] {
  const order: Node[] = [];
  const state = new Map<number, 1 | 2>(); // 1 = on stack, 2 = done
  const stack: { node: Node; next: number }[] = [];
  for (const out of outputs) {
    if (state.get(out.id) === 2) continue;
    stack.push({ node: out, next: 0 });
    state.set(out.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.node.inputs.length) {
        const child = top.node.inputs[top.next++];
        const s = state.get(child.id);
        if (s === undefined) {
          state.set(child.id, 1);
          stack.push({ node: child, next: 0 });
        } else if (s === 1) {
          throw new GraphError(`cycle through ${child}`);
        }
      } else {
        stack.pop();
        state.set(top.node.id, 2);
        order.push(top.node);
      }
    }
  }
  return order;
}
