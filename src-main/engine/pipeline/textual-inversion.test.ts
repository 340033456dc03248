// Textual-inversion embeddings end to end on the tiny checkpoint: the four file layouts read alike, an embedding
// whose vectors copy the token-embedding rows of some words encodes (and generates) exactly as those words do,
// and a random embedding matches an independent float64 CLIP forward written out below. Files are built here
// from the checkpoint's own weights.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { encodePromptPair } from './conditioning.ts';
import { generate } from './generate.ts';
import { ModelRuntime } from './model-runtime.ts';
import { readTextualInversion, type TextualInversion } from './textual-inversion.ts';
import { tokenRows, writeA1111Pt, writeA1111Safetensors, writeDiffusersBin, writeDiffusersSafetensors } from './textual-inversion.test-support.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-ti-'));
const runtime = new ModelRuntime('float32', ['cpu']);
after(async () => {
  await runtime.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const checkpoint = fixture('tiny-sd15.safetensors');
const tokenizer = getClipTokenizer();
const WORDS = 'a photo of a cat';
const wordIds = tokenizer.encode(WORDS);
const { vectors: wordVectors, width } = tokenRows(fixtureFile('tiny-sd15.safetensors'), wordIds);

// the same vectors in every layout, each file named (by its stem) differently
const files = {
  a1111pt: path.join(dir, 'catphrasept.pt'),
  a1111st: path.join(dir, 'catphrasest.safetensors'),
  diffbin: path.join(dir, 'catphrasebin.bin'),
  diffst: path.join(dir, 'catphrasedst.safetensors'),
};
writeA1111Pt(files.a1111pt, wordVectors, wordIds.length, width, 'catphrasept');
writeA1111Safetensors(files.a1111st, wordVectors, wordIds.length, width);
writeDiffusersBin(files.diffbin, wordVectors, wordIds.length, width, '<cat-phrase>');
writeDiffusersSafetensors(files.diffst, wordVectors, wordIds.length, width, '<cat-phrase>');

async function cond(prompt: string, negative: string, embeddings: TextualInversion[] = []) {
  return encodePromptPair(runtime, checkpoint, prompt, negative, { clipSkip: 1, loras: [], embeddings });
}

test('the runtime text encoder, built with its embedding inputs and none set, still reproduces the CLIP goldens', async () => {
  const ids = golden('text.ids'); // [2, 77]
  const asInt = Int32Array.from(ids.data);
  for (const [clipSkip, name] of [[1, 'text.hidden'], [2, 'text.hidden_skip2']] as const) {
    const hidden = await runtime.encodeText(checkpoint, asInt, 2, clipSkip, []);
    const e = relativeError(hidden.data, golden(name).data);
    assert.ok(e < MODULE_TOLERANCE, `${name}: ${e}`);
  }
});

test('the four embedding layouts read as the same vectors, named by the file stem, with A1111s TI hash', () => {
  for (const [layout, file] of Object.entries(files)) {
    const e = readTextualInversion(file);
    assert.equal(e.name, path.parse(file).name, layout);
    assert.deepEqual([e.count, e.width], [wordIds.length, width], layout);
    assert.deepEqual(e.vectors, wordVectors, layout);
    assert.equal(e.shortHash, createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12), layout);
  }
  const one = path.join(dir, 'onevector.bin');
  writeDiffusersBin(one, wordVectors.subarray(0, width), 1, width, '<one>');
  assert.deepEqual([readTextualInversion(one).count, readTextualInversion(one).vectors.length], [1, width]);
});

test('an embedding copying the token rows of words encodes exactly as the words, weighted or not, in either prompt', async () => {
  const plain = await cond(`${WORDS} on a table, (${WORDS}:1.2), [blue]`, `ugly, ${WORDS}`);
  for (const [layout, file] of Object.entries(files)) {
    const e = readTextualInversion(file);
    // names match through the tokenizer, so case does not matter (as in A1111)
    const viaEmbedding = await cond(`${e.name} on a table, (${e.name.toUpperCase()}:1.2), [blue]`, `ugly, ${e.name}`, [e]);
    assert.deepEqual(viaEmbedding.cond.data, plain.cond.data, `${layout}: prompt`);
    assert.deepEqual(viaEmbedding.uncond.data, plain.uncond.data, `${layout}: negative prompt`);
    assert.deepEqual(viaEmbedding.embeddingsUsed.map((u) => u.name), [e.name]);
  }
});

test('generate with an embedding gives the same latents and image as with the words', async () => {
  const e = readTextualInversion(files.a1111pt);
  const base = { checkpoint, width: 64, height: 64, steps: 3, cfg: 7.5, seed: 7, sampler: 'ddim' as const, clipSkip: 1 as const, controls: [], loras: [] };
  const words = await generate(runtime, { ...base, prompt: `${WORDS}, sunset`, negative: 'blurry' });
  const viaEmbedding = await generate(runtime, { ...base, prompt: `${e.name}, sunset`, negative: 'blurry', embeddings: [e] });
  assert.deepEqual(viaEmbedding.latents.data, words.latents.data);
  assert.deepEqual(viaEmbedding.image.data, words.image.data);
  assert.deepEqual(viaEmbedding.embeddingsUsed.map((u) => u.name), ['catphrasept']);
  assert.deepEqual(words.embeddingsUsed, []);
});

// ---- an independent CLIP text forward (float64, plain loops) ------------------------------------------

function clipReference(inputEmbeddings: Float64Array, t: number): Float64Array {
  const f = fixtureFile('tiny-sd15.safetensors');
  const p = 'cond_stage_model.transformer.text_model.';
  const w = (k: string) => Float64Array.from(f.readFloat32(p + k));
  const d = width;
  const heads = 4; // the tiny model's head count (fixture README)
  const hd = d / heads;
  const pos = w('embeddings.position_embedding.weight');
  let x = inputEmbeddings.map((v, i) => v + pos[i]);
  const layerNorm = (h: Float64Array, g: Float64Array, b: Float64Array) => {
    const out = new Float64Array(h.length);
    for (let r = 0; r < t; r++) {
      let mean = 0;
      for (let c = 0; c < d; c++) mean += h[r * d + c] / d;
      let v = 0;
      for (let c = 0; c < d; c++) v += (h[r * d + c] - mean) ** 2 / d;
      for (let c = 0; c < d; c++) out[r * d + c] = ((h[r * d + c] - mean) / Math.sqrt(v + 1e-5)) * g[c] + b[c];
    }
    return out;
  };
  const linear = (h: Float64Array, W: Float64Array, b: Float64Array, outW: number, inW: number) => {
    const out = new Float64Array(t * outW);
    for (let r = 0; r < t; r++) for (let o = 0; o < outW; o++) {
      let s = b[o];
      for (let i = 0; i < inW; i++) s += h[r * inW + i] * W[o * inW + i];
      out[r * outW + o] = s;
    }
    return out;
  };
  let layers = 0;
  while (f.tensors.has(`${p}encoder.layers.${layers}.mlp.fc1.weight`)) layers++;
  for (let l = 0; l < layers; l++) {
    const L = (k: string) => w(`encoder.layers.${l}.${k}`);
    const h = layerNorm(x, L('layer_norm1.weight'), L('layer_norm1.bias'));
    const q = linear(h, L('self_attn.q_proj.weight'), L('self_attn.q_proj.bias'), d, d);
    const k = linear(h, L('self_attn.k_proj.weight'), L('self_attn.k_proj.bias'), d, d);
    const v = linear(h, L('self_attn.v_proj.weight'), L('self_attn.v_proj.bias'), d, d);
    const attn = new Float64Array(t * d);
    for (let hh = 0; hh < heads; hh++) for (let i = 0; i < t; i++) {
      const scores: number[] = [];
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < hd; c++) s += q[i * d + hh * hd + c] * k[j * d + hh * hd + c];
        scores.push(s / Math.sqrt(hd));
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) for (let c = 0; c < hd; c++) attn[i * d + hh * hd + c] += (e[j] / z) * v[j * d + hh * hd + c];
    }
    const o = linear(attn, L('self_attn.out_proj.weight'), L('self_attn.out_proj.bias'), d, d);
    x = x.map((val, i) => val + o[i]);
    const m = layerNorm(x, L('layer_norm2.weight'), L('layer_norm2.bias'));
    const mlpW = f.tensors.get(`${p}encoder.layers.${l}.mlp.fc1.weight`)!.shape[0];
    const a = linear(m, L('mlp.fc1.weight'), L('mlp.fc1.bias'), mlpW, d).map((u) => u / (1 + Math.exp(-1.702 * u)));
    const y = linear(a, L('mlp.fc2.weight'), L('mlp.fc2.bias'), d, mlpW);
    x = x.map((val, i) => val + y[i]);
  }
  return layerNorm(x, w('final_layer_norm.weight'), w('final_layer_norm.bias'));
}

