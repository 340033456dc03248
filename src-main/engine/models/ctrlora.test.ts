import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import type { TensorData } from '../runtime/session.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError, runOnCpu, unetFeeds } from '../goldens.test-support.ts';
import { buildCtrLoraGraph, buildCtrLoraMixGraph, detectCtrLoraCondition } from './ctrlora.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from './unet.ts';
import { buildVaeEncoderGraph } from './vae.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const one = (v: number) => f32([1], Float32Array.of(v));
const control = (name: string) => golden(name, 'control.safetensors');
const opts = { batch: 2, height: 32, width: 32, tokens: 77, contextDim: 32 };
const NAMES = CONTROL_INPUT_NAMES(13);

function opened(name: string): TensorFile {
  return openTensorFile(fixture(name));
}

const { timestep, context } = unetFeeds();
const latentA = () => f32([2, 4, 32, 32], control('ctrlora.latent_a').data);

async function encodeHint(hint: Float32Array): Promise<Float32Array> {
  const { outputs } = buildVaeEncoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 256, width: 256 });
  return (await runOnCpu({ latent: outputs.latent }, { image: f32([2, 3, 256, 256], hint) })).latent;
}

async function unetEps(residuals: Float32Array[]): Promise<Float32Array> {
  const { eps, graph } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { ...opts, withControl: true });
  const feeds: Record<string, TensorData> = { ...unetFeeds() };
  for (const input of graph.inputs) {
    const i = NAMES.indexOf(String(input.attrs.name));
    if (i >= 0) feeds[NAMES[i]] = f32(input.shape, residuals[i]);
  }
  return (await runOnCpu({ eps }, feeds)).eps;
}

test('condition files: rank, LoRA pairs on linear layers only, zero convs and norms', () => {
  for (const name of ['tiny-ctrlora-edge.ckpt', 'tiny-ctrlora-edge.safetensors', 'tiny-ctrlora-blob.ckpt']) {
    const file = opened(name);
    const c = detectCtrLoraCondition(file);
    assert.equal(c.prefix, 'control_model.');
    assert.equal(c.rank, 4);
    assert.equal(c.convModules, 0, 'the release format puts LoRA pairs on nn.Linear only');
    // time_embed (2) + 10 ResBlock emb_layers + 7 transformers x 10 linears (q, k, v, out twice; GEGLU; ff out)
    assert.equal(c.modules.size, 2 + 10 + 7 * 10, `${name}: ${c.modules.size} LoRA pairs`);
    assert.equal(c.zeroConvs, 13);
    file.close();
  }
  const [base, cn, edge] = [opened('tiny-ctrlora-base.ckpt'), opened('tiny-controlnet-b.safetensors'), opened('tiny-ctrlora-edge.ckpt')];
  assert.throws(() => detectCtrLoraCondition(cn), /not a CtrLoRA condition/);
  assert.throws(() => detectCtrLoraCondition(base), /is a CtrLoRA Base ControlNet/);
  assert.throws(() => buildCtrLoraGraph(cn, edge, opts), /hint encoder/);
  for (const f of [base, cn, edge]) f.close();
});

test('the condition latent is the SD VAE encoder on the [0, 1] image (ctrlora.latent_a)', async (t) => {
  const latent = await encodeHint(control('ctrlora.hint_a').data);
  const err = relativeError(latent, control('ctrlora.latent_a').data);
  t.diagnostic(`latent_a error ${err.toExponential(2)}`);
  assert.ok(err < MODULE_TOLERANCE, `latent_a error ${err}`);
});

// Errors grow with depth (1e-7 at output 0, ~7e-5 at the middle block): the same growth a 5e-7 perturbation of the
// latent shows in this tiny random base, and a transformer GroupNorm eps of 1e-5 instead of 1e-6 gives 2e-3.
for (const ext of ['ckpt', 'safetensors']) {
  test(`Base ControlNet + edge LoRA (.${ext}) reproduce ctrlora.edge.out.0..12 from the latent alone`, async (t) => {
    const base = opened(`tiny-ctrlora-base.${ext}`);
    const edge = opened(`tiny-ctrlora-edge.${ext}`);
    const { outputs, graph } = buildCtrLoraGraph(base, edge, opts);
    assert.deepEqual(graph.inputs.map((n) => n.attrs.name).sort(), ['context', 'latent', 'strength', 'timestep', 'weight']);
    const out = await runOnCpu(outputs, { timestep, context, latent: latentA(), strength: one(1), weight: one(1) });
    const errs = NAMES.map((name, i) => relativeError(out[name], control(`ctrlora.edge.out.${i}`).data));
    t.diagnostic(`edge.out errors ${errs.map((e) => e.toExponential(1)).join(" ")}`);
    errs.forEach((err, i) => assert.ok(err < MODULE_TOLERANCE, `${NAMES[i]} error ${err}`));
    // strength and weight are inputs: 0.5 x 0.6 scales every output by 0.3, without a rebuild
    const scaled = await runOnCpu({ control_5: outputs.control_5 }, { timestep, context, latent: latentA(), strength: one(0.5), weight: one(0.6) });
    const ref = control('ctrlora.edge.out.5').data.map((v) => v * 0.3);
    assert.ok(relativeError(scaled.control_5, ref) < MODULE_TOLERANCE);
    base.close();
    edge.close();
  });
}

