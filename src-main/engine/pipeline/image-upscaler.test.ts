// The ONNX image upscaler against a direct computation: a tiny conv + PixelShuffle(2) model built with the
// project's graph builder, run by onnxruntime in tiles, must give what the convolution and the shuffle give
// when written out by hand over the whole picture. Files that are image-shaped but no upscaler are named.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readOnnxSignature } from '../../formats/onnx-reader.ts';
import { lanczosResize, type Image8 } from '../../generation/image-resize.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';
import { ImageUpscaler, upscalerSignatureProblem } from './image-upscaler.ts';
import { sideBySideGraph, tinyUpscalerGraph, tinyUpscalerWeights, writeGraph } from './tiny-upscaler.test-support.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-upscaler-'));
const sessions: ModelSession[] = [];
after(async () => {
  for (const s of sessions) await s.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** conv 3x3 (zero padding) then PixelShuffle(s), written out; 8-bit as the upscaler answers (clamped, rounded). */
function direct(img: Image8, scale: number): Image8 {
  const { weight, bias } = tinyUpscalerWeights(scale);
  const { width: W, height: H } = img;
  const at = (c: number, y: number, x: number) => (y < 0 || x < 0 || y >= H || x >= W ? 0 : img.data[(y * W + x) * 3 + c] / 255);
  const out = new Uint8Array(W * scale * H * scale * 3);
  for (let c = 0; c < 3; c++) {
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const co = c * scale * scale + dy * scale + dx;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            let v = bias[co];
            for (let ci = 0; ci < 3; ci++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) v += weight[((co * 3 + ci) * 3 + ky) * 3 + kx] * at(ci, y + ky - 1, x + kx - 1);
            out[((y * scale + dy) * W * scale + x * scale + dx) * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    }
  }
  return { width: W * scale, height: H * scale, channels: 3, data: out };
}

function picture(width: number, height: number): Image8 {
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + Math.floor(i / 7) * 11) % 256);
  return { width, height, channels: 3, data };
}

function assertClose(got: Image8, want: Image8, what: string): void {
  assert.deepEqual([got.width, got.height], [want.width, want.height], what);
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
  assert.ok(worst <= 1, `${what}: off by ${worst} levels`); // float32 vs float64 sums may round the other way
}

async function fromFile(file: string): Promise<{ sig: ReturnType<typeof readOnnxSignature>; session: ModelSession }> {
  const session = await ModelSession.fromFile(file, { providers: ['cpu'] });
  sessions.push(session);
  return { sig: readOnnxSignature(file), session };
}

test('a fixed-size upscaler file: scale 2 found by the probe, tiles (with zero margins) equal the whole-picture computation', async () => {
  const { sig, session } = await fromFile(writeGraph(path.join(dir, 'fixed.onnx'), tinyUpscalerGraph(24, 24)));
  assert.equal(upscalerSignatureProblem(sig), '');
  const up = await ImageUpscaler.open('fixed.onnx', sig, session);
  assert.equal(up.scale, 2);
  const img = picture(40, 28); // 24-pixel windows with a 6-pixel margin: 4 x 3 tiles, the last ones cut
  assertClose(await up.upscaleOnce(img), direct(img, 2), 'fixed-size tiles');
});

test('a free-size upscaler: the whole picture in one run, or in tiles when larger than a tile; scale 3 found', async () => {
  // the builder's graphs have static shapes, so a free-size model is one graph per size asked for
  const runner = {
    async run(feeds: Record<string, TensorData>) {
      const [, , h, w] = feeds.image.shape;
      const s = await ModelSession.create(emitOnnx(tinyUpscalerGraph(h, w, 3)), { providers: ['cpu'] });
      try {
        return await s.run(feeds);
      } finally {
        await s.release();
      }
    },
  };
  const fixed = readOnnxSignature(writeGraph(path.join(dir, 'free.onnx'), tinyUpscalerGraph(8, 8, 3)));
  const free = { ...fixed, inputs: fixed.inputs.map((v) => ({ ...v, dims: [1, 3, -1, -1] })), outputs: fixed.outputs.map((v) => ({ ...v, dims: [1, 3, -1, -1] })) };
  const up = await ImageUpscaler.open('free.onnx', free, runner);
  assert.equal(up.scale, 3);
  const img = picture(37, 21);
  const want = direct(img, 3);
  assertClose(await up.upscaleOnce(img), want, 'one run');
  assertClose(await up.upscaleOnce(img, { tile: 10 }), want, 'tiles of 10 with a 16-pixel margin');
});

test("upscaleTo runs the model until the picture covers the target (A1111's Upscaler.upscale), then Lanczos to the size", async () => {
  const { sig, session } = await fromFile(writeGraph(path.join(dir, 'fixed-b.onnx'), tinyUpscalerGraph(24, 24)));
  const up = await ImageUpscaler.open('fixed-b.onnx', sig, session);
  const img = picture(20, 14);
  const got = await up.upscaleTo(img, 70, 49); // 2x is 40x28, short of 70x49: a second run gives 80x56
  const twice = await up.upscaleOnce(await up.upscaleOnce(img));
  assert.deepEqual([twice.width, twice.height], [80, 56]);
  assert.deepEqual(got, lanczosResize(twice, 70, 49));
  assertClose(await up.upscaleTo(img, 40, 28), direct(img, 2), 'exact 2x: no resize');
});

test('image-shaped files that are no upscaler are named before a picture is spent on them', async () => {
  const side = await fromFile(writeGraph(path.join(dir, 'side.onnx'), sideBySideGraph(16, 16)));
  await assert.rejects(ImageUpscaler.open('side.onnx', side.sig, side.session), (e: Error & { kind?: string }) => {
    return e.kind === 'wrong-model' && /side\.onnx is not an image upscaler: its output 16x32 is no whole multiple of its input 16x16/.test(e.message);
  });
  // with free dimensions only the probe run can tell
  const freeSide = { ...side.sig, inputs: side.sig.inputs.map((v) => ({ ...v, dims: [1, 3, -1, -1] })), outputs: side.sig.outputs.map((v) => ({ ...v, dims: [1, 3, -1, -1] })) };
  const probeRunner = {
    async run(feeds: Record<string, TensorData>) {
      const s = await ModelSession.create(emitOnnx(sideBySideGraph(feeds.image.shape[2], feeds.image.shape[3])), { providers: ['cpu'] });
      try {
        return await s.run(feeds);
      } finally {
        await s.release();
      }
    },
  };
  await assert.rejects(ImageUpscaler.open('side.onnx', freeSide, probeRunner), (e: Error & { kind?: string }) => {
    return e.kind === 'wrong-model' && /side\.onnx is not an image upscaler: it answers \[1, 3, 32, 64\] for a \[1, 3, 32, 32\] picture/.test(e.message);
  });
  const sig = readOnnxSignature(path.join(dir, 'side.onnx'));
  const grey = { ...sig, outputs: sig.outputs.map((v) => ({ ...v, dims: [1, 1, 16, 16] })) };
  assert.match(upscalerSignatureProblem(grey), /gives one image \[1, 3, sH, sW\]; this model gives out float32 \[1,1,16,16\]/);
  const two = { ...sig, inputs: [...sig.inputs, { ...sig.inputs[0], name: 'mask' }] };
  assert.match(upscalerSignatureProblem(two), /takes one float image/);
});