test('the independent float64 CLIP forward reproduces the text.hidden golden (so it can judge embeddings)', () => {
  const ids = golden('text.ids').data.subarray(0, 77); // prompt 0
  const table = fixtureFile('tiny-sd15.safetensors').readFloat32('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight');
  const input = new Float64Array(77 * width);
  ids.forEach((id, r) => input.set(table.subarray(id * width, (id + 1) * width), r * width));
  const hidden = clipReference(input, 77);
  const e = relativeError(Float32Array.from(hidden), golden('text.hidden').data.subarray(0, 77 * width));
  assert.ok(e < MODULE_TOLERANCE, `reference CLIP vs text.hidden: ${e}`);
});

test('a random 3-vector embedding matches the independent CLIP forward with its vectors after BOS and "hello"', async () => {
  let s = 12345;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const vectors = Float32Array.from({ length: 3 * width }, () => random() * 0.05);
  const file = path.join(dir, 'rndemb.safetensors');
  writeA1111Safetensors(file, vectors, 3, width);
  const e = readTextualInversion(file);
  const result = await cond('hello rndemb world', '', [e]);

  const hello = tokenizer.encode('hello');
  const world = tokenizer.encode('world');
  const table = fixtureFile('tiny-sd15.safetensors').readFloat32('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight');
  const input = new Float64Array(77 * width);
  const row = (r: number, id: number) => input.set(table.subarray(id * width, (id + 1) * width), r * width);
  const ids = [49406, ...hello, -1, -1, -1, ...world];
  while (ids.length < 77) ids.push(49407);
  ids.forEach((id, r) => (id >= 0 ? row(r, id) : input.set(vectors.subarray((r - 1 - hello.length) * width, (r - hello.length) * width), r * width)));
  const expected = clipReference(input, 77);
  const err = relativeError(result.cond.data, Float32Array.from(expected));
  assert.ok(err < MODULE_TOLERANCE, `embedding vs reference CLIP: ${err}`);
});

