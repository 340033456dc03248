// Whole-model files: SD1.5 single-file checkpoints (the one family Hintbrush runs), the families it recognises
// but does not run (SDXL, SD2, SD3, Flux), standalone VAEs and textual-inversion embeddings.
// SD1.5 and SD2 are told apart by structure, not by width (the tiny fixture's context width is 32, not 768):
// SD2 has an OpenCLIP text tower (`cond_stage_model.model.*`) and linear proj_in layers.
import { contextWidth, linearProjIn, unsupported, type Detection, type Detector, type KeyIndex } from './detect-keys.ts';

const UNET = 'model.diffusion_model.';

/** SD3 (MMDiT joint blocks) and Flux (double/single stream blocks), whole checkpoints or transformer-only files. */
export const diffusionTransformerDetector: Detector = {
  name: 'sd3-flux',
  detect(keys) {
    for (const prefix of [UNET, 'diffusion_model.', '']) {
      if (keys.hasPrefix(`${prefix}joint_blocks.`)) {
        return unsupported('sd3', 'model', prefix ? `ldm:${prefix}` : 'bare', { blocks: countBlocks(keys, `${prefix}joint_blocks.`) });
      }
      if (keys.hasPrefix(`${prefix}double_blocks.`) && keys.hasPrefix(`${prefix}single_blocks.`)) {
        return unsupported('flux', 'model', prefix ? `ldm:${prefix}` : 'bare', {
          doubleBlocks: countBlocks(keys, `${prefix}double_blocks.`),
          singleBlocks: countBlocks(keys, `${prefix}single_blocks.`),
        });
      }
    }
    return null;
  },
};

/** SDXL (base or refiner) and SD2/2.1 single-file checkpoints, and UNet-only files of either. */
export const otherUNetFamiliesDetector: Detector = {
  name: 'sdxl-sd2',
  detect(keys) {
    if (!keys.has(`${UNET}input_blocks.0.0.weight`)) return null;
    const openClip = keys.hasPrefix('cond_stage_model.model.');
    if (keys.hasPrefix('conditioner.embedders.')) {
      const refiner = !keys.hasPrefix('conditioner.embedders.0.transformer.');
      return unsupported('sdxl', 'checkpoint', 'ldm', { variant: refiner ? 'refiner' : 'base', ...unetFacts(keys) });
    }
    if (openClip || (linearProjIn(keys, UNET) && !keys.hasPrefix(`${UNET}label_emb.`))) {
      const unclip = keys.hasPrefix(`${UNET}label_emb.`);
      return unsupported('sd2', 'checkpoint', 'ldm', { ...(unclip ? { variant: 'unclip' } : {}), ...unetFacts(keys) });
    }
    if (keys.hasPrefix(`${UNET}label_emb.`)) {
      // SDXL's size/crop conditioning; SD1.5 has no class embedding
      return unsupported('sdxl', 'checkpoint', 'ldm', unetFacts(keys));
    }
    return null;
  },
};

/** An SD1.5-family single-file checkpoint: LDM UNet, optionally the LDM VAE and the CLIP-L text tower. */
export const sd15CheckpointDetector: Detector = {
  name: 'sd15-checkpoint',
  detect(keys) {
    if (!keys.has(`${UNET}input_blocks.0.0.weight`)) return null;
    const details = unetFacts(keys);
    const inChannels = Number(details.inChannels);
    details.variant = inChannels === 9 ? 'inpainting' : inChannels === 8 ? 'instruct-pix2pix' : 'text-to-image';
    details.inpainting = inChannels === 9 ? 'yes' : 'no';

    const text = keys.has('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')
      ? 'cond_stage_model.transformer.text_model.'
      : keys.has('cond_stage_model.transformer.embeddings.token_embedding.weight')
        ? 'cond_stage_model.transformer.' // transformers < 4.0 saved the text model without `text_model.`
        : undefined;
    if (text) {
      details.textWidth = keys.shape(`${text}embeddings.token_embedding.weight`)![1];
      details.textLayers = keys.distinct(new RegExp(`^${text.replace(/\./g, '\\.')}encoder\\.layers\\.(\\d+)\\.`)).size;
    }
    details.vae = keys.has('first_stage_model.encoder.conv_in.weight') ? 'included' : 'missing';
    if (keys.hasPrefix('model_ema.')) details.ema = 'included';
    details.unetDType = keys.dominantDType((n) => n.startsWith(UNET));

    const problem = text ? '' : 'the checkpoint carries no text encoder (cond_stage_model.transformer.*)';
    return { kind: 'checkpoint', layout: 'ldm', family: 'sd15', problem, details };
  },
};

