// A picture's settings as the A1111 `parameters` text other tools read (A1111, Forge, Civitai...), and back.
// ControlNet units are written as sd-webui-controlnet writes them ("ControlNet 0"); CtrLoRA conditions and a
// ControlNet-XS follow the same "key: value, ..." style under "CtrLoRA N" and "ControlNet-XS N". LoRAs appear as
// A1111 writes them: `<lora:name:weight>` in the prompt and their hashes in "Lora hashes", which also lists the
// LoRAs tied to regions (as A1111 with Regional Prompter, whose one prompt holds every region's tags). A standalone
// VAE is "VAE hash" and "VAE" (the file name with its extension), textual-inversion embeddings "TI hashes".

import { A1111_SAMPLER_NAMES, type ControlKind, type GenerationSettings, type ReadModel, type ReadSettings, type ResizeModeName } from '../common/generation-contract.ts';
import {
  formatSettingsList,
  generationInfoFromText,
  generationInfoToText,
  parseParameters,
  parseSettingsList,
  type ControlNetInfo,
} from './a1111-parameters.ts';
import { A1111_RESIZE_NAMES, type ResizeMode } from './image-resize.ts';
import { hiresToInfotext, infotextToHires } from './hires-infotext.ts';
import { samplerFromA1111 } from './samplers/index.ts';

/**
 * A name as it may stand inside a unit or a `<lora:...>` tag: sd-webui-controlnet refuses unit values holding
 * ',' or ':', and A1111 strips them from "Lora hashes" names. Control characters and every character Python's
 * splitlines() breaks a line at (\r, \x85, U+2028...) go too: A1111 reads the text line by line, so a file
 * name holding one would split "Lora hashes" and the name would no longer match its tag.
 */
export function safeName(name: string): string {
  return name.replace(/[,:<>\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').trim() || 'model';
}

const modelLabel = (m: { name: string; hash: string }) => (m.hash ? `${safeName(m.name)} [${m.hash}]` : safeName(m.name));

/** Shortest decimal that reads back as the same number (A1111 writes 0.6, not 0.6000000238). */
const numText = (n: number): string => String(Math.round(n * 1e6) / 1e6);

function unitFields(c: GenerationSettings['controls'][number]): [string, string][] {
  const common: [string, string][] = [
    ['Weight', numText(c.weight)],
    ['Guidance Start', numText(c.start)],
    ['Guidance End', numText(c.end)],
    ['Resize Mode', A1111_RESIZE_NAMES[c.resizeMode as ResizeMode]],
  ];
  if (c.kind === 'ctrlora') return [['Base', modelLabel(c.base ?? c.model)], ['Model', modelLabel(c.model)], ...common];
  return [['Module', 'none'], ['Model', modelLabel(c.model)], ...common];
}

/** The A1111 parameters text of one picture. */
export function settingsToInfotext(s: GenerationSettings): string {
  const tags = s.loras.map((l) => `<lora:${safeName(l.model.name)}:${numText(l.weight)}>`);
  const prompt = [s.prompt.trim(), ...tags].filter((p) => p).join(' ');
  const extra = new Map<string, string>();
  const controlNets: ControlNetInfo[] = [];
  const counts: Record<ControlKind, number> = { controlnet: 0, ctrlora: 0, cnxs: 0 };
  for (const c of s.controls) {
    if (c.kind === 'controlnet') {
      const [, [, model], [, w], [, start], [, end], resize] = unitFields(c);
      controlNets.push({ module: 'none', model, weight: Number(w), guidanceStart: Number(start), guidanceEnd: Number(end), extra: new Map([resize]) });
    } else {
      extra.set(`${c.kind === 'ctrlora' ? 'CtrLoRA' : 'ControlNet-XS'} ${counts[c.kind]++}`, formatSettingsList(unitFields(c)));
    }
  }
  if (s.vae) {
    if (s.vae.hash) extra.set('VAE hash', s.vae.hash);
    extra.set('VAE', safeName(fileNameOf(s.vae)));
  }
  if (s.embeddings?.length) {
    // as A1111's sd_hijack_clip: ':' and ',' dropped from names, embeddings without a hash left out
    const entries = s.embeddings.filter((e) => e.hash).map((e) => `${e.name.replace(/[:,]/g, '')}: ${e.hash}`);
    if (entries.length) extra.set('TI hashes', entries.join(', '));
  }
  if (s.batchSize > 1) extra.set('Batch size', String(s.batchSize));
  if (s.hires) for (const [k, v] of hiresToInfotext(s.hires)) extra.set(k, v);
  extra.set('Version', 'Hintbrush');
  return generationInfoToText({
    prompt,
    negativePrompt: s.negative.trim(),
    steps: s.steps,
    sampler: A1111_SAMPLER_NAMES[s.sampler],
    scheduleType: '',
    cfgScale: s.cfg,
    seed: s.seed,
    width: s.width,
    height: s.height,
    modelHash: s.checkpoint.hash,
    model: safeName(s.checkpoint.name),
    denoisingStrength: s.hires?.denoise ?? s.denoisingStrength ?? undefined,
    clipSkip: s.clipSkip,
    controlNets,
    loraHashes: loraHashesOf(s),
    extra,
  });
}

/**
 * "Lora hashes": the main prompt's LoRAs, then those the regions' prompts tie to a region (their tags live in the
 * hintbrush-regions chunk, not in this text), each name once, the first one kept; LoRAs without a hash left out.
 */
function loraHashesOf(s: GenerationSettings): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const { model } of [...s.loras, ...(s.regionLoras ?? []).flat()]) {
    const name = safeName(model.name);
    if (model.hash && !hashes.has(name)) hashes.set(name, model.hash);
  }
  return hashes;
}