test('UNet + edge at weight 1 reproduces ctrlora.edge.eps (ckpt) from the [0, 1] hint through the VAE', async (t) => {
  const latent = await encodeHint(control('ctrlora.hint_a').data);
  const base = opened('tiny-ctrlora-base.ckpt');
  const edge = opened('tiny-ctrlora-edge.ckpt');
  const { outputs } = buildCtrLoraGraph(base, edge, opts);
  const out = await runOnCpu(outputs, { timestep, context, latent: f32([2, 4, 32, 32], latent), strength: one(1), weight: one(1) });
  const eps = await unetEps(NAMES.map((n) => out[n]));
  const err = relativeError(eps, control('ctrlora.edge.eps').data);
  t.diagnostic(`edge.eps error ${err.toExponential(2)}`);
  assert.ok(err < MODULE_TOLERANCE, `edge.eps error ${err}`);
  base.close();
  edge.close();
});

for (const ext of ['ckpt', 'safetensors']) {
  test(`edge 0.6 + blob 0.4 summed in one graph reproduces ctrlora.mix.eps (base and edge .${ext})`, async (t) => {
    const [latA, latB] = [await encodeHint(control('ctrlora.hint_a').data), await encodeHint(control('ctrlora.hint_b').data)];
    const base = opened(`tiny-ctrlora-base.${ext}`);
    const edge = opened(`tiny-ctrlora-edge.${ext}`);
    const blob = opened('tiny-ctrlora-blob.ckpt');
    const { outputs } = buildCtrLoraMixGraph(base, [edge, blob], opts);
    const feeds = { timestep, context, strength: one(1), latent_0: f32([2, 4, 32, 32], latA), latent_1: f32([2, 4, 32, 32], latB) };
    const out = await runOnCpu(outputs, { ...feeds, weight_0: one(0.6), weight_1: one(0.4) });
    const eps = await unetEps(NAMES.map((n) => out[n]));
    const err = relativeError(eps, control('ctrlora.mix.eps').data);
    t.diagnostic(`mix.eps error ${err.toExponential(2)}`);
    assert.ok(err < MODULE_TOLERANCE, `mix.eps error ${err}`);
    // weight 0 for blob gives edge alone at 0.6: conditions are independent passes
    const edgeOnly = await runOnCpu({ control_0: outputs.control_0 }, { ...feeds, weight_0: one(1), weight_1: one(0) });
    assert.ok(relativeError(edgeOnly.control_0, control('ctrlora.edge.out.0').data) < 1e-3);
    for (const f of [base, edge, blob]) f.close();
  });
}

// This tiny random base amplifies rounding strongly (a 5e-7 relative change of the latent moves the deepest
// outputs by 2e-5), so fp16 residuals drift by a few 1e-2 at depth; what the sampler sees, eps, stays within 1e-2.
test('float16 compute: the UNet fed fp16 CtrLoRA residuals stays within 1e-2 of ctrlora.edge.eps', async (t) => {
  const base = opened('tiny-ctrlora-base.safetensors');
  const edge = opened('tiny-ctrlora-edge.safetensors');
  const { outputs } = buildCtrLoraGraph(base, edge, { ...opts, compute: 'float16' });
  const out = await runOnCpu(outputs, { timestep, context, latent: latentA(), strength: one(1), weight: one(1) });
  const errs = NAMES.map((name, i) => relativeError(out[name], control(`ctrlora.edge.out.${i}`).data));
  t.diagnostic(`fp16 edge.out errors ${errs.map((e) => e.toExponential(1)).join(' ')}`);
  const err = relativeError(await unetEps(NAMES.map((n) => out[n])), control('ctrlora.edge.eps').data);
  t.diagnostic(`fp16 residuals -> edge.eps error ${err.toExponential(2)}`);
  assert.ok(err < 1e-2, `fp16 edge.eps error ${err}`);
  base.close();
  edge.close();
});
