// What the training wizard says: the recipes (what each does and the data it needs, in one line each), the
// wizard's steps, run states, durations and problem kinds as an artist reads them. Pure module, tested in
// training-words.test.ts.
import {
  TRAINING_RESOLUTIONS,
  type ConditionSource,
  type TrainingResolution,
  type DatasetProblemKind,
  type TrainingRecipe,
  type TrainingRunState,
} from '../../../../src-main/common/training-contract.ts';

export interface RecipeInfo {
  id: TrainingRecipe;
  title: string;
  /** What training it gives you, one line. */
  does: string;
  /** What to bring, one line. */
  data: string;
  /** The models it trains against. */
  needs: string;
}

export const RECIPES: readonly RecipeInfo[] = [
  {
    id: 'ctrlora',
    title: 'New kind of hint (CtrLoRA)',
    does: 'Teaches a CtrLoRA Base ControlNet a new condition, which then paints as a hint kind of its own in the studio.',
    data: 'Pairs of a condition picture and the picture it should give (name.png + name.cond.png), or pictures to make edges, depth or poses from; 100 or more pairs work best.',
    needs: 'A CtrLoRA Base ControlNet and the SD1.5 checkpoint',
  },
  {
    id: 'style',
    title: 'Style / subject (LoRA)',
    does: 'Teaches the checkpoint a look, a character or an object, called up by its trigger word in the prompt.',
    data: '15 to 50 varied pictures of the style or subject, each with a caption (a .txt beside it, or written in step 3).',
    needs: 'An SD1.5 checkpoint',
  },
];

export function recipeInfo(id: TrainingRecipe): RecipeInfo {
  return RECIPES.find((r) => r.id === id) ?? RECIPES[0];
}

export type WizardStep = 'recipe' | 'data' | 'captions' | 'budget' | 'train';

export const WIZARD_STEPS: readonly { id: WizardStep; label: string; hint: string }[] = [
  { id: 'recipe', label: 'Recipe', hint: 'What to learn, on which models' },
  { id: 'data', label: 'Data', hint: 'The pictures to learn from' },
  { id: 'captions', label: 'Captions', hint: 'What each picture shows' },
  { id: 'budget', label: 'Time budget', hint: 'Timed on this machine' },
  { id: 'train', label: 'Train', hint: 'Progress, loss and samples' },
];

export const CONDITION_LABELS: Record<ConditionSource, { label: string; explain: string }> = {
  pairs: { label: 'Pairs in the folder', explain: 'Each picture has its condition beside it: name.png + name.cond.png, or target/ and condition/ folders.' },
  canny: { label: 'Edges (Canny)', explain: 'Make the condition of each picture from its edges.' },
  depth: { label: 'Depth', explain: 'Make a depth map of each picture (needs a depth annotator in the library).' },
  pose: { label: 'Pose', explain: 'Find the people in each picture and draw their poses (needs a pose annotator).' },
  none: { label: 'No condition', explain: 'Plain pictures, for a style or subject LoRA.' },
};

export const PROBLEM_LABELS: Record<DatasetProblemKind, string> = {
  unreadable: 'Unreadable',
  'too-small': 'Too small',
  unpaired: 'No pair',
  'size-mismatch': 'Sizes differ',
  unsupported: 'Not a picture',
  'caption-unreadable': 'Caption unreadable',
};

export const RUN_STATE_WORDS: Record<TrainingRunState, { label: string; tone: 'ok' | 'busy' | 'warn' | 'error' | 'idle' }> = {
  queued: { label: 'Queued', tone: 'idle' },
  running: { label: 'Training', tone: 'busy' },
  paused: { label: 'Paused', tone: 'warn' },
  interrupted: { label: 'Interrupted', tone: 'warn' },
  done: { label: 'Done', tone: 'ok' },
  failed: { label: 'Failed', tone: 'error' },
  cancelled: { label: 'Cancelled', tone: 'idle' },
};

/** A run that may still go on: the wizard opens on it rather than on a new one. */
export function isOpenRun(state: TrainingRunState): boolean {
  return state === 'queued' || state === 'running' || state === 'paused' || state === 'interrupted';
}

/** "45 s", "12 min", "1 h 05 min", "26 h": a duration as an estimate reads (no false precision). */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 24) return `${Math.round(minutes / 60)} h`;
  const rest = minutes - hours * 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${String(rest).padStart(2, '0')} min`;
}

/** Seconds per step as the budget step shows it: "0.42 s/step", "3.1 s/step", "12 steps/s". */
export function formatStepTime(secondsPerStep: number): string {
  if (!Number.isFinite(secondsPerStep) || secondsPerStep <= 0) return '—';
  if (secondsPerStep < 0.1) return `${(1 / secondsPerStep).toFixed(1).replace(/\.0$/, '')} steps/s`;
  return `${secondsPerStep < 1 ? secondsPerStep.toFixed(2) : secondsPerStep.toFixed(1)} s/step`;
}

/** A loss value with three significant digits. */
export function formatLoss(loss: number | null | undefined): string {
  if (loss === null || loss === undefined || !Number.isFinite(loss)) return '—';
  return loss >= 100 ? loss.toFixed(0) : loss.toPrecision(3);
}

/** The output name the backend would choose, for the placeholder: "blobs-ctrlora", "my-style-lora". */
export function defaultOutputName(datasetName: string, recipe: TrainingRecipe): string {
  const base = datasetName.trim().replace(/[\\/:*?"<>|\s]+/g, '-').replace(/^-+|-+$/g, '') || 'dataset';
  return `${base}-${recipe === 'ctrlora' ? 'ctrlora' : 'lora'}`;
}

/**
 * The training resolution a dataset suggests: 512 (SD1.5's own) unless most pictures are smaller, then the
 * largest resolution their shorter side fills (at least the smallest one), so small pictures are not blown up.
 */
export function suggestedResolution(items: readonly { width: number; height: number }[]): TrainingResolution {
  if (items.length === 0) return 512;
  const sides = items.map((i) => Math.min(i.width, i.height)).sort((a, b) => a - b);
  const median = sides[Math.floor((sides.length - 1) / 2)];
  if (median >= 512) return 512;
  return [...TRAINING_RESOLUTIONS].reverse().find((r) => r <= median) ?? TRAINING_RESOLUTIONS[0];
}
