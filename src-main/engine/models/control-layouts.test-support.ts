// Key layouts of the control models we only have tiny fixtures of, generated from architecture numbers the way
// sd15-layout.ts generates the checkpoint's, so the bench can write full-size random ones:
// - a CtrLoRA Base ControlNet: the ControlNet layout under `control_model.` without `input_hint_block`, plus a
//   pretraining-task LoRA (`<path>.lora_layer.down/up.weight`) on every linear layer, as the released base has;
// - a CtrLoRA condition: that LoRA, the zero convs, middle_block_out and every norm tensor (the keys CtrLoRA
//   takes from a condition file);
// - a ControlNet-XS ("encoder_double" TwoStreamControlNet, infusion by concatenation into the control stream,
//   as the LDM wrapper saves it under `control_model.`): a control encoder of width ratio x the UNet's, its
//   zero convs in both directions and into the decoder, a ControlNet hint encoder, `scale_list`.
// control-layouts.test.ts checks that the tiny architecture reproduces the tiny fixtures' keys and shapes.

import { controlNetLayout, LayoutBuilder, resBlock, type LayoutTensor, type UnetArch } from './sd15-layout.test-support.ts';

const weight = (name: string, shape: number[], fanIn: number): LayoutTensor => ({ name, shape, init: 'weight', fanIn });

/** CtrLoRA's Base ControlNet with its pretraining LoRA of `rank` (128 in the release). */
export function ctrLoraBaseLayout(unet: UnetArch, rank = 128): LayoutTensor[] {
  const cn = controlNetLayout(unet, { prefix: 'control_model.' }).filter((t) => !t.name.includes('input_hint_block'));
  const loras = cn
    .filter((t) => t.shape.length === 2 && t.name.endsWith('.weight'))
    .flatMap((t) => {
      const path = t.name.slice(0, -'.weight'.length);
      const [out, inp] = t.shape;
      // up's scale is kept small: the random LoRA should nudge the layer, not double it
      return [weight(`${path}.lora_layer.down.weight`, [rank, inp], inp), weight(`${path}.lora_layer.up.weight`, [out, rank], rank * 16)];
    });
  return [...cn, ...loras];
}

/** A CtrLoRA condition file's layout for a base of `unet`'s architecture. */
export function ctrLoraConditionLayout(unet: UnetArch, rank = 128): LayoutTensor[] {
  const taken = (k: string) => k.includes('lora_layer') || k.includes('zero_convs') || k.includes('middle_block_out') || k.includes('norm');
  return ctrLoraBaseLayout(unet, rank).filter((t) => taken(t.name));
}

/** The control stream's SpatialTransformer: 8 heads of max(8, width / 8) channels, 1x1 projections. */
function xsTransformer(b: LayoutBuilder, path: string, ch: number, contextDim: number): void {
  const inner = 8 * Math.max(8, Math.floor(ch / 8));
  b.norm(`${path}.norm`, ch);
  b.conv(`${path}.proj_in`, inner, ch, 1);
  const t = `${path}.transformer_blocks.0`;
  for (const [attn, kv] of [['attn1', inner], ['attn2', contextDim]] as const) {
    b.linear(`${t}.${attn}.to_q`, inner, inner, false);
    b.linear(`${t}.${attn}.to_k`, inner, kv, false);
    b.linear(`${t}.${attn}.to_v`, inner, kv, false);
    b.linear(`${t}.${attn}.to_out.0`, inner, inner);
  }
  b.linear(`${t}.ff.net.0.proj`, inner * 8, inner);
  b.linear(`${t}.ff.net.2`, inner, inner * 4);
  for (const n of ['norm1', 'norm2', 'norm3']) b.norm(`${t}.${n}`, inner);
  b.conv(`${path}.proj_out`, ch, inner, 1);
}

/** A ControlNet-XS for `unet` whose control stream is `ratio` x as wide (released SD1.5 ones are far narrower). */
export function cnxsLayout(unet: UnetArch, ratio: number): LayoutTensor[] {
  const mc = unet.modelChannels;
  const timeDim = 4 * mc;
  const ctr = new LayoutBuilder('control_model.control_model.');
  const own = new LayoutBuilder('control_model.');
  const cw = (level: number) => Math.max(1, Math.round(unet.channelMult[level] * mc * ratio));
  // Widths after each encoder block (block 0 = conv_in), in the base and in the control stream.
  const baseW: number[] = [mc];
  const ctrW: number[] = [cw(0)];
  ctr.conv('input_blocks.0.0', cw(0), 4, 3);
  let block = 1;
  unet.channelMult.forEach((mult, level) => {
    for (let r = 0; r < unet.resBlocks; r++) {
      const cin = ctrW[block - 1] + baseW[block - 1]; // control features cat base features (enc_zero_convs_in)
      resBlock(ctr, `input_blocks.${block}.0`, cin, cw(level), timeDim);
      if (unet.attentionLevels.includes(level)) xsTransformer(ctr, `input_blocks.${block}.1`, cw(level), unet.contextDim);
      baseW.push(mult * mc);
      ctrW.push(cw(level));
      block++;
    }
    if (level !== unet.channelMult.length - 1) {
      ctr.conv(`input_blocks.${block}.0.op`, cw(level), ctrW[block - 1] + baseW[block - 1], 3);
      baseW.push(mult * mc);
      ctrW.push(cw(level));
      block++;
    }
  });
  const last = unet.channelMult.length - 1;
  resBlock(ctr, 'middle_block.0', ctrW[block - 1] + baseW[block - 1], cw(last), timeDim);
  xsTransformer(ctr, 'middle_block.1', cw(last), unet.contextDim);
  resBlock(ctr, 'middle_block.2', cw(last), cw(last), timeDim);
  const n = baseW.length;
  for (let i = 0; i < n; i++) own.conv(`enc_zero_convs_out.${i}.0`, baseW[i], ctrW[i], 1);
  for (let i = 0; i < n; i++) own.conv(`enc_zero_convs_in.${i}.0`, baseW[i], baseW[i], 1);
  // Output block j starts from the base width left by block j - 1 (the middle block's for j = 0) and takes
  // the control skip of encoder block n - 1 - j.
  const outW: number[] = [];
  for (let level = last; level >= 0; level--) for (let r = 0; r <= unet.resBlocks; r++) outW.push(unet.channelMult[level] * mc);
  for (let j = 0; j < n; j++) own.conv(`dec_zero_convs_out.${j}.0`, j === 0 ? baseW[n - 1] : outW[j - 1], ctrW[n - 1 - j], 1);
  own.conv('middle_block_out.0', baseW[n - 1], cw(last), 1);
  let cin = 3;
  [16, 16, 32, 32, 96, 96, 256, cw(0)].forEach((cout, i) => {
    own.conv(`input_hint_block.${2 * i}`, cout, cin, 3);
    cin = cout;
  });
  const scales: LayoutTensor = { name: 'control_model.scale_list', shape: [2 * n + 1], init: 'norm-weight', fanIn: 1 };
  return [scales, ...ctr.tensors, ...own.tensors];
}
