// Building blocks shared by every model, made only of the primitive ops in graph/ops.ts (so the gradient pass
// needs no rules for them). Normalisations compute their statistics in float32 even when the graph computes in
// float16, and are written in the ReduceMean/Sub/Pow/Sqrt/Div pattern that ORT fuses into LayerNormalization.

import { ATTENTION_CHUNK_ELEMENTS, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import type { Weights } from './weights.ts';

export function scalarLike(x: Node, value: number): Node {
  return op.scalar(x.graph, value, x.dtype);
}

/** x @ W^T + b for W [out, in]; LoRA deltas registered for this layer's key path are added. */
export function linear(w: Weights, x: Node, opts: { bias?: boolean } = {}): Node {
  const weight = w.get('weight'); // [out, in]
  if (x.shape[x.rank - 1] !== weight.shape[1]) {
    op.expectShape(`${w.key('weight')} (input width ${x.shape[x.rank - 1]})`, weight, [-1, x.shape[x.rank - 1]]);
  }
  let y = op.matmul(x, op.transpose(weight, [1, 0]));
  if (opts.bias !== false && w.has('bias')) y = op.add(y, w.get('bias'));
  return w.loras ? w.loras.applyLinear(w.path, x, y) : y;
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number | [number, number, number, number];
}

export function conv2d(w: Weights, x: Node, opts: Conv2dOptions = {}): Node {
  const weight = w.get('weight'); // [Cout, Cin, kh, kw]
  const [, , kh] = weight.shape;
  const p = opts.padding ?? Math.floor(kh / 2);
  const pads = typeof p === 'number' ? [p, p, p, p] : p;
  const s = opts.stride ?? 1;
  const y = op.conv(x, weight, w.has('bias') ? w.get('bias') : null, { strides: [s, s], pads });
  return w.loras ? w.loras.applyConv(w.path, x, y, { strides: [s, s], pads }) : y;
}

/** Mean/variance normalisation over the trailing `axes`, statistics in float32. */
function normalize(x: Node, axes: number[], eps: number): Node {
  const x32 = op.cast(x, 'float32');
  const mean = op.reduce('ReduceMean', x32, axes);
  const d = op.sub(x32, mean);
  // ORT fuses the Pow form into LayerNormalization, but mis-types the fusion when the input was cast up from
  // fp16 ("T bound to different types"), so fp16 graphs use the equivalent d * d, which it leaves alone.
  const squared = x.dtype === 'float32' ? op.pow(d, op.scalar(x.graph, 2)) : op.mul(d, d);
  const variance = op.reduce('ReduceMean', squared, axes);
  const std = op.unary('Sqrt', op.add(variance, op.scalar(x.graph, eps)));
  return op.div(d, std);
}

/** GroupNorm over x [B, C, ...spatial] with per-channel affine from `w` (weight, bias). */
export function groupNorm(w: Weights | null, x: Node, groups: number, eps: number): Node {
  const [b, c] = x.shape;
  if (c % groups !== 0) op.expectShape(`GroupNorm: ${c} channels in ${groups} groups`, x, [-1, groups]);
  if (x.graph.options.fusedGroupNorm && x.rank === 4) return fusedGroupNorm(w, x, groups, eps);
  const spatial = x.shape.slice(2);
  const grouped = op.reshape(x, [b, groups, -1]); // [B, G, C/G * HW]
  let y = op.reshape(normalize(grouped, [2], eps), [b, c, ...spatial]);
  if (w) {
    const affineShape = [c, ...spatial.map(() => 1)];
    y = op.add(op.mul(y, op.reshape(w.get32('weight'), affineShape)), op.reshape(w.get32('bias'), affineShape));
  }
  return op.cast(y, x.dtype);
}

/** The same GroupNorm as ORT's channels-last kernel: transposes around it, which ORT cancels between neighbours. */
function fusedGroupNorm(w: Weights | null, x: Node, groups: number, eps: number): Node {
  const c = x.shape[1];
  const gamma = w ? w.get32('weight') : op.constantOf(x.graph, 'float32', [c], new Float32Array(c).fill(1));
  const beta = w ? w.get32('bias') : op.constantOf(x.graph, 'float32', [c], new Float32Array(c));
  const nhwc = op.transpose(x, [0, 2, 3, 1]); // [B, H, W, C]
  return op.transpose(op.fusedGroupNorm(nhwc, gamma, beta, groups, eps), [0, 3, 1, 2]); // [B, C, H, W]
}

/** LayerNorm over the last axis. */
export function layerNorm(w: Weights, x: Node, eps = 1e-5): Node {
  const y = normalize(x, [x.rank - 1], eps);
  return op.cast(op.add(op.mul(y, w.get32('weight')), w.get32('bias')), x.dtype);
}

export function silu(x: Node): Node {
  return op.mul(x, op.unary('Sigmoid', x));
}

/** GELU with erf, as PyTorch's default nn.GELU. */
export function gelu(x: Node): Node {
  const inner = op.unary('Erf', op.mul(x, scalarLike(x, Math.SQRT1_2)));
  return op.mul(op.mul(x, scalarLike(x, 0.5)), op.add(inner, scalarLike(x, 1)));
}

/** CLIP's QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu(x: Node): Node {
  return op.mul(x, op.unary('Sigmoid', op.mul(x, scalarLike(x, 1.702))));
}

/**
 * Scaled dot-product attention. q [B, Tq, heads*d], k/v [B, Tk, heads*d] -> [B, Tq, heads*d].
 * `mask` (optional) is added to the scores [.., Tq, Tk] (e.g. CLIP's causal mask).
 */
export function attention(q: Node, k: Node, v: Node, heads: number, mask: Node | null = null): Node {
  // The fused op computes the same softmax(q k^T / sqrt(d)) v without keeping [B, heads, Tq, Tk] scores (1 GiB
  // each at SD's 64x64 level, 512 px). CLIP's masked 77-token attention stays plain: there is nothing to save.
  if (q.graph.options.fusedAttention && !mask) return op.multiHeadAttention(q, k, v, heads);
  const [b, tq, inner] = q.shape;
  const tk = k.shape[1];
  const d = inner / heads;
  if (!Number.isInteger(d)) op.expectShape(`attention: width ${inner} not divisible by ${heads} heads`, q, [-1, -1, heads]);
  const kh = op.transpose(op.reshape(k, [b, tk, heads, d]), [0, 2, 3, 1]); // [B, h, d, Tk]
  const vh = op.transpose(op.reshape(v, [b, tk, heads, d]), [0, 2, 1, 3]); // [B, h, Tk, d]
  // Softmax is per query row, so query chunks give exactly the same result with a smaller score matrix each.
  const limit = q.graph.options.attentionChunkElements ?? ATTENTION_CHUNK_ELEMENTS;
  const chunk = mask ? tq : Math.max(1, Math.min(tq, Math.floor(limit / (b * heads * tk))));
  const outs: Node[] = [];
  for (let start = 0; start < tq; start += chunk) {
    const qc = op.slice(q, 1, start, Math.min(tq, start + chunk)); // [B, Tc, h*d]
    outs.push(attentionRows(qc, kh, vh, heads, mask));
  }
  return op.concat(outs, 1);
}

/** Attention of a run of query rows against all keys: q [B, Tc, h*d] -> [B, Tc, h*d]. */
function attentionRows(q: Node, kh: Node, vh: Node, heads: number, mask: Node | null): Node {
  const [b, tc, inner] = q.shape;
  const d = inner / heads;
  const qh = op.transpose(op.reshape(q, [b, tc, heads, d]), [0, 2, 1, 3]); // [B, h, Tc, d]
  let scores = op.mul(op.matmul(qh, kh), scalarLike(q, 1 / Math.sqrt(d))); // [B, h, Tc, Tk]
  if (mask) scores = op.add(scores, mask);
  // Softmax in float32 keeps fp16 graphs from overflowing on large logits.
  const probs = op.cast(op.softmax(op.cast(scores, 'float32'), -1), q.dtype);
  const out = op.matmul(probs, vh); // [B, h, Tc, d]
  return op.reshape(op.transpose(out, [0, 2, 1, 3]), [b, tc, inner]);
}

/** Nearest-neighbour 2x upsampling of x [B, C, H, W], as broadcast + reshape (no Resize op needed). */
export function upsampleNearest2x(x: Node): Node {
  const [b, c, h, w] = x.shape;
  const wide = op.expand(op.reshape(x, [b, c, h, 1, w, 1]), [b, c, h, 2, w, 2]);
  return op.reshape(wide, [b, c, h * 2, w * 2]);
}
