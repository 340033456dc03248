// AUTOMATIC1111's "parameters" text (the PNG tEXt chunk A1111, Forge, Civitai and most SD front ends read):
//   <prompt lines>
//   Negative prompt: <negative lines>
//   Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1, Size: 512x512, Model hash: abcdef1234, ...
// Values holding a comma, colon or newline are JSON-quoted (A1111's infotext_utils.quote); parsing follows
// parse_generation_parameters (the same key/value pattern, the last line taken as settings only when it holds
// at least three of them). sd-webui-controlnet's "ControlNet N" values and "Lora hashes" are themselves
// "key: value, ..." lists inside the quotes.

export interface A1111Parameters {
  prompt: string;
  negativePrompt: string;
  /** The settings line in order, values unquoted, e.g. Steps -> "20", Size -> "512x512". */
  settings: Map<string, string>;
}

/** A1111's quote(): JSON (non-ASCII kept) when the value has a comma, colon or newline. */
export function quoteValue(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/** A1111's unquote(): JSON-decodes a double-quoted value, leaves anything else (or broken JSON) as is. */
export function unquoteValue(text: string): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : text;
  } catch {
    return text;
  }
}

// re_param: a key (word character, then words, spaces, '-', '/'), a colon, a quoted or unquoted value.
const PARAM = /\s*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/gu;

/** "key: value, key: value" -> ordered pairs, quoted values decoded (re_param.findall). */
export function parseSettingsList(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of line.matchAll(PARAM)) {
    const value = m[2];
    out.set(m[1], value.startsWith('"') && value.endsWith('"') ? unquoteValue(value) : value);
  }
  return out;
}

/** Ordered pairs -> "key: value, ..." with A1111's quoting; a pair whose value equals its key is a flag. */
export function formatSettingsList(settings: Iterable<[string, string]>): string {
  const parts: string[] = [];
  for (const [key, value] of settings) parts.push(key === value ? key : `${key}: ${quoteValue(value)}`);
  return parts.join(', ');
}

export function formatParameters(p: A1111Parameters): string {
  const negative = p.negativePrompt ? `\nNegative prompt: ${p.negativePrompt}` : '';
  return `${p.prompt}${negative}\n${formatSettingsList(p.settings)}`.trim();
}

export function parseParameters(text: string): A1111Parameters {
  const lines = text.trim().split('\n');
  let lastLine = lines.pop() ?? '';
  if ([...lastLine.matchAll(PARAM)].length < 3) {
    lines.push(lastLine);
    lastLine = '';
  }
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith('Negative prompt:')) {
      inNegative = true;
      line = line.slice(16).trim();
    }
    if (inNegative) negativePrompt += (negativePrompt === '' ? '' : '\n') + line;
    else prompt += (prompt === '' ? '' : '\n') + line;
  }
  return { prompt, negativePrompt, settings: parseSettingsList(lastLine) };
}

// ---- the fields Hintbrush writes and reads ---------------------------------------------------------

export interface ControlNetInfo {
  module: string; // preprocessor, "none" when the hint was painted or given as is
  model: string; // "name [shorthash]" as A1111 shows it
  weight: number;
  guidanceStart: number;
  guidanceEnd: number;
  /** Other fields of the unit (Resize Mode, Control Mode, Pixel Perfect...), kept verbatim. */
  extra: Map<string, string>;
}

export interface GenerationInfo {
  prompt: string;
  negativePrompt: string;
  steps: number;
  /** A1111 sampler name, e.g. "DPM++ 2M Karras" (see common/generation-contract.ts A1111_SAMPLER_NAMES). */
  sampler: string;
  /** A1111 >= 1.9 writes the schedule separately ("Karras"); empty when absent. */
  scheduleType: string;
  cfgScale: number;
  seed: number;
  width: number;
  height: number;
  modelHash: string;
  model: string;
  denoisingStrength?: number;
  clipSkip?: number;
  controlNets: ControlNetInfo[];
  /** LoRA name -> short hash ("Lora hashes"). */
  loraHashes: Map<string, string>;
  /** Every other setting, in order, so a re-saved image keeps what it had. */
  extra: Map<string, string>;
}

const num = (n: number): string => String(n);