test('an SD2 (1024) or SDXL (1280) embedding is named and left out; its name stays plain words', async () => {
  const sd2 = path.join(dir, 'sdtwoemb.safetensors');
  const sdxl = path.join(dir, 'sdxlemb.pt');
  writeA1111Safetensors(sd2, new Float32Array(2 * 1024), 2, 1024);
  writeA1111Pt(sdxl, new Float32Array(1280), 1, 1280, 'sdxlemb');
  const embeddings = [readTextualInversion(sd2), readTextualInversion(sdxl)];
  const result = await cond('sdtwoemb, sdxlemb, a house', '', embeddings);
  const plain = await cond('sdtwoemb, sdxlemb, a house', '');
  assert.deepEqual(result.cond.data, plain.cond.data);
  assert.deepEqual(result.embeddingsUsed, []);
  assert.equal(result.embeddingMessages.length, 2);
  assert.match(result.embeddingMessages[0], /sdtwoemb was left out: its vectors are 1024 wide \(SD2.*text encoder is 32 wide/);
  assert.match(result.embeddingMessages[1], /sdxlemb was left out: its vectors are 1280 wide \(SDXL/);
  // an embedding the prompts do not name is left out without a word
  assert.deepEqual((await cond('a house', 'sdxlemb', embeddings)).embeddingMessages.map((m) => m.split(' ')[1]), ['sdxlemb']);
  assert.deepEqual((await cond('a house', '', embeddings)).embeddingMessages, []);
});

test('files that are not embeddings are refused with the reason', () => {
  const two = path.join(dir, 'twoterms.safetensors');
  fs.copyFileSync(fixture('tiny-lora.safetensors'), two);
  assert.throws(() => readTextualInversion(two), /Embedding twoterms .* holds \d+ tensors and no string_to_param or emb_params/);
  const broken = path.join(dir, 'broken.pt');
  fs.writeFileSync(broken, 'not a torch file');
  assert.throws(() => readTextualInversion(broken), /Embedding broken .*cannot be read/);
  const xl = path.join(dir, 'xlpair.safetensors');
  // a pair of clip_l / clip_g tensors is SDXL's format
  writeSafetensors(xl, [
    { name: 'clip_l', dtype: 'F32', shape: [1, 768], data: new Float32Array(768) },
    { name: 'clip_g', dtype: 'F32', shape: [1, 1280], data: new Float32Array(1280) },
  ]);
  assert.throws(() => readTextualInversion(xl), /is an SDXL embedding/);
});
