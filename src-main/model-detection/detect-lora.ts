// LoRAs for the UNet and text encoder:
// - kohya (sd-scripts, A1111, most of Civitai): `lora_unet_<module>.lora_down.weight` / `.lora_up.weight` /
//   `.alpha`, `lora_te_` for the text encoder (`lora_te1_`/`lora_te2_` in SDXL); LyCORIS LoHa/LoKr use the same
//   names with other factor keys;
// - diffusers (`unet.<module>.lora.down.weight`, `..._lora.down.weight`, `lora_linear_layer.down.weight`) and
//   PEFT (`unet.<module>.lora_A.weight` / `lora_B.weight`).
// Names are anchored at the start of a key: goldens that nest LoRA tensors under other names (`style.init.lora_`)
// are not LoRAs.
import type { TensorFile } from '../formats/tensor-file.ts';
import { unsupported, type Detector, type KeyIndex } from './detect-keys.ts';

const KOHYA_DOWN = /^lora_(unet|te\d?)_.+\.lora_down\.weight$/;
const LYCORIS = /^lora_(unet|te\d?)_.+\.(hada_w1_a|lokr_w1|lokr_w1_a|oft_blocks|oft_diag)$/;

export const kohyaLoraDetector: Detector = {
  name: 'lora-kohya',
  detect(keys, file) {
    const lycoris = keys.first(LYCORIS) !== undefined;
    if (!keys.first(KOHYA_DOWN) && !lycoris) return null;
    const unet = keys.distinct(/^lora_unet_(.+?)\.(?:lora_down|hada_w1_a|lokr_w1|lokr_w1_a|oft_blocks|oft_diag)/);
    const text = keys.distinct(/^(lora_te\d?_.+?)\.(?:lora_down|hada_w1_a|lokr_w1|lokr_w1_a|oft_blocks|oft_diag)/);
    const details: Record<string, string | number> = {
      targets: targets(unet.size > 0, text.size > 0),
      unetModules: unet.size,
      textEncoderModules: text.size,
    };
    const layout = lycoris ? 'lycoris' : 'kohya';
    const rank = keys.commonDim(/\.lora_down\.weight$/, 0); // down: [rank, in features (, kh, kw)]
    if (rank) {
      details.rank = rank.value;
      if (rank.min !== rank.max) [details.rankMin, details.rankMax] = [rank.min, rank.max];
      details.alpha = alphaOf(keys, file, /\.alpha$/) ?? metadataNumber(file, 'ss_network_alpha') ?? rank.value;
    }
    const conv = keys.matching(/^lora_unet_.+\.lora_down\.weight$/).filter((n) => !isLinearOr1x1(keys, n)).length;
    if (conv > 0) details.convModules = conv; // LoCon: 3x3 convolutions carry LoRA factors too

    const family = kohyaFamily(keys, [...unet]);
    if (family !== 'sd15') return unsupported(family, 'LoRA', layout, details);
    const problem = lycoris ? 'LyCORIS networks (LoHa, LoKr, OFT) are not supported yet' : '';
    return { kind: 'lora', layout, family, problem, details };
  },
};

const DIFFUSERS_DOWN = /^(.*?)\.(?:lora\.down|lora_linear_layer\.down|(?:to_[qkv]|to_out)_lora\.down|lora_A)\.weight$/;

