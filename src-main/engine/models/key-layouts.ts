// Other key layouts translated to the LDM names the model code walks, as data (name tables) rather than
// code paths: a diffusers ControlNet becomes a view of the same file under original-layout names, and a
// prefixed file (`control_model.`) a view without the prefix. Views share the file: bytes are never copied.

import type { TensorEntry, TensorFile } from '../../formats/tensor-file.ts';

/** A TensorFile whose keys are renamed; reads go to the underlying file under the original names. */
export function renamedView(file: TensorFile, rename: (key: string) => string | null): TensorFile {
  const tensors = new Map<string, TensorEntry>();
  const original = new Map<string, string>();
  for (const [key, entry] of file.tensors) {
    const name = rename(key);
    if (name === null) continue;
    tensors.set(name, { ...entry, name });
    original.set(name, key);
  }
  const source = (name: string) => original.get(name) ?? name;
  return {
    path: file.path,
    format: file.format,
    sizeBytes: file.sizeBytes,
    tensors,
    metadata: file.metadata,
    readBytes: (name) => file.readBytes(source(name)),
    readFloat32: (name) => file.readFloat32(source(name)),
    close: () => file.close(),
  };
}

/** Keys under `prefix`, with the prefix removed; other keys dropped. */
export function withoutPrefix(file: TensorFile, prefix: string): TensorFile {
  if (!prefix) return file;
  return renamedView(file, (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : null));
}

const RESNET_TO_LDM: Record<string, string> = {
  norm1: 'in_layers.0',
  conv1: 'in_layers.2',
  time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0',
  conv2: 'out_layers.3',
  conv_shortcut: 'skip_connection',
};

function resnetPart(rest: string): string {
  const [part, ...tail] = rest.split('.');
  return [RESNET_TO_LDM[part] ?? part, ...tail].join('.');
}

/** diffusers ControlNetModel key -> original ControlNet (LDM) key. */
export function diffusersControlNetToLdm(file: TensorFile): TensorFile {
  let resnetsPerLevel = 0;
  while (file.tensors.has(`down_blocks.0.resnets.${resnetsPerLevel}.conv1.weight`)) resnetsPerLevel++;
  const perLevel = resnetsPerLevel + 1;
  let hintBlocks = 0;
  while (file.tensors.has(`controlnet_cond_embedding.blocks.${hintBlocks}.weight`)) hintBlocks++;
  const mid = ['resnets.0', 'attentions.0', 'resnets.1'];
  return renamedView(file, (key) => {
    let m: RegExpMatchArray | null;
    if ((m = key.match(/^conv_in\.(.*)$/))) return `input_blocks.0.0.${m[1]}`;
    if ((m = key.match(/^time_embedding\.linear_([12])\.(.*)$/))) return `time_embed.${m[1] === '1' ? 0 : 2}.${m[2]}`;
    if ((m = key.match(/^controlnet_cond_embedding\.conv_in\.(.*)$/))) return `input_hint_block.0.${m[1]}`;
    if ((m = key.match(/^controlnet_cond_embedding\.blocks\.(\d+)\.(.*)$/))) return `input_hint_block.${2 * (Number(m[1]) + 1)}.${m[2]}`;
    if ((m = key.match(/^controlnet_cond_embedding\.conv_out\.(.*)$/))) return `input_hint_block.${2 * (hintBlocks + 1)}.${m[1]}`;
    if ((m = key.match(/^controlnet_down_blocks\.(\d+)\.(.*)$/))) return `zero_convs.${m[1]}.0.${m[2]}`;
    if ((m = key.match(/^controlnet_mid_block\.(.*)$/))) return `middle_block_out.0.${m[1]}`;
    if ((m = key.match(/^down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/))) {
      return `input_blocks.${1 + Number(m[1]) * perLevel + Number(m[2])}.0.${resnetPart(m[3])}`;
    }
    if ((m = key.match(/^down_blocks\.(\d+)\.attentions\.(\d+)\.(.*)$/))) {
      return `input_blocks.${1 + Number(m[1]) * perLevel + Number(m[2])}.1.${m[3]}`;
    }
    if ((m = key.match(/^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$/))) return `input_blocks.${(Number(m[1]) + 1) * perLevel}.0.op.${m[2]}`;
    if ((m = key.match(/^mid_block\.(resnets\.\d+|attentions\.0)\.(.*)$/))) {
      const index = mid.indexOf(m[1]);
      return index < 0 ? null : `middle_block.${index}.${m[1].startsWith('resnets') ? resnetPart(m[2]) : m[2]}`;
    }
    return key;
  });
}

/**
 * `base` with some keys taken from `overlay` instead: entries keep pointing into their own file (sourcePath), so
 * the graph reads each weight from where it lies. `takeFromOverlay(key)` says which base keys are replaced.
 */
export function overlayView(base: TensorFile, overlay: TensorFile, takeFromOverlay: (key: string) => boolean): TensorFile {
  const tensors = new Map<string, TensorEntry>();
  const owner = new Map<string, TensorFile>();
  for (const [key, entry] of base.tensors) {
    if (takeFromOverlay(key)) continue;
    tensors.set(key, { ...entry, sourcePath: entry.sourcePath ?? base.path });
    owner.set(key, base);
  }
  for (const [key, entry] of overlay.tensors) {
    if (!takeFromOverlay(key)) continue;
    tensors.set(key, { ...entry, sourcePath: entry.sourcePath ?? overlay.path });
    owner.set(key, overlay);
  }
  const of = (name: string) => owner.get(name) ?? base;
  return {
    path: base.path,
    format: base.format,
    sizeBytes: base.sizeBytes + overlay.sizeBytes,
    tensors,
    metadata: base.metadata,
    readBytes: (name) => of(name).readBytes(name),
    readFloat32: (name) => of(name).readFloat32(name),
    close: () => {
      base.close();
      overlay.close();
    },
  };
}
