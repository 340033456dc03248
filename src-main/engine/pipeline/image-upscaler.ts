// An ESRGAN-family image upscaler the user added to the library as an `.onnx` file: one float image input
// [1, 3, H, W] with RGB in 0..1 and one output [1, 3, sH, sW]. The signature only says "image in, image out";
// the scale s comes from a probe run on a small picture (the output's size over the input's), so a file that
// is something else (a depth model, a classifier) is named as "not an image upscaler" before a picture is
// spent on it. Large pictures run in tiles, as A1111's ESRGAN does: each tile carries a margin of context on
// every side that is cut off again, and zeros past the picture's edge (what the model's own padding gives a
// whole picture), so tiles join without seams for any model whose receptive field fits in the margin.
// Used for hires fix the way A1111's Upscaler.upscale does: run the model (at most three times) until the
// picture covers the target, then Lanczos to the exact size (generation/image-resize.ts).

import { describeValue, type OnnxSignature, type OnnxValue } from '../../formats/onnx-reader.ts';
import { float16ToFloat32, float32ToFloat16 } from '../../formats/dtype-convert.ts';
import { lanczosResize, type Image8 } from '../../generation/image-resize.ts';
import type { TensorData } from '../runtime/session.ts';
import { GenerateError } from './generate-errors.ts';

export interface UpscalerRunner {
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
}

const FLOAT_TYPES = new Set(['float32', 'float16']);
const isRgb4d = (v: OnnxValue | undefined): v is OnnxValue => !!v && v.dims.length === 4 && (v.dims[1] === 3 || v.dims[1] === -1) && FLOAT_TYPES.has(v.dtype);

/** Why `sig` cannot be an image upscaler, or '' when its inputs and outputs fit one. */
export function upscalerSignatureProblem(sig: OnnxSignature): string {
  if (sig.inputs.length !== 1 || !isRgb4d(sig.inputs[0])) {
    return `an image upscaler takes one float image [1, 3, H, W]; this model takes ${sig.inputs.map(describeValue).join(', ') || 'nothing'}`;
  }
  if (sig.outputs.length !== 1 || !isRgb4d(sig.outputs[0])) {
    return `an image upscaler gives one image [1, 3, sH, sW]; this model gives ${sig.outputs.map(describeValue).join(', ') || 'nothing'}`;
  }
  const [, , ih, iw] = sig.inputs[0].dims;
  const [, , oh, ow] = sig.outputs[0].dims;
  if (ih > 0 && oh > 0 && (oh % ih !== 0 || oh / ih !== ow / iw)) return `its output ${oh}x${ow} is no whole multiple of its input ${ih}x${iw}`;
  return '';
}

/** Tiles of this many pixels a side (before the margin) keep memory small on large pictures (A1111: 192). */
export const DEFAULT_TILE = 192;
const MARGIN = 16;
const PROBE = 32;
const MAX_SCALE = 8;

export class ImageUpscaler {
  private constructor(
    readonly name: string,
    private readonly input: OnnxValue,
    private readonly outputName: string,
    private readonly runner: UpscalerRunner,
    /** Whole-number factor found by the probe run. */
    readonly scale: number,
    /** The model's fixed input size, or null where it takes any. */
    private readonly fixed: { width: number; height: number } | null,
  ) {}

  /** Checks the signature, then finds the scale with one run on a small grey picture. */
  static async open(name: string, sig: OnnxSignature, runner: UpscalerRunner): Promise<ImageUpscaler> {
    const problem = upscalerSignatureProblem(sig);
    if (problem) throw new GenerateError('wrong-model', `${name} is not an image upscaler: ${problem}`);
    const input = sig.inputs[0];
    const [, , fh, fw] = input.dims;
    const fixed = fh > 0 && fw > 0 ? { width: fw, height: fh } : null;
    const ph = fixed?.height ?? PROBE;
    const pw = fixed?.width ?? PROBE;
    const probe = new ImageUpscaler(name, input, sig.outputs[0].name, runner, 1, fixed);
    let out: { dims: number[]; data: Float32Array };
    try {
      out = await probe.runTile(new Float32Array(3 * ph * pw).fill(0.5), ph, pw);
    } catch (err) {
      if (err instanceof GenerateError) throw err;
      throw new GenerateError('wrong-model', `${name} is not an image upscaler: a ${pw}x${ph} picture does not run through it (${(err as Error).message})`);
    }
    const [n, c, oh, ow] = out.dims;
    const scale = oh / ph;
    if (out.dims.length !== 4 || n !== 1 || c !== 3 || !Number.isInteger(scale) || scale < 1 || scale > MAX_SCALE || ow !== pw * scale) {
      throw new GenerateError('wrong-model', `${name} is not an image upscaler: it answers [${out.dims.join(', ')}] for a [1, 3, ${ph}, ${pw}] picture (expected [1, 3, s*${ph}, s*${pw}] with s from 1 to ${MAX_SCALE})`);
    }
    return new ImageUpscaler(name, input, sig.outputs[0].name, runner, scale, fixed);
  }