/** The file name with its extension (what A1111's "VAE" holds), from the model's path. */
function fileNameOf(m: { name: string; path: string }): string {
  const base = m.path.split(/[\\/]/).pop() ?? '';
  return base || m.name;
}

/** "name: hash, name: hash" (Lora hashes, TI hashes) -> models; a name may hold neither ':' nor ','. */
function hashList(value: string | undefined): ReadModel[] {
  const out: ReadModel[] = [];
  for (const part of (value ?? '').split(',')) {
    const colon = part.lastIndexOf(':');
    if (colon > 0) out.push(unmatched({ name: part.slice(0, colon).trim(), hash: part.slice(colon + 1).trim().toLowerCase() }));
  }
  return out;
}

const LORA_TAG = /<lora:([^:>]+):([^:>]*)(?::[^>]*)?>/g;

/** "name [hash]" -> its parts (hash empty when there is none). */
export function splitModelLabel(label: string): { name: string; hash: string } {
  const m = /^(.*?)\s*\[([0-9a-fA-F]+)\]\s*$/.exec(label);
  return m ? { name: m[1], hash: m[2].toLowerCase() } : { name: label.trim(), hash: '' };
}

const RESIZE_BY_NAME = new Map(Object.entries(A1111_RESIZE_NAMES).map(([mode, name]) => [name.toLowerCase(), mode as ResizeModeName]));
const resizeModeOf = (name: string | undefined): ResizeModeName => RESIZE_BY_NAME.get((name ?? '').toLowerCase()) ?? 'crop-and-resize';
const toNum = (v: string | undefined, fallback: number) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : fallback);
const unmatched = (m: { name: string; hash: string }): ReadModel => ({ ...m, id: null });

/** Settings read from an A1111 parameters text (library ids left null: main matches them). */
export function infotextToSettings(text: string): ReadSettings {
  const info = generationInfoFromText(text);
  const { settings } = parseParameters(text);
  const loras: ReadSettings['loras'] = [];
  const prompt = info.prompt
    .replace(LORA_TAG, (_, name: string, weight: string) => {
      loras.push({ model: unmatched({ name, hash: info.loraHashes.get(name) ?? '' }), weight: toNum(weight, 1) });
      return '';
    })
    .replace(/[ \t]+(\n|$)/g, '$1')
    .replace(/,\s*$/, '')
    .trim();
  const controls: ReadSettings['controls'] = info.controlNets.map((cn) => ({
    kind: 'controlnet',
    model: unmatched(splitModelLabel(cn.model)),
    base: null,
    weight: cn.weight,
    start: cn.guidanceStart,
    end: cn.guidanceEnd,
    module: cn.module,
    resizeMode: resizeModeOf(cn.extra.get('Resize Mode')),
  }));
  for (const [key, value] of settings) {
    const m = /^(CtrLoRA|ControlNet-XS) \d+$/.exec(key);
    if (!m) continue;
    const unit = parseSettingsList(value);
    controls.push({
      kind: m[1] === 'CtrLoRA' ? 'ctrlora' : 'cnxs',
      model: unmatched(splitModelLabel(unit.get('Model') ?? '')),
      base: m[1] === 'CtrLoRA' ? unmatched(splitModelLabel(unit.get('Base') ?? '')) : null,
      weight: toNum(unit.get('Weight'), 1),
      start: toNum(unit.get('Guidance Start'), 0),
      end: toNum(unit.get('Guidance End'), 1),
      module: unit.get('Module') ?? 'none',
      resizeMode: resizeModeOf(unit.get('Resize Mode')),
    });
  }
  return {
    prompt,
    negative: info.negativePrompt,
    steps: info.steps,
    cfg: info.cfgScale,
    seed: info.seed,
    width: info.width,
    height: info.height,
    clipSkip: info.clipSkip ?? 1,
    sampler: samplerFromA1111(info.sampler, info.scheduleType),
    samplerA1111: info.sampler,
    checkpoint: unmatched({ name: info.model, hash: info.modelHash.toLowerCase() }),
    controls,
    loras,
    denoisingStrength: info.denoisingStrength ?? null,
    vae: settings.has('VAE') || settings.has('VAE hash') ? unmatched({ name: settings.get('VAE') ?? '', hash: (settings.get('VAE hash') ?? '').toLowerCase() }) : null,
    embeddings: hashList(settings.get('TI hashes')),
    hires: infotextToHires(settings, info.denoisingStrength),
  };
}
