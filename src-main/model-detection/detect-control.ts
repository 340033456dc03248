// Control models: ControlNet (original layout, bare or under `control_model.`, and diffusers layout),
// ControlNet-XS (two-stream: its own small UNet under `control_model.control_model.`, zero convs both ways),
// and CtrLoRA's Base ControlNet (no hint block) and condition LoRAs (`lora_layer.down/up` + zero convs + norms).
// These run before the checkpoint detectors: ControlNet 1.0 `.pth` files carry a whole SD model next to
// `control_model.*`, and what the user wants from them is the ControlNet.
import {
  contextWidth,
  linearProjIn,
  literal,
  unsupported,
  type Detection,
  type Detector,
  type KeyIndex,
} from './detect-keys.ts';

/** Where an original-layout control model's keys start: bare, or under the LDM wrapper's `control_model.`. */
const PREFIXES = ['control_model.', ''];

function layoutOf(prefix: string): string {
  return prefix ? `original:${prefix}` : 'original';
}

/** ControlNet-XS as the LDM wrapper saves it. */
export const controlNetXSDetector: Detector = {
  name: 'controlnet-xs',
  detect(keys) {
    for (const p of PREFIXES) {
      const inner = `${p}control_model.`;
      if (!keys.has(`${inner}input_blocks.0.0.weight`)) continue;
      if (!keys.hasPrefix(`${p}enc_zero_convs_in.`) && !keys.hasPrefix(`${p}enc_zero_convs_out.`)) continue;
      const conv = keys.shape(`${inner}input_blocks.0.0.weight`)!; // [control channels, 4, 3, 3]
      const details: Record<string, string | number> = {
        controlChannels: conv[0],
        inChannels: conv[1],
        encoderZeroConvs: keys.count(new RegExp(`^${literal(p)}enc_zero_convs_(in|out)\\.\\d+\\.0\\.weight$`)),
        decoderZeroConvs: keys.count(new RegExp(`^${literal(p)}dec_zero_convs_out\\.\\d+\\.0\\.weight$`)),
      };
      // control -> base zero conv: [base channels, control channels, 1, 1]
      const out = keys.shape(`${p}enc_zero_convs_out.0.0.weight`);
      if (out) {
        details.baseChannels = out[0];
        details.widthRatio = Math.round((conv[0] / out[0]) * 1000) / 1000;
      }
      const hint = keys.shape(`${p}input_hint_block.0.weight`); // [16, hint channels, 3, 3]
      if (hint) details.hintChannels = hint[1];
      const context = contextWidth(keys, inner);
      if (context !== undefined) details.contextWidth = context;
      if (keys.hasPrefix(`${inner}label_emb.`)) return unsupported('sdxl', 'ControlNet-XS', layoutOf(p), details);
      const problem = hint ? '' : 'the ControlNet-XS has no hint encoder (input_hint_block)';
      return { kind: 'cnxs', layout: layoutOf(p), family: 'sd15', problem, details };
    }
    return null;
  },
};

/** ControlNet in the original (lllyasviel) layout, with or without the `control_model.` prefix. */
export const controlNetOriginalDetector: Detector = {
  name: 'controlnet-original',
  detect(keys) {
    for (const p of PREFIXES) {
      if (!keys.has(`${p}input_hint_block.0.weight`) || !keys.has(`${p}input_blocks.0.0.weight`)) continue;
      if (!keys.hasPrefix(`${p}zero_convs.`)) continue;
      const details = controlFacts(keys, p);
      const hint = keys.shape(`${p}input_hint_block.0.weight`)!; // [16, hint channels, 3, 3]
      details.hintChannels = hint[1];
      // counted as diffusers counts them: the input zero convs and the middle block's
      details.zeroConvs = keys.count(new RegExp(`^${literal(p)}(zero_convs\\.\\d+|middle_block_out)\\.0\\.weight$`));
      if (keys.hasPrefix('model.diffusion_model.')) details.includesBaseModel = 'yes';
      return familyOrUnsupported(keys, p, 'ControlNet', { kind: 'controlnet', layout: layoutOf(p), family: 'sd15', problem: '', details });
    }
    return null;
  },
};