export const diffusersLoraDetector: Detector = {
  name: 'lora-diffusers',
  detect(keys, file) {
    const downs = keys.matching(DIFFUSERS_DOWN);
    if (downs.length === 0) return null;
    const roots = new Set(downs.map((n) => n.split('.')[0]));
    const known = ['unet', 'text_encoder', 'text_encoder_2', 'transformer', 'base_model', 'diffusion_model'];
    // PEFT saves bare module paths when a LoRA wraps the UNet directly
    const bare = [...roots].every((r) => /^(down_blocks|up_blocks|mid_block|conv_in|time_embedding)$/.test(r));
    if (![...roots].every((r) => known.includes(r)) && !bare) return null;
    const layout = downs.some((n) => n.endsWith('.lora_A.weight')) ? 'peft' : 'diffusers';
    const isText = (n: string) => n.startsWith('text_encoder');
    const rank = keys.commonDim(DIFFUSERS_DOWN, 0)!;
    const details: Record<string, string | number> = {
      targets: targets(downs.some((n) => !isText(n)), downs.some(isText)),
      unetModules: downs.filter((n) => !isText(n)).length,
      textEncoderModules: downs.filter(isText).length,
      rank: rank.value,
    };
    if (rank.min !== rank.max) [details.rankMin, details.rankMax] = [rank.min, rank.max];
    // diffusers/PEFT LoRAs usually carry no alpha: the scale is 1, i.e. alpha = rank
    details.alpha = alphaOf(keys, file, /\.alpha$/) ?? rank.value;

    let family = 'sd15';
    if (roots.has('text_encoder_2') || keys.first(/add_embedding\./)) family = 'sdxl';
    else if (keys.first(/(^|\.)(double_blocks|single_blocks|single_transformer_blocks)\./)) family = 'flux';
    else if (roots.has('transformer') || keys.first(/(^|\.)joint_blocks\./)) family = 'sd3';
    else family = familyFromContext(keys, downs.filter((n) => /attn2\.(processor\.)?to_k/.test(n))) ?? 'sd15';
    if (family !== 'sd15') return unsupported(family, 'LoRA', layout, details);
    return { kind: 'lora', layout, family, problem: '', details };
  },
};

function targets(unet: boolean, text: boolean): string {
  return [unet ? 'unet' : '', text ? 'text-encoder' : ''].filter(Boolean).join('+');
}

/** The value of the first scalar alpha tensor (a tiny read), or undefined. */
function alphaOf(keys: KeyIndex, file: TensorFile, pattern: RegExp): number | undefined {
  const name = keys.first(pattern);
  if (!name || (keys.shape(name)!.reduce((a, b) => a * b, 1)) !== 1) return undefined;
  try {
    const value = file.readFloat32(keys.original(name))[0];
    return Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : undefined;
  } catch {
    return undefined; // a broken alpha tensor must not make the whole file unreadable
  }
}

function metadataNumber(file: TensorFile, key: string): number | undefined {
  const value = Number(file.metadata[key]);
  return file.metadata[key] !== undefined && Number.isFinite(value) ? value : undefined;
}

function isLinearOr1x1(keys: KeyIndex, name: string): boolean {
  const shape = keys.shape(name)!;
  return shape.length === 2 || (shape.length === 4 && shape[2] === 1 && shape[3] === 1);
}

/**
 * kohya names UNet modules after diffusers (`down_blocks_0_...`) for SD1.5/SD2, but after the LDM UNet
 * (`input_blocks_4_1_...`) for SDXL, whose text encoders are `te1`/`te2`.
 */
function kohyaFamily(keys: KeyIndex, unetModules: string[]): string {
  if (keys.first(/^lora_te[12]_/)) return 'sdxl';
  if (unetModules.some((m) => /^(double_blocks|single_blocks)_/.test(m))) return 'flux';
  if (unetModules.some((m) => /^joint_blocks_/.test(m))) return 'sd3';
  const ldmNames = unetModules.some((m) => /^(input_blocks|output_blocks|middle_block)_/.test(m));
  // SDXL's first level has no attention: transformers start at input_blocks_4
  if (ldmNames && !unetModules.some((m) => /^input_blocks_[12]_1_/.test(m)) && unetModules.some((m) => /^input_blocks_[45]_1_/.test(m))) {
    return 'sdxl';
  }
  const crossAttention = keys.matching(/^lora_unet_.+attn2_to_k\.lora_down\.weight$/);
  return familyFromContext(keys, crossAttention) ?? 'sd15';
}

/** Real models only: a cross-attention input of 1024 is SD2's OpenCLIP-H, 2048 SDXL's two encoders. */
function familyFromContext(keys: KeyIndex, toKDowns: string[]): string | undefined {
  if (toKDowns.length === 0) return undefined;
  const width = keys.shape(toKDowns[0])![1]; // down: [rank, context width]
  return width === 1024 ? 'sd2' : width === 2048 ? 'sdxl' : undefined;
}
