// The exact key list (names and shapes) of an SD1.5 single-file checkpoint and of an original-layout ControlNet,
// generated from architecture numbers the way LDM's `openaimodel.UNetModel`, `AutoencoderKL`, HF's
// `CLIPTextModel` and `cldm.ControlNet` lay out their parameters. With the real SD1.5 numbers it describes a
// community checkpoint; with the tiny numbers it reproduces test/fixtures/sd15-tiny exactly (sd15-layout.test.ts),
// and with other numbers it describes checkpoints we do not have, so the engine can be tested on them and
// benchmarked at full size (random-checkpoint.ts writes such files with random weights).

/** How the random writer fills a tensor. */
export type InitKind = 'weight' | 'bias' | 'norm-weight' | 'norm-bias' | 'embedding' | 'position-ids';

export interface LayoutTensor {
  name: string;
  shape: number[];
  init: InitKind;
  /** Inputs feeding one output (in x kh x kw for a convolution), for the init scale. */
  fanIn: number;
}

export interface UnetArch {
  modelChannels: number;
  channelMult: number[];
  /** Levels (indices into channelMult) whose blocks carry a SpatialTransformer; the middle block always does. */
  attentionLevels: number[];
  resBlocks: number;
  transformerDepth: number;
  contextDim: number;
  /** 4, or 9 for inpainting checkpoints (latent + mask + masked-image latent). */
  inChannels: number;
  outChannels?: number;
  /** SD2-style linear proj_in/proj_out instead of 1x1 convolutions. */
  linearProjection?: boolean;
}

export interface VaeArch {
  /** Channels of each resolution level, full resolution first. */
  channels: number[];
  resBlocks: number;
  latentChannels?: number;
}

export interface ClipTextArch {
  width: number;
  layers: number;
  mlpWidth: number;
  vocab: number;
  positions: number;
}

export interface Sd15Arch {
  unet: UnetArch;
  vae: VaeArch;
  clip: ClipTextArch;
}

export const SD15_ARCH: Sd15Arch = {
  unet: { modelChannels: 320, channelMult: [1, 2, 4, 4], attentionLevels: [0, 1, 2], resBlocks: 2, transformerDepth: 1, contextDim: 768, inChannels: 4 },
  vae: { channels: [128, 256, 512, 512], resBlocks: 2 },
  clip: { width: 768, layers: 12, mlpWidth: 3072, vocab: 49408, positions: 77 },
};

/** The architecture of test/fixtures/sd15-tiny/tiny-sd15.safetensors. */
export const TINY_ARCH: Sd15Arch = {
  unet: { modelChannels: 32, channelMult: [1, 2, 2, 2], attentionLevels: [0, 1, 2], resBlocks: 2, transformerDepth: 1, contextDim: 32, inChannels: 4 },
  vae: { channels: [32, 32, 64, 64], resBlocks: 2 },
  clip: { width: 32, layers: 2, mlpWidth: 128, vocab: 49408, positions: 77 },
};

export const UNET_PREFIX = 'model.diffusion_model.';
export const VAE_PREFIX = 'first_stage_model.';
export const CLIP_PREFIX = 'cond_stage_model.transformer.text_model.';

/** Collects tensors under a prefix with the parameter shapes of torch's layers. */
export class LayoutBuilder {
  readonly tensors: LayoutTensor[] = [];
  constructor(private readonly prefix: string) {}

  conv(name: string, cout: number, cin: number, k: number): void {
    this.tensors.push({ name: `${this.prefix}${name}.weight`, shape: [cout, cin, k, k], init: 'weight', fanIn: cin * k * k });
    this.tensors.push({ name: `${this.prefix}${name}.bias`, shape: [cout], init: 'bias', fanIn: cin * k * k });
  }

  linear(name: string, out: number, inp: number, bias = true): void {
    this.tensors.push({ name: `${this.prefix}${name}.weight`, shape: [out, inp], init: 'weight', fanIn: inp });
    if (bias) this.tensors.push({ name: `${this.prefix}${name}.bias`, shape: [out], init: 'bias', fanIn: inp });
  }

  /** GroupNorm or LayerNorm affine parameters. */
  norm(name: string, c: number): void {
    this.tensors.push({ name: `${this.prefix}${name}.weight`, shape: [c], init: 'norm-weight', fanIn: 1 });
    this.tensors.push({ name: `${this.prefix}${name}.bias`, shape: [c], init: 'norm-bias', fanIn: 1 });
  }

  add(name: string, shape: number[], init: InitKind, fanIn = 1): void {
    this.tensors.push({ name: `${this.prefix}${name}`, shape, init, fanIn });
  }
}

// ---- UNet (and the ControlNet's copy of its encoder) -----------------------------------------------------------