/** ControlNet in diffusers layout (`controlnet_cond_embedding`, `controlnet_down_blocks`). */
export const controlNetDiffusersDetector: Detector = {
  name: 'controlnet-diffusers',
  detect(keys) {
    for (const p of ['', 'controlnet.']) {
      if (!keys.hasPrefix(`${p}controlnet_cond_embedding.`) || !keys.hasPrefix(`${p}controlnet_down_blocks.`)) continue;
      const details: Record<string, string | number> = {};
      const conv = keys.shape(`${p}conv_in.weight`); // [model channels, 4, 3, 3]
      if (conv) [details.modelChannels, details.inChannels] = [conv[0], conv[1]];
      const hint = keys.shape(`${p}controlnet_cond_embedding.conv_in.weight`); // [16, hint channels, 3, 3]
      if (hint) details.hintChannels = hint[1];
      details.zeroConvs = keys.count(new RegExp(`^${literal(p)}controlnet_(down_blocks\\.\\d+|mid_block)\\.weight$`));
      const context = contextWidth(keys, p);
      if (context !== undefined) details.contextWidth = context;
      const layout = p ? `diffusers:${p}` : 'diffusers';
      if (keys.hasPrefix(`${p}add_embedding.`)) return unsupported('sdxl', 'ControlNet', layout, details);
      if (linearProjIn(keys, p)) return unsupported('sd2', 'ControlNet', layout, details);
      return { kind: 'controlnet', layout, family: 'sd15', problem: '', details };
    }
    return null;
  },
};

/** A CtrLoRA condition LoRA: LoRA factors for the Base ControlNet plus that condition's zero convs and norms. */
export const ctrLoraConditionDetector: Detector = {
  name: 'ctrlora-lora',
  detect(keys) {
    for (const p of PREFIXES) {
      const lora = new RegExp(`^${literal(p)}(input_blocks|middle_block|time_embed)\\..*\\.lora_layer\\.down\\.weight$`);
      if (!keys.first(lora)) continue;
      if (keys.has(`${p}input_blocks.0.0.weight`)) continue; // full weights: a base that carries a LoRA
      if (!keys.hasPrefix(`${p}zero_convs.`)) continue;
      const rank = keys.commonDim(lora, 0)!; // down: [rank, in features]
      const details: Record<string, string | number> = {
        rank: rank.value,
        loraLayers: keys.count(lora),
        zeroConvs: keys.count(new RegExp(`^${literal(p)}(zero_convs\\.\\d+|middle_block_out)\\.0\\.weight$`)),
        norms: keys.count(new RegExp(`^${literal(p)}.*norm\\d*\\.weight$`)),
      };
      if (rank.min !== rank.max) [details.rankMin, details.rankMax] = [rank.min, rank.max];
      return { kind: 'ctrlora-lora', layout: layoutOf(p), family: 'sd15', problem: '', details };
    }
    return null;
  },
};

/** CtrLoRA's Base ControlNet: the ControlNet layout without a hint encoder (its image input is a VAE latent). */
export const ctrLoraBaseDetector: Detector = {
  name: 'ctrlora-base',
  detect(keys) {
    for (const p of PREFIXES) {
      if (!keys.has(`${p}input_blocks.0.0.weight`) || keys.has(`${p}input_hint_block.0.weight`)) continue;
      if (!keys.hasPrefix(`${p}zero_convs.`) && !keys.hasPrefix(`${p}middle_block_out.`)) continue;
      if (p === '' && keys.hasPrefix('out.')) continue; // a bare LDM UNet has an output head; a ControlNet has none
      const details = controlFacts(keys, p);
      // the released base keeps the LoRA of a pretraining task; CtrLoRA ignores it at inference
      const pretrain = keys.commonDim(new RegExp(`^${literal(p)}.*\\.lora_layer\\.down\\.weight$`), 0);
      if (pretrain) details.pretrainLoraRank = pretrain.value;
      return familyOrUnsupported(keys, p, 'CtrLoRA Base ControlNet', {
        kind: 'ctrlora-base',
        layout: layoutOf(p),
        family: 'sd15',
        problem: '',
        details,
      });
    }
    return null;
  },
};

function controlFacts(keys: KeyIndex, p: string): Record<string, string | number> {
  const conv = keys.shape(`${p}input_blocks.0.0.weight`)!; // [model channels, in channels, 3, 3]
  const details: Record<string, string | number> = { modelChannels: conv[0], inChannels: conv[1] };
  const context = contextWidth(keys, p);
  if (context !== undefined) details.contextWidth = context;
  return details;
}

/** SDXL control models have a class embedding (size/crop conditioning); SD2 ones use linear proj_in. */
function familyOrUnsupported(keys: KeyIndex, p: string, what: string, usable: Detection): Detection {
  if (keys.hasPrefix(`${p}label_emb.`)) return unsupported('sdxl', what, usable.layout, usable.details);
  if (linearProjIn(keys, p)) return unsupported('sd2', what, usable.layout, usable.details);
  return usable;
}
