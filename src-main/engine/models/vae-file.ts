// Standalone VAE files (vae-ft-mse-840000-ema-pruned and the like) as the checkpoint's VAE replacement: the LDM
// layout, bare (`encoder.down.N.block...`) or under `first_stage_model.` / `vae.`, and the diffusers layout
// (`encoder.down_blocks.N.resnets...`), translated here by a name table into the LDM names vae.ts walks.
// The file stays where it is: the view only renames keys. A VAE that cannot stand in for SD1.5's (another
// latent width or down-sampling factor) is refused with a sentence naming the file and the mismatch.

import path from 'node:path';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { renamedView } from './key-layouts.ts';
import { detectVae, type VaeConfig } from './vae.ts';

/** SD1.5's latent: 4 channels, 8x smaller than the image on each axis. */
const SD15_LATENT_CHANNELS = 4;
const SD15_DOWN_FACTOR = 8;

/** A VAE file that cannot stand in for SD1.5's; `kind` as the runtime's other model checks report it. */
export class VaeFileError extends Error {
  readonly kind = 'unsupported-model';
  constructor(message: string) {
    super(message);
    this.name = 'VaeFileError';
  }
}

/** diffusers ResnetBlock2D / attention part names -> LDM names. */
const DIFFUSERS_PART: Record<string, string> = {
  conv_shortcut: 'nin_shortcut',
  group_norm: 'norm',
  query: 'q',
  key: 'k',
  value: 'v',
  proj_attn: 'proj_out',
  to_q: 'q',
  to_k: 'k',
  to_v: 'v',
  'to_out.0': 'proj_out',
};

function part(rest: string): string {
  for (const [from, to] of Object.entries(DIFFUSERS_PART)) {
    if (rest.startsWith(`${from}.`)) return `${to}${rest.slice(from.length)}`;
  }
  return rest;
}

/** One diffusers AutoencoderKL key (without prefix) -> its LDM name; `levels` reverses the decoder's order. */
function diffusersVaeKeyToLdm(key: string, levels: number): string {
  let m: RegExpMatchArray | null;
  if ((m = key.match(/^(encoder|decoder)\.conv_norm_out\.(.*)$/))) return `${m[1]}.norm_out.${m[2]}`;
  if ((m = key.match(/^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.*)$/))) return `${m[1]}.mid.block_${Number(m[2]) + 1}.${part(m[3])}`;
  if ((m = key.match(/^(encoder|decoder)\.mid_block\.attentions\.0\.(.*)$/))) return `${m[1]}.mid.attn_1.${part(m[2])}`;
  if ((m = key.match(/^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/))) return `encoder.down.${m[1]}.block.${m[2]}.${part(m[3])}`;
  if ((m = key.match(/^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$/))) return `encoder.down.${m[1]}.downsample.conv.${m[2]}`;
  // diffusers numbers the decoder's up blocks from the deepest level; LDM's `up.N` from the image resolution
  if ((m = key.match(/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/))) return `decoder.up.${levels - 1 - Number(m[1])}.block.${m[2]}.${part(m[3])}`;
  if ((m = key.match(/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$/))) return `decoder.up.${levels - 1 - Number(m[1])}.upsample.conv.${m[2]}`;
  return key;
}

/** The file as an LDM-layout VAE at the top level (`encoder.*`, `decoder.*`, `quant_conv.*`...). */
export function standaloneVaeView(file: TensorFile): TensorFile {
  for (const prefix of ['', 'first_stage_model.', 'vae.']) {
    if (file.tensors.has(`${prefix}decoder.up.0.block.0.conv1.weight`)) {
      return prefix ? renamedView(file, (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : null)) : file;
    }
    if (file.tensors.has(`${prefix}decoder.up_blocks.0.resnets.0.conv1.weight`)) {
      let levels = 0;
      while (file.tensors.has(`${prefix}decoder.up_blocks.${levels}.resnets.0.conv1.weight`)) levels++;
      return renamedView(file, (k) => (k.startsWith(prefix) ? diffusersVaeKeyToLdm(k.slice(prefix.length), levels) : null));
    }
  }
  throw new VaeFileError(`${path.basename(file.path)} is not a VAE: it has no decoder (decoder.up.N.* or decoder.up_blocks.N.*)`);
}

/** Refuses a VAE whose latent is not SD1.5's (an SD3/Flux 16-channel VAE, another down-sampling factor). */
export function checkSd15Vae(file: TensorFile): VaeConfig {
  const name = path.basename(file.path);
  const cfg = detectVae(file);
  if (cfg.latentChannels !== SD15_LATENT_CHANNELS) {
    const family = cfg.latentChannels === 16 ? ' (an SD3 or Flux VAE)' : '';
    throw new VaeFileError(`${name} is not an SD1.5 VAE: its latent has ${cfg.latentChannels} channels${family}, SD1.5's has ${SD15_LATENT_CHANNELS}`);
  }
  if (cfg.downFactor !== SD15_DOWN_FACTOR) {
    throw new VaeFileError(`${name} is not an SD1.5 VAE: it scales images down ${cfg.downFactor}x, SD1.5's VAE ${SD15_DOWN_FACTOR}x`);
  }
  return cfg;
}
