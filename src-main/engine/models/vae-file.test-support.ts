// Standalone VAE files made from the tiny checkpoint's own VAE for tests: its `first_stage_model.*` tensors
// without the prefix (LDM layout), and the same tensors under diffusers' AutoencoderKL names, written here
// from diffusers' own naming (not from vae-file.ts's table, which is what the tests check). Test-only code.

import { writeSafetensors } from '../../formats/safetensors.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';

export interface VaeTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** The checkpoint's VAE as a bare LDM state dict (`encoder.*`, `decoder.*`, `quant_conv.*`, `post_quant_conv.*`). */
export function ldmVaeTensors(checkpoint: TensorFile): VaeTensor[] {
  const out: VaeTensor[] = [];
  for (const [key, entry] of checkpoint.tensors) {
    if (!key.startsWith('first_stage_model.')) continue;
    out.push({ name: key.slice('first_stage_model.'.length), shape: entry.shape, data: checkpoint.readFloat32(key) });
  }
  return out;
}

export function writeVaeSafetensors(file: string, tensors: readonly VaeTensor[]): void {
  writeSafetensors(file, tensors.map((t) => ({ name: t.name, dtype: 'F32' as const, shape: [...t.shape], data: t.data })));
}

/**
 * The same VAE as diffusers saves an AutoencoderKL: down_blocks/up_blocks with resnets, the decoder's blocks
 * numbered from the deepest level, conv_norm_out, mid_block attention as linear to_q/to_k/to_v/to_out.0.
 */
export function diffusersVaeFixture(ldm: readonly VaeTensor[]): VaeTensor[] {
  let levels = 0;
  while (ldm.some((t) => t.name.startsWith(`decoder.up.${levels}.`))) levels++;
  const resnet: Record<string, string> = { nin_shortcut: 'conv_shortcut' };
  const attention: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };
  return ldm.map((t) => {
    let m: RegExpMatchArray | null;
    let name = t.name;
    let shape = t.shape;
    if ((m = name.match(/^(encoder|decoder)\.norm_out\.(.+)$/))) name = `${m[1]}.conv_norm_out.${m[2]}`;
    else if ((m = name.match(/^(encoder|decoder)\.mid\.block_(\d)\.([a-z_0-9]+)\.(.+)$/))) {
      name = `${m[1]}.mid_block.resnets.${Number(m[2]) - 1}.${resnet[m[3]] ?? m[3]}.${m[4]}`;
    } else if ((m = name.match(/^(encoder|decoder)\.mid\.attn_1\.([a-z_]+)\.(.+)$/))) {
      name = `${m[1]}.mid_block.attentions.0.${attention[m[2]]}.${m[3]}`;
      if (m[2] !== 'norm' && shape.length === 4) shape = shape.slice(0, 2); // diffusers keeps them as Linear
    } else if ((m = name.match(/^encoder\.down\.(\d+)\.block\.(\d+)\.([a-z_0-9]+)\.(.+)$/))) {
      name = `encoder.down_blocks.${m[1]}.resnets.${m[2]}.${resnet[m[3]] ?? m[3]}.${m[4]}`;
    } else if ((m = name.match(/^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$/))) {
      name = `encoder.down_blocks.${m[1]}.downsamplers.0.conv.${m[2]}`;
    } else if ((m = name.match(/^decoder\.up\.(\d+)\.block\.(\d+)\.([a-z_0-9]+)\.(.+)$/))) {
      name = `decoder.up_blocks.${levels - 1 - Number(m[1])}.resnets.${m[2]}.${resnet[m[3]] ?? m[3]}.${m[4]}`;
    } else if ((m = name.match(/^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$/))) {
      name = `decoder.up_blocks.${levels - 1 - Number(m[1])}.upsamplers.0.conv.${m[2]}`;
    }
    return { name, shape, data: t.data };
  });
}
