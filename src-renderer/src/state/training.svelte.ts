// The training wizard's state: the recipe and its models, the imported dataset and its captions, the
// calibration of this machine and the time budget, the run's settings, and the run the last step watches.
// One per app (per Session), made on first use like the studio, so that leaving the view keeps the wizard
// where it was and a run started here goes on being followed.
import type {
  CalibrationReport,
  ConditionSource,
  DatasetReport,
  DatasetSummary,
  TrainingPresetName,
  TrainingRecipe,
  TrainingResolution,
  TrainingStartInput,
} from '../../../src-main/common/training-contract.ts';
import type { LibraryItem } from '../../../src-main/common/contract.ts';
import { errorText } from '../transport/client.ts';
import { isOpenRun, suggestedResolution, type WizardStep } from '../components/training/training-words.ts';
import type { AppContext } from './context.ts';
import { TrainingRuns } from './training-runs.svelte.ts';

export type Budget = TrainingPresetName | 'custom';

export interface RunOptions {
  rank: number;
  lr: number;
  resolution: TrainingResolution;
  batchSize: number;
  trainTextEncoder: boolean;
  sampleEvery: number;
  samplePrompt: string;
  checkpointEvery: number;
  /** Fixed for the samples (and data order, noise); null lets main draw one, recorded in the run. */
  seed: number | null;
  outputName: string;
}

const usable = (items: readonly LibraryItem[], kind: LibraryItem['kind']) => items.filter((i) => i.kind === kind && i.problem === '');

export class TrainingWizard {
  readonly runs: TrainingRuns;
  step = $state<WizardStep>('recipe');
  recipe = $state<TrainingRecipe>('ctrlora');
  /** Chosen by hand; null follows the library (the studio's checkpoint, the first Base ControlNet). */
  pickedCheckpoint = $state<number | null>(null);
  pickedBase = $state<number | null>(null);

  condition = $state<ConditionSource>('pairs');
  importing = $state(false);
  importError = $state('');
  dataset = $state.raw<DatasetReport | null>(null);
  datasets = $state.raw<DatasetSummary[]>([]);
  /** Caption saves per item: 'saving' while one is on its way, 'error' when it failed. */
  captionState = $state<Record<number, 'saving' | 'saved' | 'error'>>({});

  calibration = $state.raw<CalibrationReport | null>(null);
  calibrating = $state(false);
  calibrateError = $state('');
  /** The settings the calibration measured (another rank or resolution needs a new one). */
  private calibratedKey = $state('');
  budget = $state<Budget>('standard');
  customSteps = $state(400);
  options = $state<RunOptions>({
    rank: 16,
    lr: 1e-4,
    resolution: 512,
    batchSize: 1,
    trainTextEncoder: false,
    sampleEvery: 100,
    samplePrompt: '',
    checkpointEvery: 50,
    seed: null,
    outputName: '',
  });
  starting = $state(false);
  startError = $state('');
  /** The run the last step shows. */
  runId = $state<number | null>(null);

  // .by: the closures read this.app and this.runs lazily, after the constructor set them
  readonly checkpoints = $derived.by(() => usable(this.app.library.items, 'checkpoint'));
  readonly bases = $derived.by(() => usable(this.app.library.items, 'ctrlora-base'));
  readonly checkpointId = $derived.by(
    () => this.checkpoints.find((c) => c.id === this.pickedCheckpoint)?.id ?? this.app.library.checkpoint?.id ?? this.checkpoints[0]?.id ?? null,
  );
  readonly baseId = $derived(this.bases.find((b) => b.id === this.pickedBase)?.id ?? this.bases[0]?.id ?? null);
  readonly run = $derived.by(() => this.runs.find(this.runId));
  readonly calibrated = $derived(this.calibration !== null && this.calibratedKey === this.calibrationKey());
  readonly plannedSteps = $derived(
    this.budget === 'custom' ? this.customSteps : (this.calibration?.presets.find((p) => p.name === this.budget)?.steps ?? null),
  );

  private openedOnce = false;

  constructor(private readonly app: AppContext) {
    this.runs = new TrainingRuns(app.session);
  }

  start(): () => void {
    const stop = this.runs.start();
    const off = this.app.session.onOpen(() => void this.loadDatasets());
    return () => {
      stop();
      off();
    };
  }

  /** On the first visit, an unfinished run (training, paused, interrupted by a crash) opens at once. */
  openUnfinished(): void {
    if (this.openedOnce || !this.runs.loaded) return;
    this.openedOnce = true;
    const open = this.runs.runs.find((r) => isOpenRun(r.state));
    if (open && this.runId === null) this.watch(open.id);
  }

  watch(runId: number): void {
    this.runId = runId;
    this.step = 'train';
  }

  /** Whether the step's requirements are met (the stepper's Next and its later steps). */
  ready(step: WizardStep): boolean {
    switch (step) {
      case 'recipe':
        return this.checkpointId !== null && (this.recipe === 'style' || this.baseId !== null);
      case 'data':
        return this.dataset !== null && this.dataset.items.length > 0;
      case 'captions':
        return true;
      case 'budget':
        return this.budget === 'custom' ? this.customSteps >= 1 : this.calibrated;
      case 'train':
        return this.runId !== null;
    }
  }

  chooseRecipe(recipe: TrainingRecipe): void {
    if (recipe === this.recipe) return;
    this.recipe = recipe;
    this.condition = recipe === 'ctrlora' ? 'pairs' : 'none';
    if (recipe === 'ctrlora') this.options.trainTextEncoder = false;
    // A dataset without conditions cannot teach a hint, one with them is fine for a style.
    if (recipe === 'ctrlora' && this.dataset?.condition === 'none') this.dataset = null;
  }

