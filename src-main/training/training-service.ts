// Main's side of training, behind the training methods of the contract: datasets (import a folder, report what
// was left out, captions edited in the database, conditions made from the targets), calibration (a few timed
// steps in the engine, remembered per settings and provider), and runs (RunManager: jobs, progress, pause,
// resume, cancel, the result in the library).

import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MethodInput, MethodName, MethodOutput } from '../common/contract.ts';
import type { CalibrateInput, CalibrationReport, DatasetReport, ImportDatasetInput, TrainingStartInput } from '../common/training-contract.ts';
import { assignBucket, bucketCounts, bucketResolutions } from '../engine/training/buckets.ts';
import type { CalibratedResult, TrainPayload } from '../engine/tasks/train-payload.ts';
import { kindError } from '../common/errors.ts';
import { writeFileAtomic } from '../formats/atomic-file.ts';
import { annotatedConditionPng, cannyConditionPng, generatedConditionFile } from './conditions.ts';
import { scanDatasetFolder } from './dataset-import.ts';
import { RunManager, type RunManagerOptions } from './run-manager.ts';
import { calibrationKey, calibrationReport, folders, pickModel, resolveSettings, trainPayload, usableItems } from './run-plan.ts';

type TrainingMethod = Extract<MethodName, `training.${string}`>;
export type TrainingHandlers = { [M in TrainingMethod]: (input: MethodInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

/** The service's run manager gets these options as they are, so they are its own (less the test clock). */
export type TrainingServiceOptions = Omit<RunManagerOptions, 'now'>;

export class TrainingService {
  readonly runs: RunManager;

  constructor(private readonly o: TrainingServiceOptions) {
    this.runs = new RunManager(o);
  }

  handlers(): TrainingHandlers {
    return {
      'training.importDataset': (input) => this.importDataset(input),
      'training.datasets': () => this.o.store.datasets(),
      'training.dataset': ({ id }) => this.report(id),
      'training.updateCaption': ({ datasetId, itemId, caption }) => {
        if (!this.o.store.updateCaption(datasetId, itemId, caption.trim())) throw kindError('not-found', `There is no item ${itemId} in dataset ${datasetId}.`);
        return { ok: true };
      },
      'training.calibrate': (input) => this.calibrate(input),
      'training.start': (input) => this.start(input),
      'training.pause': ({ runId }) => ({ ok: this.runs.pause(runId) }),
      'training.resume': ({ runId }) => ({ jobId: this.resume(runId) }),
      'training.cancel': ({ runId }) => ({ ok: this.runs.cancel(runId) }),
      'training.status': ({ runId }) => this.runs.info(this.storedRun(runId)),
      'training.runs': () => this.o.store.runs().map((r) => this.runs.info(r)),
    };
  }

  private datasetDir(id: number): string {
    return path.join(this.o.dataDir, 'training', 'datasets', String(id));
  }

  private storedRun(runId: number) {
    const run = this.o.store.run(runId);
    if (!run) throw kindError('not-found', `There is no training run ${runId}.`);
    return run;
  }

  async importDataset(input: ImportDatasetInput): Promise<DatasetReport> {
    const root = path.resolve(input.path);
    const scan = await scanDatasetFolder(root);
    const condition = input.condition ?? (scan.paired ? 'pairs' : 'none');
    if (condition === 'pairs' && !scan.paired) throw kindError('bad-dataset', `${root}: no pairs found (name.png + name.cond.png, or folders target/ and condition/ with the same file names).`);
    const generated = condition === 'canny' || condition === 'depth' || condition === 'pose';
    if ((condition === 'depth' || condition === 'pose') && this.runs.busyReason()) throw kindError('training-running', this.runs.busyReason()!);
    const library = this.o.library.list();
    const problems = [...scan.problems];
    const items = scan.items.map((it) => ({ ...it, conditionFile: condition === 'pairs' ? it.conditionFile : null }));
    const id = this.o.store.insertDataset({ name: input.name?.trim() || path.basename(root) || root, path: root, condition, problems, createdAt: new Date().toISOString() }, items);
    if (generated) {
      const dir = this.datasetDir(id);
      for (const item of this.o.store.items(id)) {
        const picture = path.join(root, item.file);
        try {
          const png =
            condition === 'canny'
              ? await cannyConditionPng(picture, input.cannyLow ?? 100, input.cannyHigh ?? 200)
              : await annotatedConditionPng(this.o.queue, library, condition, picture);
          const target = generatedConditionFile(dir, item.id);
          writeFileAtomic(target.file, png);
          this.o.store.setConditionFile(item.id, target.ref);
        } catch (err) {
          const e = err as Error & { kind?: string };
          // Missing annotator models and a full disk fail every item alike: say it once, as the error of the import.
          if (e.kind === 'model-missing' || e.kind === 'disk-full') throw err;
          problems.push({ file: item.file, kind: 'unreadable', message: `${item.file}: no ${condition} condition could be made (${e.message})` });
        }
      }
      this.o.store.setProblems(id, problems);
    }
    return this.report(id);
  }

  report(id: number): DatasetReport {
    const d = this.o.store.dataset(id);
    if (!d) throw kindError('not-found', `There is no dataset ${id}.`);
    const buckets = bucketResolutions(512);
    const items = this.o.store.items(id).map((i) => ({ ...i, bucket: assignBucket(i.width, i.height, buckets) }));
    return { id: d.id, name: d.name, path: d.path, condition: d.condition, items, problems: d.problems, buckets: bucketCounts(items.map((i) => i.bucket)), createdAt: d.createdAt };
  }

  /** Times a few steps in the engine (or answers the stored measurement of the same settings). */
  async calibrate(input: CalibrateInput, remeasure = true): Promise<CalibrationReport> {
    const library = this.o.library.list();
    const checkpoint = pickModel(library, input.checkpoint, 'checkpoint', 'checkpoint');
    const base = input.recipe === 'ctrlora' ? pickModel(library, input.base!, 'ctrlora-base', 'CtrLoRA Base ControlNet') : null;
    const batchSize = 1;
    const provider = this.o.supervisor.status().provider || 'cpu';
    const key = calibrationKey({ recipe: input.recipe, checkpoint: checkpoint.path, base: base?.path ?? null, resolution: input.resolution, rank: input.rank, trainTextEncoder: input.trainTextEncoder === true, batchSize }, provider);
    const known = this.o.store.calibration(key);
    if (known && !remeasure) return known;
    const busy = this.runs.busyReason();
    if (busy) throw kindError('training-running', busy);
    const payload: TrainPayload = {
      mode: 'calibrate',
      recipe: input.recipe,
      checkpoint: checkpoint.path,
      base: base?.path ?? null,
      items: [],
      rank: input.rank,
      alpha: input.rank / 2,
      lr: 1e-4,
      batchSize,
      steps: 1,
      seed: 0,
      textEncoder: input.trainTextEncoder === true,
      resolution: input.resolution,
      sampleEvery: 0,
      samplePrompt: '',
      checkpointEvery: 1,
      runDir: '',
      cacheDir: '',
      output: '',
      resume: false,
      info: { outputName: '', datasetName: '', condition: '', checkpointName: checkpoint.name, checkpointHash: checkpoint.shortHash, baseName: base?.name ?? '', settings: null },
    };
    const job = this.o.queue.enqueueEngine({ kind: 'train', title: `Measure training speed (${input.recipe}, ${input.resolution} px)`, task: 'train', payload });
    const { job: done, result } = await this.o.queue.wait(job.id);
    if (done.state !== 'done') throw kindError(done.error?.kind ?? 'cancelled', done.error?.message ?? 'The measurement was cancelled.');
    const report = calibrationReport(input.recipe, result as CalibratedResult);
    this.o.store.saveCalibration(key, report, new Date().toISOString());
    return report;
  }

  async start(input: TrainingStartInput): Promise<{ runId: number; jobId: string; steps: number }> {
    const dataset = this.o.store.dataset(input.datasetId);
    if (!dataset) throw kindError('not-found', `There is no dataset ${input.datasetId}.`);
    const busy = this.runs.busyReason();
    if (busy) throw kindError('training-running', busy);
    let steps = input.steps;
    if (steps === undefined) {
      const report = await this.calibrate({ recipe: input.recipe, checkpoint: input.checkpoint, base: input.base, resolution: input.resolution, rank: input.rank, trainTextEncoder: input.trainTextEncoder }, false);
      steps = report.presets.find((p) => p.name === input.preset)!.steps;
    }
    const settings = resolveSettings(input, this.o.library.list(), dataset, steps, input.seed ?? randomInt(0, 2 ** 32));
    const items = this.o.store.items(dataset.id);
    // Checked before anything is recorded: a dataset without usable items refuses here.
    usableItems(settings.recipe, dataset, items);
    const runId = this.o.store.insertRun(dataset.id, settings, steps, new Date().toISOString());
    const jobId = this.runs.enqueue(this.storedRun(runId), this.payloadFor(runId, false));
    return { runId, jobId, steps };
  }

  private payloadFor(runId: number, resume: boolean): TrainPayload {
    const run = this.storedRun(runId);
    const dataset = run.datasetId === null ? null : this.o.store.dataset(run.datasetId);
    if (!dataset) throw kindError('not-found', `The dataset of training run ${runId} was deleted.`);
    const hash = this.o.library.list().find((i) => i.path === run.settings.checkpoint.path)?.shortHash ?? '';
    return trainPayload(run.settings, dataset, this.o.store.items(dataset.id), folders(this.o.dataDir, dataset.id, runId, run.settings), resume, hash);
  }

  resume(runId: number): string {
    const run = this.storedRun(runId);
    if (this.runs.isLive(runId)) throw kindError('bad-request', `Training run ${runId} is already queued or training.`);
    if (!['paused', 'interrupted', 'failed'].includes(run.state)) throw kindError('bad-request', `Training run ${runId} is ${run.state}; only a paused, interrupted or failed run resumes.`);
    const busy = this.runs.busyReason();
    if (busy) throw kindError('training-running', busy);
    for (const file of [run.settings.checkpoint.path, run.settings.base?.path].filter(Boolean) as string[]) {
      if (!fs.existsSync(file)) throw kindError('model-missing', `${file} is gone; the run cannot resume without it.`);
    }
    return this.runs.enqueue(run, this.payloadFor(runId, true));
  }
}
