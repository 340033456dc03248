// The one path from a generation request to the engine's 'generate' payload, for the studio (Generate and live
// mode) and for `hintbrush generate` alike: the request is a validated GenerateInput (validateGenerateInput holds
// every default and range), `settingsFromInput` resolves its models through a ModelResolver and draws the seed,
// and `payloadFromInput` adds the request's pictures. Only the resolver differs: the studio's looks models up in
// the library (library-model-resolver.ts), the CLI's takes files and hashes them (cli/file-model-resolver.ts).

import { randomInt } from 'node:crypto';
import type { ModelKind } from '../common/contract.ts';
import type { ControlRecord, GenerateInput, GenerationSettings, ModelRef, ModelSelector } from '../common/generation-contract.ts';
import { kindError } from '../common/errors.ts';
import { loraTagsIn } from '../common/region-loras.ts';
import type { RegionRecord } from '../common/regions-contract.ts';
import { generatePayload, type GeneratePayload, type PictureBytes } from '../engine/tasks/generate-payload.ts';

/** Turns a request's model selectors into the models a run records, each with A1111's hash for its kind. */
export interface ModelResolver {
  /**
   * The model of `kind` that `selector` names, hashed as A1111 hashes that kind (checkpoint and VAE: sha256[0:10];
   * ControlNet, ControlNet-XS and CtrLoRA models: sd-webui-controlnet's legacy 8 digits; LoRA: the addnet hash;
   * upscaler: none). Throws naming `role` when there is no such model.
   */
  resolve(selector: ModelSelector, kind: ModelKind, role: string): Promise<ModelRef>;
  /** The VAE a checkpoint uses when the request names none (the library's default VAE), or null for its own. */
  defaultVae(checkpoint: ModelRef): ModelSelector | null;
  /**
   * The LoRA a `<lora:name:weight>` tag in a region prompt names (A1111 names LoRAs by file stem): the library's
   * LoRA of that name, or for the CLI a file; null when there is none.
   */
  loraNamed(name: string): ModelSelector | null;
  /** Where names are looked up, for the message when one is not found ("in the library", "among --lora-dir ..."). */
  readonly loraPlace?: string;
}

const CONTROL_MODEL: Record<ControlRecord['kind'], { kind: ModelKind; role: string }> = {
  controlnet: { kind: 'controlnet', role: 'ControlNet' },
  cnxs: { kind: 'cnxs', role: 'ControlNet-XS' },
  ctrlora: { kind: 'ctrlora-lora', role: 'CtrLoRA condition LoRA' },
};

/** The settings a validated request resolves to (models resolved in the request's order, the seed drawn when absent). */
export async function settingsFromInput(input: GenerateInput, models: ModelResolver): Promise<GenerationSettings> {
  const checkpoint = await models.resolve(input.checkpoint, 'checkpoint', 'checkpoint');
  // the request's own choice (null: the checkpoint's VAE), else the checkpoint's default
  const vaeSelector = input.vae === undefined ? models.defaultVae(checkpoint) : input.vae;
  const vae = vaeSelector === null ? null : await models.resolve(vaeSelector, 'vae', 'VAE');
  const controls: ControlRecord[] = [];
  for (const c of input.controls) {
    const base = c.kind === 'ctrlora' ? await models.resolve(c.base!, 'ctrlora-base', 'CtrLoRA Base ControlNet') : null;
    const { kind, role } = CONTROL_MODEL[c.kind];
    const record: ControlRecord = { kind: c.kind, model: await models.resolve(c.model, kind, role), base, weight: c.weight, start: c.start, end: c.end, resizeMode: c.resizeMode };
    if (c.layer !== undefined) record.layer = c.layer;
    if (c.region !== undefined && c.region !== null) record.region = c.region;
    controls.push(record);
  }
  const loras = await Promise.all(input.loras.map(async (l) => ({ model: await models.resolve(l.model, 'lora', 'LoRA'), weight: l.weight })));
  const regionLoras = await resolveRegionLoras(input.regions ?? [], models);
  const hires = input.hires
    ? { ...input.hires, model: input.hires.model !== undefined ? await models.resolve(input.hires.model, 'upscaler', 'image upscaler') : null }
    : null;
  return {
    prompt: input.prompt,
    negative: input.negative,
    width: input.width,
    height: input.height,
    steps: input.steps,
    cfg: input.cfg,
    seed: input.seed ?? randomInt(0, 2 ** 32),
    sampler: input.sampler,
    clipSkip: input.clipSkip,
    checkpoint,
    controls,
    loras,
    denoisingStrength: input.init ? input.init.strength : null,
    initResizeMode: input.init ? input.init.resizeMode : null,
    inpaint: input.mask !== null,
    batchSize: input.batchSize,
    batchCount: input.batchCount,
    batchIndex: 0,
    ...(vae ? { vae } : {}),
    hires,
    ...(input.regions?.length ? { regions: input.regions } : {}),
    ...(regionLoras.some((l) => l.length > 0) ? { regionLoras } : {}),
  };
}

/**
 * The LoRAs each region's prompt names, resolved; an unknown name or a malformed tag is an error naming the region
 * and the tag ('not-found' / 'bad-request'), as a missing main LoRA is.
 */
async function resolveRegionLoras(regions: readonly RegionRecord[], models: ModelResolver): Promise<{ model: ModelRef; weight: number }[][]> {
  const out: { model: ModelRef; weight: number }[][] = [];
  for (const [i, region] of regions.entries()) {
    const what = `region ${i + 1} (${JSON.stringify(region.prompt.slice(0, 40))})`;
    const list: { model: ModelRef; weight: number }[] = [];
    let tags;
    try {
      tags = loraTagsIn(region.prompt, what);
    } catch (err) {
      throw kindError('bad-request', (err as Error).message);
    }
    for (const tag of tags) {
      const selector = models.loraNamed(tag.name);
      if (selector === null) throw kindError('not-found', `${what}: <lora:${tag.name}> names no LoRA ${models.loraPlace ?? ''}`.trim());
      list.push({ model: await models.resolve(selector, 'lora', `LoRA ${tag.name} of ${what}`), weight: tag.weight });
    }
    out.push(list);
  }
  return out;
}

const pictureOf = (base64: string): PictureBytes => ({ png: new Uint8Array(Buffer.from(base64, 'base64')) });

/** The engine's 'generate' payload for a request and its settings: the request's pictures as PNG bytes. */
export function payloadFromInput(
  settings: GenerationSettings,
  input: GenerateInput,
  options: Pick<GeneratePayload, 'compute' | 'returnLatents' | 'embeddings'> = {},
): GeneratePayload {
  return generatePayload(
    settings,
    {
      controls: input.controls.map((c) => pictureOf(c.imagePngBase64)),
      init: input.init ? pictureOf(input.init.imagePngBase64) : null,
      mask: input.mask ? pictureOf(input.mask.imagePngBase64) : null,
    },
    options,
  );
}