  async importDataset(path: string): Promise<boolean> {
    if (this.importing) return false;
    this.importing = true;
    this.importError = '';
    try {
      const condition = this.recipe === 'style' ? 'none' : this.condition;
      const report = await this.app.session.client.call('training.importDataset', { path, condition });
      this.useDataset(report);
      void this.loadDatasets();
      return true;
    } catch (err) {
      this.importError = errorText(err);
      return false;
    } finally {
      this.importing = false;
    }
  }

  async openDataset(id: number): Promise<void> {
    try {
      this.useDataset(await this.app.session.client.call('training.dataset', { id }));
      this.importError = '';
    } catch (err) {
      this.importError = errorText(err);
    }
  }

  /** A new dataset: its captions start unsaved-free, its pictures' size suggests the resolution. */
  private useDataset(report: DatasetReport): void {
    this.dataset = report;
    this.captionState = {};
    this.options.resolution = suggestedResolution(report.items);
  }

  async loadDatasets(): Promise<void> {
    try {
      this.datasets = await this.app.session.client.call('training.datasets', {});
    } catch {
      this.datasets = []; // not fatal: the picker of earlier datasets just stays empty
    }
  }

  /** Stores a caption (the caption grid debounces typing); the dataset's copy changes at once. */
  async saveCaption(itemId: number, caption: string): Promise<void> {
    const dataset = this.dataset;
    if (!dataset) return;
    this.dataset = { ...dataset, items: dataset.items.map((i) => (i.id === itemId ? { ...i, caption } : i)) };
    this.captionState[itemId] = 'saving';
    try {
      await this.app.session.client.call('training.updateCaption', { datasetId: dataset.id, itemId, caption });
      this.captionState[itemId] = 'saved';
    } catch (err) {
      this.captionState[itemId] = 'error';
      this.app.session.notify('error', `Could not save the caption: ${errorText(err)}`);
    }
  }

  /** Puts words (a trigger word) in front of every caption that does not start with them yet. */
  async prefixCaptions(words: string): Promise<void> {
    const w = words.trim();
    if (!w || !this.dataset) return;
    const todo = this.dataset.items.filter((i) => !i.caption.startsWith(w));
    for (const item of todo) await this.saveCaption(item.id, item.caption ? `${w}, ${item.caption}` : w);
  }

  calibrationKey(): string {
    const o = this.options;
    return [this.recipe, this.checkpointId, this.recipe === 'ctrlora' ? this.baseId : '', o.resolution, o.rank, o.trainTextEncoder].join('|');
  }

  async calibrate(): Promise<void> {
    if (this.calibrating || this.checkpointId === null) return;
    this.calibrating = true;
    this.calibrateError = '';
    const key = this.calibrationKey();
    try {
      this.calibration = await this.app.session.client.call('training.calibrate', {
        recipe: this.recipe,
        checkpoint: this.checkpointId,
        ...(this.recipe === 'ctrlora' && this.baseId !== null ? { base: this.baseId } : {}),
        resolution: this.options.resolution,
        rank: this.options.rank,
        ...(this.recipe === 'style' ? { trainTextEncoder: this.options.trainTextEncoder } : {}),
      });
      this.calibratedKey = key;
    } catch (err) {
      this.calibrateError = errorText(err);
    } finally {
      this.calibrating = false;
    }
  }

  startInput(): TrainingStartInput | null {
    if (!this.dataset || this.checkpointId === null) return null;
    const o = this.options;
    return {
      recipe: this.recipe,
      checkpoint: this.checkpointId,
      ...(this.recipe === 'ctrlora' && this.baseId !== null ? { base: this.baseId } : {}),
      datasetId: this.dataset.id,
      ...(this.budget === 'custom' ? { steps: Math.round(this.customSteps) } : { preset: this.budget }),
      rank: o.rank,
      lr: o.lr,
      resolution: o.resolution,
      batchSize: o.batchSize,
      trainTextEncoder: this.recipe === 'style' && o.trainTextEncoder,
      sampleEvery: o.sampleEvery,
      samplePrompt: o.samplePrompt,
      checkpointEvery: o.checkpointEvery,
      seed: o.seed,
      outputName: o.outputName.trim(),
    };
  }

  async startRun(): Promise<void> {
    const input = this.startInput();
    if (!input || this.starting) return;
    this.starting = true;
    this.startError = '';
    try {
      const { runId } = await this.app.session.client.call('training.start', input);
      this.watch(runId);
      await this.runs.refresh(runId);
    } catch (err) {
      this.startError = errorText(err);
    } finally {
      this.starting = false;
    }
  }

  /** Back to the first step for another run; the dataset and settings stay as a starting point. */
  newRun(): void {
    this.runId = null;
    this.step = 'recipe';
  }
}

const wizards = new WeakMap<object, TrainingWizard>();

/**
 * The app's training wizard, created (and listening) on first use. It is created under its own effect root:
 * created inside the Train view's setup, its deriveds (the watched run) would belong to that view and stop
 * following the runs once the artist switched to the studio and back.
 */
export function trainingFor(app: AppContext): TrainingWizard {
  const known = wizards.get(app.session);
  if (known) return known;
  let wizard: TrainingWizard | undefined;
  // Never torn down: the wizard lives as long as the app's session.
  $effect.root(() => {
    wizard = new TrainingWizard(app);
    wizard.start();
  });
  wizards.set(app.session, wizard!);
  return wizard!;
}