/** LDM ResBlock: GroupNorm, 3x3 conv, time embedding projection, GroupNorm, 3x3 conv, 1x1 skip when widths differ. */
export function resBlock(b: LayoutBuilder, path: string, cin: number, cout: number, timeDim: number): void {
  b.norm(`${path}.in_layers.0`, cin);
  b.conv(`${path}.in_layers.2`, cout, cin, 3);
  b.linear(`${path}.emb_layers.1`, cout, timeDim);
  b.norm(`${path}.out_layers.0`, cout);
  b.conv(`${path}.out_layers.3`, cout, cout, 3);
  if (cin !== cout) b.conv(`${path}.skip_connection`, cout, cin, 1);
}

/** LDM SpatialTransformer with 8 heads of ch/8 (inner width = ch), GEGLU feed-forward of 4 x inner. */
function spatialTransformer(b: LayoutBuilder, path: string, ch: number, arch: UnetArch): void {
  b.norm(`${path}.norm`, ch);
  const proj = (name: string, out: number, inp: number) => (arch.linearProjection ? b.linear(name, out, inp) : b.conv(name, out, inp, 1));
  proj(`${path}.proj_in`, ch, ch);
  for (let d = 0; d < arch.transformerDepth; d++) {
    const t = `${path}.transformer_blocks.${d}`;
    for (const [attn, kv] of [['attn1', ch], ['attn2', arch.contextDim]] as const) {
      b.linear(`${t}.${attn}.to_q`, ch, ch, false);
      b.linear(`${t}.${attn}.to_k`, ch, kv, false);
      b.linear(`${t}.${attn}.to_v`, ch, kv, false);
      b.linear(`${t}.${attn}.to_out.0`, ch, ch);
    }
    b.linear(`${t}.ff.net.0.proj`, ch * 8, ch);
    b.linear(`${t}.ff.net.2`, ch, ch * 4);
    for (const n of ['norm1', 'norm2', 'norm3']) b.norm(`${t}.${n}`, ch);
  }
  proj(`${path}.proj_out`, ch, ch);
}

/** Writes time_embed, input_blocks (from 1) and middle_block; returns the channels of every skip (input block). */
function unetEncoder(b: LayoutBuilder, arch: UnetArch, inChannels: number): number[] {
  const mc = arch.modelChannels;
  const timeDim = 4 * mc;
  b.linear('time_embed.0', timeDim, mc);
  b.linear('time_embed.2', timeDim, timeDim);
  b.conv('input_blocks.0.0', mc, inChannels, 3);
  const skips = [mc];
  let ch = mc;
  let block = 1;
  arch.channelMult.forEach((mult, level) => {
    for (let r = 0; r < arch.resBlocks; r++) {
      resBlock(b, `input_blocks.${block}.0`, ch, mult * mc, timeDim);
      ch = mult * mc;
      if (arch.attentionLevels.includes(level)) spatialTransformer(b, `input_blocks.${block}.1`, ch, arch);
      skips.push(ch);
      block++;
    }
    if (level !== arch.channelMult.length - 1) {
      b.conv(`input_blocks.${block}.0.op`, ch, ch, 3);
      skips.push(ch);
      block++;
    }
  });
  resBlock(b, 'middle_block.0', ch, ch, timeDim);
  spatialTransformer(b, 'middle_block.1', ch, arch);
  resBlock(b, 'middle_block.2', ch, ch, timeDim);
  return skips;
}

export function unetLayout(arch: UnetArch, prefix = UNET_PREFIX): LayoutTensor[] {
  const b = new LayoutBuilder(prefix);
  const mc = arch.modelChannels;
  const skips = unetEncoder(b, arch, arch.inChannels);
  let ch = skips[skips.length - 1];
  let block = 0;
  for (let level = arch.channelMult.length - 1; level >= 0; level--) {
    const out = arch.channelMult[level] * mc;
    for (let r = 0; r <= arch.resBlocks; r++) {
      const skip = skips.pop()!;
      resBlock(b, `output_blocks.${block}.0`, ch + skip, out, 4 * mc);
      ch = out;
      let j = 1;
      if (arch.attentionLevels.includes(level)) spatialTransformer(b, `output_blocks.${block}.${j++}`, ch, arch);
      if (level > 0 && r === arch.resBlocks) b.conv(`output_blocks.${block}.${j}.conv`, ch, ch, 3);
      block++;
    }
  }
  b.norm('out.0', ch);
  b.conv('out.2', arch.outChannels ?? 4, mc, 3);
  return b.tensors;
}

export interface ControlNetArch {
  /** Channels of the control image (3 for RGB hints). */
  hintChannels?: number;
  /** Multiplies the hint encoder widths 16, 32, 96, 256 of the released models. */
  hintScale?: number;
  /** Channels of the noisy latent the copy takes: 4 even beside an inpainting UNet. */
  inChannels?: number;
  /** `control_model.` in some releases; none in ControlNet 1.1 files. */
  prefix?: string;
}

