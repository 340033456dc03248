// What every training recipe builds: the forward graph of one denoising step with its epsilon-MSE loss, and
// the trainable parameters as float32 graph inputs (the model builders read them through Weights' `replaced`
// map or a TrainableLora instead of the user's file). The train step (train-step.ts) adds the backward pass
// and the AdamW update to the same graph.
//
// Per-step data inputs, shared by all recipes: `x0` [B, 4, h, w] clean latents, `noise` [B, 4, h, w],
// `timestep` [B] (float32 step index 0..999), `alpha_bar` [B] (the schedule's alphas_cumprod at those steps),
// `context` [B, T, D]; plus the recipe's condition (`hint` for ControlNet, `latent` for CtrLoRA).

import type { TensorFile } from '../../../formats/tensor-file.ts';
import type { DataType } from '../../graph/dtype.ts';
import { type Graph, GraphError, type Node, topologicalOrder } from '../../graph/node.ts';
import * as op from '../../graph/ops.ts';
import { unet } from '../../models/unet.ts';
import type { UnetConfig } from '../../models/unet-config.ts';
import { Weights } from '../../models/weights.ts';

export interface TrainableParam {
  /** Name in the recipe's file layout (kohya key, diffusers name, CtrLoRA release key). */
  name: string;
  /** float32 graph input named `param:<name>`. */
  input: Node;
}

/**
 * A recipe's forward graph. Ownership: the graph and its nodes belong to this object; the train step adds
 * nodes to the same graph, so one TrainingGraph serves one train step.
 */
export interface TrainingGraph {
  graph: Graph;
  loss: Node; // [] float32
  params: TrainableParam[];
  /** Block outputs the backward keeps when it recomputes activations (gradient checkpointing). */
  checkpoints: Node[];
  /** Starting values for every parameter (fresh LoRA factors, or the file's values), by parameter name. */
  initial: () => Map<string, Float32Array>;
  compute: DataType;
}

export const paramInputName = (name: string) => `param:${name}`;

export function paramInput(g: Graph, name: string, shape: readonly number[]): TrainableParam {
  return { name, input: g.input(paramInputName(name), 'float32', shape) };
}

export interface DiffusionShape {
  batch: number;
  height: number; // latent size
  width: number;
  tokens: number;
  contextDim: number;
  latentChannels?: number;
}

export interface DiffusionInputs {
  x0: Node;
  noise: Node;
  timestep: Node;
  alphaBar: Node;
  context: Node;
  /** x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, as diffusers' add_noise computes it. */
  noisy: Node;
}

export function diffusionInputs(g: Graph, s: DiffusionShape): DiffusionInputs {
  const latent = [s.batch, s.latentChannels ?? 4, s.height, s.width];
  const x0 = g.input('x0', 'float32', latent);
  const noise = g.input('noise', 'float32', latent);
  const timestep = g.input('timestep', 'float32', [s.batch]);
  const alphaBar = g.input('alpha_bar', 'float32', [s.batch]);
  const context = g.input('context', 'float32', [s.batch, s.tokens, s.contextDim]);
  const abar = op.reshape(alphaBar, [s.batch, 1, 1, 1]);
  const one = op.scalar(g, 1);
  const noisy = op.add(op.mul(op.unary('Sqrt', abar), x0), op.mul(op.unary('Sqrt', op.sub(one, abar)), noise)); // [B, 4, h, w]
  return { x0, noise, timestep, alphaBar, context, noisy };
}

/** mean((eps_pred - noise)^2) over every element (F.mse_loss's default reduction). */
export function epsilonMse(eps: Node, noise: Node): Node {
  const d = op.sub(op.cast(eps, 'float32'), noise);
  return op.reduce('ReduceMean', op.mul(d, d), [...d.shape.keys()], false); // []
}

/** Values of `keys` read from a file as float32 (initial values of trainable weights). */
export function readInitial(read: (key: string) => Float32Array, keys: Iterable<[name: string, key: string]>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, key] of keys) out.set(name, Float32Array.from(read(key)));
  return out;
}

export function checkShape(what: string, n: Node, shape: readonly number[]): void {
  if (n.rank !== shape.length || n.shape.some((d, i) => d !== shape[i])) throw new GraphError(`${what}: expected [${shape}], got [${n.shape}]`);
}

/** The inputs of the Conv nodes of `loss`'s graph that read `weights` (ControlNet zero convs read block outputs). */
export function convInputsReading(loss: Node, weights: ReadonlySet<Node>): Node[] {
  return topologicalOrder([loss])
    .filter((n) => n.op === 'Conv' && weights.has(n.inputs[1]))
    .map((n) => n.inputs[0]);
}

/**
 * The loss of a control recipe (control-lora.ts, ctrlora-condition.ts): the frozen UNet of `checkpoint` run with
 * the trained control's `residuals` at weight 1, as in inference. Its checkpoints are the UNet's block outputs
 * and the control's block outputs that its zero convolutions read (found through the zero convs' weights among
 * `replaced`, the trained inputs by original-layout ControlNet key).
 */
export function controlledUnetLoss(
  g: Graph,
  checkpoint: TensorFile,
  ucfg: UnetConfig,
  compute: DataType,
  data: DiffusionInputs,
  residuals: Node[],
  replaced: ReadonlyMap<string, Node>,
): { loss: Node; checkpoints: Node[] } {
  const checkpoints: Node[] = [];
  const wu = new Weights(g, checkpoint, ucfg.prefix, compute);
  const eps = unet(wu, ucfg, { sample: data.noisy, timestep: data.timestep, context: data.context, control: residuals, onBlockOutput: (h) => checkpoints.push(h) });
  const loss = epsilonMse(eps, data.noise);
  const zeroWeights = new Set([...replaced].filter(([k]) => /^(zero_convs\.\d+\.0|middle_block_out\.0)\.weight$/.test(k)).map(([, n]) => op.cast(n, compute)));
  checkpoints.push(...convInputsReading(loss, zeroWeights));
  return { loss, checkpoints };
}
