// How each model kind is named and ordered in the UI. The kinds themselves come from the contract.
import type { ModelKind } from '../../../src-main/common/contract.ts';

export interface KindInfo {
  kind: ModelKind;
  /** Short badge text. */
  label: string;
  /** Plural heading for groups and filters. */
  plural: string;
  /** One line for tooltips and the empty state. */
  description: string;
}

/** Display order: what an artist picks most often first, the files Hintbrush cannot use last. */
export const KINDS: readonly KindInfo[] = [
  { kind: 'checkpoint', label: 'Checkpoint', plural: 'Checkpoints', description: 'Stable Diffusion 1.5 base models' },
  { kind: 'controlnet', label: 'ControlNet', plural: 'ControlNets', description: 'Steer generation with a hint image' },
  { kind: 'lora', label: 'LoRA', plural: 'LoRAs', description: 'Small add-ons for styles, characters, concepts' },
  { kind: 'vae', label: 'VAE', plural: 'VAEs', description: 'Decoders that turn latents into pixels' },
  { kind: 'embedding', label: 'Embedding', plural: 'Embeddings', description: 'Textual inversions, named in a prompt' },
  { kind: 'ctrlora-base', label: 'CtrLoRA base', plural: 'CtrLoRA bases', description: 'Shared CtrLoRA ControlNet' },
  {
    kind: 'ctrlora-lora',
    label: 'CtrLoRA cond.',
    plural: 'CtrLoRA conditions',
    description: 'One condition for a CtrLoRA base',
  },
  { kind: 'cnxs', label: 'ControlNet-XS', plural: 'ControlNet-XS', description: 'Lightweight two-stream control' },
  { kind: 'annotator', label: 'Annotator', plural: 'Annotators', description: 'Turn a picture into a hint' },
  { kind: 'upscaler', label: 'Upscaler', plural: 'Upscalers', description: 'Image upscalers (ESRGAN family) for hires fix' },
  { kind: 'unsupported', label: 'Unsupported', plural: 'Unsupported', description: 'A family Hintbrush does not run' },
  { kind: 'unknown', label: 'Unknown', plural: 'Unknown', description: 'Not recognised as a model' },
];

const BY_KIND = new Map(KINDS.map((k, i) => [k.kind, { ...k, order: i }]));

export function kindInfo(kind: string): KindInfo {
  return BY_KIND.get(kind as ModelKind) ?? { kind: 'unknown', label: kind, plural: kind, description: '' };
}

/** Sort key for a kind; kinds this build does not know sort after every known one. */
export function kindOrder(kind: string): number {
  return BY_KIND.get(kind as ModelKind)?.order ?? KINDS.length;
}

/** Kinds whose files Hintbrush cannot use as they are. */
export function isUnusableKind(kind: string): boolean {
  return kind === 'unsupported' || kind === 'unknown';
}

const FAMILY_LABELS: Record<string, string> = {
  sd15: 'SD 1.5',
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  sdxl: 'SDXL',
  sd3: 'SD 3',
  flux: 'Flux',
  pixart: 'PixArt',
  cascade: 'Cascade',
};

/** "SD 1.5" for 'sd15'; unknown families as given; '' as a dash. */
export function familyLabel(family: string): string {
  if (!family) return '—';
  return FAMILY_LABELS[family.toLowerCase()] ?? family;
}
