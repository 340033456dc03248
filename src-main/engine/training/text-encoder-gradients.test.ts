// The text encoder's path (Gather of token embeddings, causal-mask attention, QuickGELU, LayerNorm) against
// finite differences: text-encoder training (textual inversion, te LoRAs) has no goldens of its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradient } from '../graph/grad-rules-check.test-support.ts';
import type { Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { clipTextEncoder, detectClipText } from '../models/clip-text.ts';
import { Weights } from '../models/weights.ts';
import { fixtureFile } from '../goldens.test-support.ts';
import { TrainableLora } from './trainable-lora.ts';

test('CLIP text encoder: gradients for the token embedding table and LoRAs on q_proj and fc1 match finite differences', async (t) => {
  const file = fixtureFile('tiny-sd15.safetensors');
  const cfg = detectClipText(file);
  const ids = [49406, 320, 1125, 539, 320, 2368, 49407, 49407];
  const width = cfg.width;
  const f = (table: Node, qDown: Node, qUp: Node, fDown: Node, fUp: Node, tokenIds: Node) => {
    const layer = `${cfg.prefix}encoder.layers.0`;
    const lora = new TrainableLora('float64', new Map([
      [`${layer}.self_attn.q_proj`, { down: qDown, up: qUp, scale: 0.5 }],
      [`${layer}.mlp.fc1`, { down: fDown, up: fUp, scale: 0.5 }],
    ]));
    const replaced = new Map([[`${cfg.prefix}embeddings.token_embedding.weight`, table]]);
    const w = new Weights(table.graph, file, cfg.prefix, 'float64', lora, replaced);
    return op.cast(clipTextEncoder(w, cfg, tokenIds).hidden, 'float64');
  };
  // Rows the ids pick (the end token twice: its gradient sums two positions), plus an unused row (zero).
  const rows = [320, 1125, 49407, 7];
  const pick = rows.flatMap((r) => [r * width, r * width + 5, r * width + width - 1]);
  const { error, checked } = await checkGradient(
    f,
    [
      { shape: [cfg.vocab, width], pick },
      { shape: [4, width] },
      { shape: [width, 4] },
      { shape: [4, width] },
      { shape: [cfg.mlpWidth, 4] },
      { shape: [1, ids.length], dtype: 'int64', fixed: true, values: ids },
    ],
    { dtype: 'float64', step: 5e-3, perInput: 12 },
  );
  // LayerNorm statistics and the softmax run in float32 inside the float64 graph: the error is 6e-4 at step 1e-3
  // (rounding), 8e-5 at 3e-3..1e-2, 7e-4 at 3e-2 (truncation), so no rule is off.
  t.diagnostic(`text encoder finite-difference error ${error.toExponential(2)} over ${checked} elements`);
  assert.ok(error < 5e-4, `error ${error}`);
});
