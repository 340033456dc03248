// Writes trained parameters as the files other tools load, atomically (writeSafetensors: temp file, fsync,
// rename): a crash never leaves half a LoRA where the library would index it.
//
// - style: kohya's layout (`lora_unet_*` / `lora_te_*` with `.lora_down.weight`, `.lora_up.weight` and a scalar
//   `.alpha` per module) and kohya's `ss_*` metadata as train_network.py writes it, plus the SAI model-spec
//   fields, so A1111, ComfyUI and Civitai read rank, alpha, base model, resolution, steps and tags from it.
// - ctrlora: a CtrLoRA condition as the authors release them: `control_model.<path>.lora_layer.down/up.weight`
//   with that condition's zero convolutions and norm layers, named exactly as the trained parameters are.
// Both carry `hintbrush_training` (the run's settings as JSON) so the library shows how a model was made.

import { createHash, randomUUID } from 'node:crypto';
import { float32ToFloat16 } from '../../formats/dtype-convert.ts';
import { encodeSafetensors, writeSafetensors, type TensorToWrite } from '../../formats/safetensors.ts';
import type { DType } from '../../formats/tensor-file.ts';

export interface WrittenParam {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

function tensor(name: string, shape: readonly number[], data: Float32Array, dtype: 'F16' | 'F32'): TensorToWrite {
  return { name, dtype: dtype as DType, shape, data: dtype === 'F16' ? float32ToFloat16(data) : data };
}

/** kohya's tag frequency: each caption split at commas, tags trimmed, counted per dataset folder. */
export function tagFrequency(captions: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const caption of captions) {
    for (const raw of caption.split(',')) {
      const tag = raw.trim();
      if (tag) counts[tag] = (counts[tag] ?? 0) + 1;
    }
  }
  return counts;
}

export interface StyleLoraInfo {
  outputName: string;
  rank: number;
  alpha: number;
  steps: number;
  lr: number;
  batchSize: number;
  /** Training resolution (square side the buckets hold the pixels of). */
  resolution: number;
  seed: number;
  trainTextEncoder: boolean;
  mixedPrecision: 'fp16' | 'no';
  gradientCheckpointing: boolean;
  /** Dataset folder name (kohya keys tag frequencies and image counts by it) and its captions. */
  datasetName: string;
  captions: readonly string[];
  imageCount: number;
  buckets: readonly { width: number; height: number; count: number }[];
  baseModelName: string;
  /** A1111's checkpoint hash (sha256[0:10]) when known. */
  baseModelHash: string;
  startedAt: Date;
  finishedAt: Date;
  /** The run's settings as recorded (hintbrush_training). */
  settings: unknown;
}

/** The `ss_*` metadata of kohya's train_network.py (values are strings, JSON where kohya writes JSON). */
export function kohyaMetadata(info: StyleLoraInfo): Record<string, string> {
  const batchesPerEpoch = Math.max(1, Math.ceil(info.imageCount / info.batchSize));
  const epochs = Math.max(1, Math.ceil(info.steps / batchesPerEpoch));
  const seconds = (d: Date) => String(Math.floor(d.getTime() / 1000));
  const bucketInfo = {
    buckets: Object.fromEntries(info.buckets.map((b, i) => [String(i), { resolution: [b.width, b.height], count: b.count }])),
    mean_img_ar_error: 0,
  };
  return {
    ss_session_id: String(Number.parseInt(randomUUID().slice(0, 8), 16)),
    ss_training_started_at: seconds(info.startedAt),
    ss_training_finished_at: seconds(info.finishedAt),
    ss_output_name: info.outputName,
    ss_learning_rate: String(info.lr),
    ss_unet_lr: String(info.lr),
    ss_text_encoder_lr: info.trainTextEncoder ? String(info.lr) : 'None',
    ss_num_train_images: String(info.imageCount),
    ss_num_reg_images: '0',
    ss_num_batches_per_epoch: String(batchesPerEpoch),
    ss_num_epochs: String(epochs),
    ss_epoch: String(epochs),
    ss_steps: String(info.steps),
    ss_max_train_steps: String(info.steps),
    ss_batch_size_per_device: String(info.batchSize),
    ss_total_batch_size: String(info.batchSize),
    ss_gradient_checkpointing: String(info.gradientCheckpointing ? 'True' : 'False'),
    ss_gradient_accumulation_steps: '1',
    ss_lr_warmup_steps: '0',
    ss_lr_scheduler: 'constant',
    ss_optimizer: 'torch.optim.adamw.AdamW(weight_decay=0.01,betas=(0.9, 0.999),eps=1e-08)',
    ss_max_grad_norm: '0.0',
    ss_network_module: 'networks.lora',
    ss_network_dim: String(info.rank),
    ss_network_alpha: String(info.alpha),
    ss_network_dropout: 'None',
    ss_network_args: 'null',
    ss_mixed_precision: info.mixedPrecision,
    ss_full_fp16: 'False',
    ss_v2: 'False',
    ss_base_model_version: 'sd_v1',
    ss_clip_skip: 'None',
    ss_max_token_length: 'None',
    ss_cache_latents: 'True',
    ss_seed: String(info.seed),
    ss_noise_offset: 'None',
    ss_min_snr_gamma: 'None',
    ss_caption_dropout_rate: '0.0',
    ss_caption_tag_dropout_rate: '0.0',
    ss_prior_loss_weight: '1.0',
    ss_flip_aug: 'True',
    ss_color_aug: 'False',
    ss_shuffle_caption: 'False',
    ss_keep_tokens: '0',
    ss_resolution: `(${info.resolution}, ${info.resolution})`,
    ss_enable_bucket: 'True',
    ss_min_bucket_reso: '256',
    ss_max_bucket_reso: String(Math.max(1024, info.resolution * 2)),
    ss_bucket_no_upscale: 'False',
    ss_bucket_info: JSON.stringify(bucketInfo),
    ss_dataset_dirs: JSON.stringify({ [info.datasetName]: { n_repeats: 1, img_count: info.imageCount } }),
    ss_tag_frequency: JSON.stringify({ [info.datasetName]: tagFrequency(info.captions) }),
    ss_sd_model_name: info.baseModelName,
    ss_sd_model_hash: info.baseModelHash,
    ss_new_sd_model_hash: info.baseModelHash,
    ss_training_comment: 'Trained with Hintbrush',
    'modelspec.sai_model_spec': '1.0.0',
    'modelspec.architecture': 'stable-diffusion-v1/lora',
    'modelspec.implementation': 'diffusers',
    'modelspec.title': info.outputName,
    'modelspec.resolution': `${info.resolution}x${info.resolution}`,
    'modelspec.date': info.finishedAt.toISOString().slice(0, 19),
    hintbrush_training: JSON.stringify(info.settings),
  };
}

