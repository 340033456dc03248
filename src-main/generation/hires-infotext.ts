// Hires fix in A1111's `parameters` text, as processing.py writes it: "Hires upscale: 2" (or "Hires resize:
// 1024x768" when a size was asked for), "Hires steps: 10" (only when not 0), "Hires upscaler: Latent"; the
// second pass's strength is the picture's "Denoising strength". Reading takes the same keys back; an upscaler
// that is not built in (an ESRGAN model's name) becomes 'model' with that name, for main to find in the library.

import { HIRES_UPSCALERS, hiresUpscalerLabel, type HiresSettings, type HiresUpscaler, type ReadHires } from '../common/hires-contract.ts';

/** Shortest decimal that reads back as the same number (2, 1.5, not 1.5000000001). */
const numText = (n: number): string => String(Math.round(n * 1e6) / 1e6);

export function hiresToInfotext(h: HiresSettings): [string, string][] {
  const out: [string, string][] = [];
  if (h.resizeWidth === 0 && h.resizeHeight === 0) out.push(['Hires upscale', numText(h.scale)]);
  else out.push(['Hires resize', `${h.resizeWidth}x${h.resizeHeight}`]);
  if (h.steps) out.push(['Hires steps', String(h.steps)]);
  out.push(['Hires upscaler', hiresUpscalerLabel(h)]);
  return out;
}

/** The hires settings of a parameters text's settings line, or null when it has none. */
export function infotextToHires(settings: Map<string, string>, denoisingStrength: number | undefined): ReadHires | null {
  const scale = settings.get('Hires upscale');
  const resize = settings.get('Hires resize');
  const name = settings.get('Hires upscaler');
  if (scale === undefined && resize === undefined && name === undefined) return null;
  const size = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(resize ?? '');
  const number = (v: string | undefined, fallback: number) => (v !== undefined && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : fallback);
  const upscalerName = (name ?? 'Latent').trim() || 'Latent';
  // A1111 matches upscaler names without regard to case
  const builtIn = HIRES_UPSCALERS.find((u) => u !== 'model' && u.toLowerCase() === upscalerName.toLowerCase());
  const upscaler: HiresUpscaler = builtIn ?? 'model';
  return {
    upscaler,
    upscalerName,
    model: builtIn ? null : { name: upscalerName, hash: '', id: null },
    scale: number(scale, 2),
    resizeWidth: size ? Number(size[1]) : 0,
    resizeHeight: size ? Number(size[2]) : 0,
    steps: Math.trunc(number(settings.get('Hires steps'), 0)),
    denoise: denoisingStrength ?? 0.7,
  };
}