  private async runTile(rgb: Float32Array, height: number, width: number): Promise<{ dims: number[]; data: Float32Array }> {
    const dims = [1, 3, height, width];
    const feed: TensorData = this.input.dtype === 'float16' ? { dtype: 'float16', shape: dims, data: float32ToFloat16(rgb) } : { dtype: 'float32', shape: dims, data: rgb };
    const result = (await this.runner.run({ [this.input.name]: feed }))[this.outputName];
    if (!result) throw new GenerateError('wrong-model', `${this.name} gave no output '${this.outputName}'`);
    const data = result.data instanceof Float32Array ? result.data : result.dtype === 'float16' ? float16ToFloat32(result.data as Uint16Array) : null;
    if (!data) throw new GenerateError('wrong-model', `${this.name}: its output is ${result.dtype}, not a float image`);
    return { dims: [...result.shape], data };
  }

  /** One run of the model over the picture (scale x larger), in tiles of `tile` pixels plus a margin of context. */
  async upscaleOnce(img: Image8, opts: { tile?: number; signal?: AbortSignal } = {}): Promise<Image8> {
    const s = this.scale;
    // a model of one fixed input size gets a margin of a quarter of it at most, so its tiles keep a core
    const fixedMargin = this.fixed ? Math.min(MARGIN, Math.floor(Math.min(this.fixed.width, this.fixed.height) / 4)) : MARGIN;
    const tileH = this.fixed ? this.fixed.height - 2 * fixedMargin : (opts.tile ?? DEFAULT_TILE);
    const tileW = this.fixed ? this.fixed.width - 2 * fixedMargin : (opts.tile ?? DEFAULT_TILE);
    const whole = !this.fixed && img.width <= tileW + 2 * MARGIN && img.height <= tileH + 2 * MARGIN;
    const margin = whole ? 0 : fixedMargin;
    const stepH = whole ? img.height : tileH;
    const stepW = whole ? img.width : tileW;
    const W = img.width * s;
    const out = new Uint8Array(W * img.height * s * 3);
    for (let y0 = 0; y0 < img.height; y0 += stepH) {
      for (let x0 = 0; x0 < img.width; x0 += stepW) {
        opts.signal?.throwIfAborted();
        const ch = Math.min(stepH, img.height - y0); // the core this tile answers for
        const cw = Math.min(stepW, img.width - x0);
        const th = this.fixed ? this.fixed.height : ch + 2 * margin;
        const tw = this.fixed ? this.fixed.width : cw + 2 * margin;
        const plane = th * tw;
        // [3, th, tw] in 0..1; zero past the picture, as the model's own zero padding sees a whole picture
        const rgb = new Float32Array(3 * plane);
        for (let y = 0; y < th; y++) {
          const sy = y0 - margin + y;
          if (sy < 0 || sy >= img.height) continue;
          for (let x = 0; x < tw; x++) {
            const sx = x0 - margin + x;
            if (sx < 0 || sx >= img.width) continue;
            for (let c = 0; c < 3; c++) rgb[c * plane + y * tw + x] = img.data[(sy * img.width + sx) * 3 + c] / 255;
          }
        }
        const res = await this.runTile(rgb, th, tw);
        if (res.dims[2] !== th * s || res.dims[3] !== tw * s) throw new GenerateError('wrong-model', `${this.name}: a ${tw}x${th} tile came back [${res.dims.join(', ')}], not ${s}x larger`);
        const oplane = th * s * tw * s;
        for (let y = 0; y < ch * s; y++) {
          for (let x = 0; x < cw * s; x++) {
            const src = (y + margin * s) * tw * s + x + margin * s;
            const dst = ((y0 * s + y) * W + x0 * s + x) * 3;
            for (let c = 0; c < 3; c++) out[dst + c] = Math.round(Math.min(1, Math.max(0, res.data[c * oplane + src])) * 255);
          }
        }
      }
    }
    return { width: W, height: img.height * s, channels: 3, data: out };
  }

  /** A1111's Upscaler.upscale then resize_image: the model until the picture covers the target (3 runs at most), then Lanczos to it. */
  async upscaleTo(img: Image8, width: number, height: number, opts: { tile?: number; signal?: AbortSignal } = {}): Promise<Image8> {
    let current = img;
    for (let run = 0; run < 3 && (current.width < width || current.height < height); run++) {
      if (this.scale === 1) break;
      current = await this.upscaleOnce(current, opts);
    }
    return current.width === width && current.height === height ? current : lanczosResize(current, width, height);
  }
}