/** kohya's addnet hash: SHA-256 of everything after the safetensors header (metadata edits keep it). */
function tensorBytesHash(tensors: readonly TensorToWrite[]): string {
  const bytes = encodeSafetensors(tensors);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  return createHash('sha256').update(bytes.subarray(8 + headerLength)).digest('hex');
}

/**
 * Writes a kohya-layout LoRA: every `<module>.lora_down.weight` / `.lora_up.weight` pair of `params` plus its
 * `<module>.alpha`. Stored in float16 (kohya's usual save precision) unless asked otherwise.
 */
export function writeStyleLora(file: string, params: readonly WrittenParam[], info: StyleLoraInfo, dtype: 'F16' | 'F32' = 'F16'): void {
  const tensors: TensorToWrite[] = [];
  const modules = new Set<string>();
  for (const p of params) {
    const m = /^(lora_(?:unet|te)_\w+)\.lora_(?:down|up)\.weight$/.exec(p.name);
    if (!m) throw new Error(`${file}: '${p.name}' is not a kohya LoRA parameter name`);
    modules.add(m[1]);
    tensors.push(tensor(p.name, p.shape, p.data, dtype));
  }
  for (const module of modules) tensors.push(tensor(`${module}.alpha`, [], Float32Array.of(info.alpha), dtype));
  const metadata = kohyaMetadata(info);
  metadata.sshs_model_hash = tensorBytesHash(tensors);
  writeSafetensors(file, tensors, metadata);
}

export interface ConditionInfo {
  outputName: string;
  /** What the condition images are: 'canny', 'depth', 'pose', or the dataset's name for pairs. */
  condition: string;
  rank: number;
  steps: number;
  lr: number;
  baseName: string;
  baseModelName: string;
  settings: unknown;
}

/** Writes a CtrLoRA condition file: the trained parameters under their release names (`control_model.*`). */
export function writeCtrLoraCondition(file: string, params: readonly WrittenParam[], info: ConditionInfo, dtype: 'F16' | 'F32' = 'F32'): void {
  const tensors = params.map((p) => {
    if (!p.name.startsWith('control_model.')) throw new Error(`${file}: '${p.name}' is not a CtrLoRA condition key`);
    return tensor(p.name, p.shape, p.data, dtype);
  });
  writeSafetensors(file, tensors, {
    format: 'pt',
    ctrlora_condition: info.condition,
    ctrlora_rank: String(info.rank),
    ctrlora_base: info.baseName,
    ctrlora_sd_model: info.baseModelName,
    ctrlora_steps: String(info.steps),
    ctrlora_learning_rate: String(info.lr),
    'modelspec.title': info.outputName,
    hintbrush_training: JSON.stringify(info.settings),
  });
}
