// Original-layout (LDM) ControlNet key -> diffusers ControlNetModel parameter name: the names training writes
// for ControlNet parameters (`controlnet.<diffusers name>`, `lora_controlnet_<diffusers module path>`). The
// block table is derived from the ControlNet's own structure, the way diffusers numbers its blocks (the
// reverse of key-layouts.ts's diffusersControlNetToLdm, which the tests use as the cross-check).

import type { ControlNetConfig } from '../../models/controlnet.ts';

const RESNET_TO_DIFFUSERS: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

/** LDM block path (`input_blocks.4.1`) -> diffusers module path (`down_blocks.1.attentions.0`) and its kind. */
function blockTable(cfg: ControlNetConfig): Map<string, { path: string; kind: 'res' | 'other' }> {
  const table = new Map<string, { path: string; kind: 'res' | 'other' }>();
  table.set('time_embed.0', { path: 'time_embedding.linear_1', kind: 'other' });
  table.set('time_embed.2', { path: 'time_embedding.linear_2', kind: 'other' });
  table.set('input_blocks.0.0', { path: 'conv_in', kind: 'other' });
  table.set('middle_block_out.0', { path: 'controlnet_mid_block', kind: 'other' });
  cfg.hintConvs.forEach(({ index }, i) => {
    const last = i === cfg.hintConvs.length - 1;
    const path = i === 0 ? 'controlnet_cond_embedding.conv_in' : last ? 'controlnet_cond_embedding.conv_out' : `controlnet_cond_embedding.blocks.${i - 1}`;
    table.set(`input_hint_block.${index}`, { path, kind: 'other' });
  });
  cfg.inputBlocks.forEach((_, i) => table.set(`zero_convs.${i}.0`, { path: `controlnet_down_blocks.${i}`, kind: 'other' }));
  let level = 0;
  let within = 0;
  for (const block of cfg.inputBlocks.slice(1)) {
    for (const layer of block.layers) {
      if (layer.kind === 'res') table.set(layer.path, { path: `down_blocks.${level}.resnets.${within}`, kind: 'res' });
      else if (layer.kind === 'transformer') table.set(layer.path, { path: `down_blocks.${level}.attentions.${within}`, kind: 'other' });
      else if (layer.kind === 'down') table.set(`${layer.path}.op`, { path: `down_blocks.${level}.downsamplers.0.conv`, kind: 'other' });
    }
    if (block.layers.some((l) => l.kind === 'down')) {
      level++;
      within = 0;
    } else within++;
  }
  let res = 0;
  for (const layer of cfg.middle) {
    if (layer.kind === 'res') table.set(layer.path, { path: `mid_block.resnets.${res++}`, kind: 'res' });
    else if (layer.kind === 'transformer') table.set(layer.path, { path: 'mid_block.attentions.0', kind: 'other' });
  }
  return table;
}

/** Returns a function mapping an LDM ControlNet key (or module path) to its diffusers name, null if unknown. */
export function controlNetDiffusersNamer(cfg: ControlNetConfig): (ldm: string) => string | null {
  const table = blockTable(cfg);
  return (ldm) => {
    const parts = ldm.split('.');
    for (let cut = Math.min(4, parts.length); cut >= 2; cut--) {
      const found = table.get(parts.slice(0, cut).join('.'));
      if (!found) continue;
      let rest = parts.slice(cut).join('.');
      if (found.kind === 'res') {
        const head = Object.keys(RESNET_TO_DIFFUSERS).find((k) => rest === k || rest.startsWith(`${k}.`));
        if (head) rest = RESNET_TO_DIFFUSERS[head] + rest.slice(head.length);
      }
      return rest ? `${found.path}.${rest}` : found.path;
    }
    return null;
  };
}
