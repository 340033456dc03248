// Reverse-mode gradients over the IR. The pass walks only the nodes on a path from the loss to the wanted
// parameters (a node is differentiated only when it depends on one of them) and applies one rule per op
// (grad-rules.ts); an op without a rule fails naming the op. The result is more nodes in the same graph, so a
// training step (forward, backward, optimizer) is one ONNX model.
//
// Recomputation (gradient checkpointing): with `recompute.keep`, the backward reads only the kept activations
// (block outputs) and leaves; every other activation it needs is rebuilt from them. The rebuilt nodes differ
// from the forward ones only through an "anchor" `kept + 0 * dy[0]`, which makes the recomputation wait for
// the backward pass to arrive there (ORT would otherwise schedule it early) and keeps the twins apart from
// the forward nodes. Hash-consing memoises the twins, and nodes that depend on no kept activation (weights
// cast to the compute dtype, the time embedding) are their own twins. The session must run with ORT's
// CommonSubexpressionElimination disabled (RECOMPUTE_DISABLED_OPTIMIZERS).

import { GRAD_RULES } from './grad-rules.ts';
import { GraphError, type Node, topologicalOrder } from './node.ts';
import * as op from './ops.ts';

/** ORT optimisers that would merge recomputed nodes back into the forward ones (ort-facts.md). */
export const RECOMPUTE_DISABLED_OPTIMIZERS = ['CommonSubexpressionElimination'];

export interface GradientOptions {
  /** Gradient of the loss itself (defaults to ones); lets a caller scale the loss for fp16 training. */
  seed?: Node;
  /** Recompute every activation except these (and leaves) in the backward pass. */
  recompute?: { keep: ReadonlySet<Node> };
}

const LEAVES = new Set(['Input', 'Weight', 'Constant']);

/** d loss / d w for each w in `wrt`, as nodes of the loss's graph (zeros where w does not reach the loss). */
export function gradients(loss: Node, wrt: readonly Node[], opts: GradientOptions = {}): Node[] {
  const order = topologicalOrder([loss]);
  const wanted = new Set(wrt.map((n) => n.id));
  // Nodes that depend on a wanted node: the only ones whose gradients are built.
  const onPath = new Set<number>();
  for (const n of order) {
    if (wanted.has(n.id) || n.inputs.some((i) => onPath.has(i.id))) onPath.add(n.id);
  }
  const seed = opts.seed ?? op.constantOf(loss.graph, loss.dtype, loss.shape, new Array(loss.size).fill(1));
  if (seed.dtype !== loss.dtype || seed.size !== loss.size) throw new GraphError(`gradients: seed ${seed} does not match loss ${loss}`);
  const grads = new Map<number, Node>([[loss.id, op.reshape(seed, loss.shape)]]);
  const twins = opts.recompute ? new Recomputation(opts.recompute.keep) : null;

  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    const dy = grads.get(n.id);
    if (!dy || !onPath.has(n.id) || LEAVES.has(n.op)) continue;
    const rule = GRAD_RULES[n.op];
    if (!rule) throw new GraphError(`no gradient rule for op ${n.op} (${n}), which lies between the loss and a parameter`);
    const needs = (i: number) => onPath.has(n.inputs[i].id);
    const forward = twins ? twins.twin(n, dy) : n;
    const results = rule(dy, forward, needs);
    n.inputs.forEach((input, i) => {
      const g = results[i];
      if (!g || !needs(i)) return;
      if (g.dtype !== input.dtype || g.shape.length !== input.rank || g.shape.some((d, j) => d !== input.shape[j])) {
        throw new GraphError(`${n.op} rule gave ${g} for input ${i} ${input}`);
      }
      const prev = grads.get(input.id);
      grads.set(input.id, prev ? op.add(prev, g) : g);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? op.expand(op.constantOf(w.graph, w.dtype, w.shape.map(() => 1), [0]), w.shape));
}

/** Builds the recomputed twins of forward nodes for the backward pass. */
class Recomputation {
  private readonly anchors = new Map<number, Node>();
  private readonly twins = new Map<number, Node>();

  constructor(private readonly keep: ReadonlySet<Node>) {}

  /** `n` rebuilt from kept activations: same op and attributes, inputs replaced by their twins. */
  twin(n: Node, dy: Node): Node {
    let t = this.twins.get(n.id);
    if (!t) {
      const inputs = n.inputs.map((i) => this.value(i, dy));
      t = inputs.every((x, i) => x === n.inputs[i]) ? n : n.graph.node(n.op, n.dtype, n.shape, inputs, n.attrs);
      this.twins.set(n.id, t);
    }
    return t;
  }

  private value(x: Node, dy: Node): Node {
    if (LEAVES.has(x.op)) return x;
    if (this.keep.has(x)) return this.anchor(x, dy);
    return this.twin(x, dy);
  }

  /** kept + 0 * dy[0]: the kept value, available only once the backward pass has reached `dy`. */
  private anchor(kept: Node, dy: Node): Node {
    let a = this.anchors.get(kept.id);
    if (!a) {
      const first = op.reshape(op.slice(op.reshape(dy, [-1]), 0, 0, 1), kept.shape.map(() => 1)); // [1, ..., 1]
      const zero = op.mul(op.cast(first, kept.dtype), op.scalar(kept.graph, 0, kept.dtype));
      a = op.add(kept, zero);
      this.anchors.set(kept.id, a);
    }
    return a;
  }
}