/** cldm.ControlNet for the UNet `unet`: time_embed, input_hint_block, input_blocks, zero_convs, middle_block(_out). */
export function controlNetLayout(unet: UnetArch, opts: ControlNetArch = {}): LayoutTensor[] {
  const b = new LayoutBuilder(opts.prefix ?? '');
  const skips = unetEncoder(b, unet, opts.inChannels ?? 4);
  const scale = opts.hintScale ?? 1;
  const widths = [16, 16, 32, 32, 96, 96, 256].map((c) => Math.max(1, Math.round(c * scale)));
  let cin = opts.hintChannels ?? 3;
  [...widths, unet.modelChannels].forEach((cout, i) => {
    b.conv(`input_hint_block.${2 * i}`, cout, cin, 3);
    cin = cout;
  });
  skips.forEach((ch, i) => b.conv(`zero_convs.${i}.0`, ch, ch, 1));
  const mid = skips[skips.length - 1];
  b.conv('middle_block_out.0', mid, mid, 1);
  return b.tensors;
}

// ---- VAE -------------------------------------------------------------------------------------------------------

function vaeResnet(b: LayoutBuilder, path: string, cin: number, cout: number): void {
  b.norm(`${path}.norm1`, cin);
  b.conv(`${path}.conv1`, cout, cin, 3);
  b.norm(`${path}.norm2`, cout);
  b.conv(`${path}.conv2`, cout, cout, 3);
  if (cin !== cout) b.conv(`${path}.nin_shortcut`, cout, cin, 1);
}

function vaeMid(b: LayoutBuilder, path: string, ch: number): void {
  vaeResnet(b, `${path}.block_1`, ch, ch);
  b.norm(`${path}.attn_1.norm`, ch);
  for (const p of ['q', 'k', 'v', 'proj_out']) b.conv(`${path}.attn_1.${p}`, ch, ch, 1);
  vaeResnet(b, `${path}.block_2`, ch, ch);
}

/** LDM AutoencoderKL (double_z, z_channels = embed_dim = latent channels, no attention inside levels). */
export function vaeLayout(arch: VaeArch, prefix = VAE_PREFIX): LayoutTensor[] {
  const b = new LayoutBuilder(prefix);
  const z = arch.latentChannels ?? 4;
  const levels = arch.channels.length;
  b.conv('encoder.conv_in', arch.channels[0], 3, 3);
  let ch = arch.channels[0];
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < arch.resBlocks; j++) {
      vaeResnet(b, `encoder.down.${i}.block.${j}`, ch, arch.channels[i]);
      ch = arch.channels[i];
    }
    if (i !== levels - 1) b.conv(`encoder.down.${i}.downsample.conv`, ch, ch, 3);
  }
  vaeMid(b, 'encoder.mid', ch);
  b.norm('encoder.norm_out', ch);
  b.conv('encoder.conv_out', 2 * z, ch, 3);
  b.conv('quant_conv', 2 * z, 2 * z, 1);
  b.conv('post_quant_conv', z, z, 1);
  b.conv('decoder.conv_in', ch, z, 3);
  vaeMid(b, 'decoder.mid', ch);
  for (let i = levels - 1; i >= 0; i--) {
    for (let j = 0; j <= arch.resBlocks; j++) {
      vaeResnet(b, `decoder.up.${i}.block.${j}`, ch, arch.channels[i]);
      ch = arch.channels[i];
    }
    if (i !== 0) b.conv(`decoder.up.${i}.upsample.conv`, ch, ch, 3);
  }
  b.norm('decoder.norm_out', ch);
  b.conv('decoder.conv_out', 3, ch, 3);
  return b.tensors;
}

// ---- CLIP text encoder -----------------------------------------------------------------------------------------

/** HF CLIPTextModel's text_model (with its position_ids buffer, which SD1.5 checkpoints carry as I64). */
export function clipTextLayout(arch: ClipTextArch, prefix = CLIP_PREFIX): LayoutTensor[] {
  const b = new LayoutBuilder(prefix);
  const w = arch.width;
  b.add('embeddings.token_embedding.weight', [arch.vocab, w], 'embedding');
  b.add('embeddings.position_embedding.weight', [arch.positions, w], 'embedding');
  b.add('embeddings.position_ids', [1, arch.positions], 'position-ids');
  for (let i = 0; i < arch.layers; i++) {
    const l = `encoder.layers.${i}`;
    b.norm(`${l}.layer_norm1`, w);
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) b.linear(`${l}.self_attn.${p}`, w, w);
    b.norm(`${l}.layer_norm2`, w);
    b.linear(`${l}.mlp.fc1`, arch.mlpWidth, w);
    b.linear(`${l}.mlp.fc2`, w, arch.mlpWidth);
  }
  b.norm('final_layer_norm', w);
  return b.tensors;
}

/** The single-file checkpoint: UNet, VAE and text encoder under their LDM prefixes. */
export function checkpointLayout(arch: Sd15Arch): LayoutTensor[] {
  return [...unetLayout(arch.unet), ...vaeLayout(arch.vae), ...clipTextLayout(arch.clip)];
}

/** Number of values in the layout (parameters plus the position_ids buffer). */
export function layoutElements(layout: readonly LayoutTensor[]): number {
  return layout.reduce((sum, t) => sum + t.shape.reduce((a, d) => a * d, 1), 0);
}