/** A standalone VAE, LDM layout (`encoder.down.N.block...`) or diffusers layout (`encoder.down_blocks...`). */
export const vaeDetector: Detector = {
  name: 'vae',
  detect(keys) {
    if (keys.hasPrefix(UNET)) return null;
    for (const prefix of ['', 'first_stage_model.', 'vae.']) {
      const ldm = keys.hasPrefix(`${prefix}encoder.down.0.`) && keys.hasPrefix(`${prefix}decoder.up.0.`);
      const diffusers = keys.hasPrefix(`${prefix}encoder.down_blocks.0.`) && keys.hasPrefix(`${prefix}decoder.up_blocks.0.`);
      if (!ldm && !diffusers) continue;
      const layout = (ldm ? 'ldm' : 'diffusers') + (prefix ? `:${prefix}` : '');
      const convOut = keys.shape(`${prefix}encoder.conv_out.weight`); // [2 * latent, C, 3, 3] (mean and log-variance)
      const convIn = keys.shape(`${prefix}encoder.conv_in.weight`); // [C, 3, 3, 3]
      const details: Record<string, string | number> = {};
      if (convOut) details.latentChannels = convOut[0] / 2;
      if (convIn) details.channels = convIn[0];
      if (details.latentChannels === 16) return unsupported('sd3/flux', 'VAE (16 latent channels)', layout, details);
      // SDXL's VAE has the same shapes as SD1.5's; nothing in the weights tells them apart
      return { kind: 'vae', layout, family: 'sd15', problem: '', details };
    }
    return null;
  },
};

/** Most vectors an embedding may have: one prompt chunk (75 tokens). */
const MAX_EMBEDDING_VECTORS = 75;

/**
 * Textual-inversion embeddings: A1111 `.pt` (string_to_param), A1111 safetensors (emb_params), diffusers'
 * learned_embeds (one `{token: vectors}` tensor), SDXL's clip_l/clip_g pairs (refused). The width says which
 * text encoder they were made for: 1024 is SD2's OpenCLIP, 1280 SDXL's.
 */
export const embeddingDetector: Detector = {
  name: 'textual-inversion',
  detect(keys) {
    if (keys.size > 8) return null;
    if (keys.has('clip_l') && keys.has('clip_g')) return unsupported('sdxl', 'embedding', 'textual-inversion');
    const a1111 = keys.has('emb_params') ? 'emb_params' : keys.first(/^string_to_param\./);
    // diffusers names its one tensor after the placeholder token (`<cat-toy>`), never a dotted module path
    const single = keys.size === 1 ? keys.first(/^[^.]+$/) : undefined;
    const name = a1111 ?? single;
    if (!name) return null;
    const shape = keys.shape(name)!; // [vectors, width] or [width]
    if (shape.length < 1 || shape.length > 2) return null;
    const vectors = shape.length > 1 ? shape[0] : 1;
    // a lone tensor is a diffusers embedding only if it is a handful of vectors
    if (!a1111 && (vectors > MAX_EMBEDDING_VECTORS || shape[shape.length - 1] < 8)) return null;
    const width = shape[shape.length - 1];
    const layout = a1111 ? 'textual-inversion' : 'textual-inversion:diffusers';
    const details = { vectors, width };
    if (width === 1024) return unsupported('sd2', 'embedding', layout, details);
    if (width === 1280) return unsupported('sdxl', 'embedding', layout, details);
    const problem = vectors > MAX_EMBEDDING_VECTORS ? `the embedding has ${vectors} vectors; a prompt chunk holds at most ${MAX_EMBEDDING_VECTORS}` : '';
    const result: Detection = { kind: 'embedding', layout, family: 'sd15', problem, details };
    return result;
  },
};

/** Channels, input channels and context width of an LDM UNet under model.diffusion_model. */
function unetFacts(keys: KeyIndex): Record<string, string | number> {
  const conv = keys.shape(`${UNET}input_blocks.0.0.weight`)!; // [model channels, in channels, 3, 3]
  const facts: Record<string, string | number> = { modelChannels: conv[0], inChannels: conv[1] };
  const context = contextWidth(keys, UNET);
  if (context !== undefined) facts.contextWidth = context;
  return facts;
}

function countBlocks(keys: KeyIndex, prefix: string): number {
  return keys.distinct(new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.`)).size;
}
