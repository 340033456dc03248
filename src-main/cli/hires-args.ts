// `hintbrush generate`'s hires fix options: --hires-scale S or --hires-resize WxH, [--hires-steps N]
// [--hires-denoise D] [--hires-upscaler latent|lanczos|FILE]. The latent modes take A1111's names too
// ("Latent (bicubic antialiased)") or their short forms (latent-bicubic-antialiased); FILE is an ONNX image
// upscaler. Checked with the rest of the request as main checks a studio request (common/hires-contract.ts),
// so a target above the size limit is refused before the engine starts.

import path from 'node:path';
import { existsSync } from 'node:fs';
import { HIRES_UPSCALERS, type HiresUpscaler } from '../common/hires-contract.ts';
import { UsageError, type OptionSpec } from './command.ts';
import { numberValue } from './generate-args.ts';

type Values = Record<string, string | boolean | string[] | undefined>;

export const HIRES_OPTIONS: Record<string, OptionSpec> = {
  'hires-scale': { type: 'string', value: 'S', description: 'hires fix: upscale the picture by S (1 to 4) and run a second pass there' },
  'hires-resize': { type: 'string', value: 'WxH', description: 'hires fix: upscale to W x H instead (0 for one side keeps the aspect ratio)' },
  'hires-steps': { type: 'string', value: 'N', description: 'hires fix: second-pass steps, 0 to 150 (default 0: as many as --steps)' },
  'hires-denoise': { type: 'string', value: 'D', description: 'hires fix: second-pass denoising strength, 0.01 to 1 (default 0.7)' },
  'hires-upscaler': { type: 'string', value: 'latent|lanczos|FILE', description: "hires fix: A1111's latent modes (latent, latent-bicubic...), lanczos, or an ONNX image upscaler file (default latent)" },
};

/** 'latent-bicubic-antialiased' and 'Latent (bicubic antialiased)' both name A1111's mode. */
function builtInUpscaler(text: string): HiresUpscaler | null {
  const key = (s: string) => s.toLowerCase().replace(/[()]/g, '').replace(/[\s_-]+/g, ' ').trim();
  return HIRES_UPSCALERS.find((u) => u !== 'model' && key(u) === key(text)) ?? null;
}

/**
 * The hires part of the request the options describe (upscaler 'model' names its file), or null when none is
 * given; its ranges and the size limit are checked with the rest of the request (common/hires-contract.ts).
 */
export function hiresFromOptions(values: Values, img2img: boolean): Record<string, unknown> | null {
  const given = Object.keys(HIRES_OPTIONS).filter((k) => values[k] !== undefined);
  if (given.length === 0) return null;
  if (values['hires-scale'] === undefined && values['hires-resize'] === undefined) {
    throw new UsageError(`--${given[0]} needs --hires-scale S (or --hires-resize WxH)`);
  }
  if (values['hires-scale'] !== undefined && values['hires-resize'] !== undefined) throw new UsageError('give --hires-scale or --hires-resize, not both');
  if (img2img) throw new UsageError('hires fix is for text-to-image: it cannot be used with --init-image');
  let resizeWidth = 0;
  let resizeHeight = 0;
  if (values['hires-resize'] !== undefined) {
    const m = typeof values['hires-resize'] === 'string' ? /^(\d+)x(\d+)$/.exec(values['hires-resize']) : null;
    if (!m) throw new UsageError(`--hires-resize takes WxH, e.g. 1024x768, not ${JSON.stringify(values['hires-resize'])}`);
    [resizeWidth, resizeHeight] = [Number(m[1]), Number(m[2])];
    if (resizeWidth === 0 && resizeHeight === 0) throw new UsageError('--hires-resize: at least one side must be above 0');
  }
  const spec = values['hires-upscaler'] === undefined ? 'latent' : values['hires-upscaler'];
  if (typeof spec !== 'string' || spec === '') throw new UsageError('--hires-upscaler takes latent, lanczos or an ONNX file');
  let upscaler: HiresUpscaler | null = builtInUpscaler(spec);
  let model: string | undefined;
  if (!upscaler) {
    const file = path.resolve(spec);
    if (!existsSync(file)) {
      throw new UsageError(`--hires-upscaler: ${JSON.stringify(spec)} is neither an upscaler Hintbrush has (latent, latent-antialiased, latent-bicubic, latent-bicubic-antialiased, latent-nearest, latent-nearest-exact, lanczos) nor an existing file`);
    }
    if (path.extname(file).toLowerCase() !== '.onnx') throw new UsageError(`--hires-upscaler: ${file} is not an .onnx image upscaler`);
    upscaler = 'model';
    model = file;
  }
  return {
    upscaler,
    ...(model === undefined ? {} : { model }),
    // a resize target makes the scale unused; the record keeps 1 there
    scale: values['hires-scale'] === undefined ? 1 : numberValue(values['hires-scale'], 'hires-scale'),
    resizeWidth,
    resizeHeight,
    steps: numberValue(values['hires-steps'], 'hires-steps'),
    denoise: numberValue(values['hires-denoise'], 'hires-denoise'),
  };
}