export function generationInfoToText(info: GenerationInfo): string {
  const s = new Map<string, string>();
  s.set('Steps', num(info.steps));
  s.set('Sampler', info.sampler);
  if (info.scheduleType) s.set('Schedule type', info.scheduleType);
  s.set('CFG scale', num(info.cfgScale));
  s.set('Seed', num(info.seed));
  s.set('Size', `${info.width}x${info.height}`);
  if (info.modelHash) s.set('Model hash', info.modelHash);
  if (info.model) s.set('Model', info.model);
  if (info.denoisingStrength !== undefined) s.set('Denoising strength', num(info.denoisingStrength));
  if (info.clipSkip !== undefined && info.clipSkip > 1) s.set('Clip skip', num(info.clipSkip));
  info.controlNets.forEach((cn, i) => {
    const unit: [string, string][] = [
      ['Module', cn.module],
      ['Model', cn.model],
      ['Weight', num(cn.weight)],
      ['Guidance Start', num(cn.guidanceStart)],
      ['Guidance End', num(cn.guidanceEnd)],
      ...cn.extra,
    ];
    s.set(`ControlNet ${i}`, formatSettingsList(unit));
  });
  if (info.loraHashes.size > 0) {
    // A1111 strips ':' and ',' from the names so the list stays parseable
    const entries = [...info.loraHashes].map(([name, hash]) => `${name.replace(/[:,\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '')}: ${hash}`);
    s.set('Lora hashes', entries.join(', '));
  }
  for (const [k, v] of info.extra) if (!s.has(k)) s.set(k, v);
  return formatParameters({ prompt: info.prompt, negativePrompt: info.negativePrompt, settings: s });
}

const KNOWN = new Set([
  'Steps', 'Sampler', 'Schedule type', 'CFG scale', 'Seed', 'Size', 'Model hash', 'Model',
  'Denoising strength', 'Clip skip', 'Lora hashes',
]);

function toNumber(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : fallback;
}

/** Reads an A1111 parameters text; missing or unreadable numbers fall back to A1111's defaults. */
export function generationInfoFromText(text: string): GenerationInfo {
  const { prompt, negativePrompt, settings } = parseParameters(text);
  const size = /^(\d+)x(\d+)$/.exec(settings.get('Size') ?? '');
  const controlNets: ControlNetInfo[] = [];
  const extra = new Map<string, string>();
  for (const [key, value] of settings) {
    if (/^ControlNet \d+$/.test(key)) {
      const unit = parseSettingsList(value);
      const own = ['Module', 'Model', 'Weight', 'Guidance Start', 'Guidance End'];
      controlNets.push({
        module: unit.get('Module') ?? 'none',
        model: unit.get('Model') ?? '',
        weight: toNumber(unit.get('Weight'), 1),
        guidanceStart: toNumber(unit.get('Guidance Start'), 0),
        guidanceEnd: toNumber(unit.get('Guidance End'), 1),
        extra: new Map([...unit].filter(([k]) => !own.includes(k))),
      });
    } else if (!KNOWN.has(key)) {
      extra.set(key, value);
    }
  }
  const loraHashes = new Map<string, string>();
  for (const part of (settings.get('Lora hashes') ?? '').split(',')) {
    const colon = part.lastIndexOf(':');
    if (colon > 0) loraHashes.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
  }
  const strength = settings.get('Denoising strength');
  const clipSkip = settings.get('Clip skip');
  const info: GenerationInfo = {
    prompt,
    negativePrompt,
    steps: toNumber(settings.get('Steps'), 20),
    sampler: settings.get('Sampler') ?? 'Euler a',
    scheduleType: settings.get('Schedule type') ?? '',
    cfgScale: toNumber(settings.get('CFG scale'), 7),
    seed: toNumber(settings.get('Seed'), -1),
    width: size ? Number(size[1]) : 512,
    height: size ? Number(size[2]) : 512,
    modelHash: settings.get('Model hash') ?? '',
    model: settings.get('Model') ?? '',
    controlNets,
    loraHashes,
    extra,
  };
  if (strength !== undefined) info.denoisingStrength = toNumber(strength, 0.75);
  if (clipSkip !== undefined) info.clipSkip = toNumber(clipSkip, 1);
  return info;
}
