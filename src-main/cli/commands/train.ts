// `hintbrush train`: trains a style LoRA or a CtrLoRA condition from a folder, through the same engine child
// process, supervisor and job queue as the app: per-step progress with loss and ETA, sample pictures, checkpoints
// in a work folder (Ctrl-C stops after the current step with a checkpoint; `--resume` continues from it at the
// same step), and the file written atomically at the end. Models are files here (no library needed).

import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../formats/atomic-file.ts';
import { TRAINING_RESOLUTIONS } from '../../common/training-contract.ts';
import { parseTrainProgress, type CalibratedResult, type TrainedResult, type TrainPayload } from '../../engine/tasks/train-payload.ts';
import { hashFile } from '../../library/hash.ts';
import { nodeEngineLauncher } from '../../jobs/engine-launcher.ts';
import { EngineSupervisor } from '../../jobs/engine-supervisor.ts';
import { JobQueue } from '../../jobs/job-queue.ts';
import { cannyConditionPng, generatedConditionFile } from '../../training/conditions.ts';
import { scanDatasetFolder } from '../../training/dataset-import.ts';
import { stepsForBudget, trainPayload, type PayloadSettings } from '../../training/run-plan.ts';
import type { StoredItem } from '../../training/training-store.ts';
import { UsageError, intOption, type CliCommand, type OptionSpec } from '../command.ts';
import { numberOption } from '../generate-args.ts';
import { resourcesDir } from '../paths.ts';
import { cliOrtCacheHelp, prepareCliOrtCache } from '../ort-cache-folder.ts';

const str = (value: string, description: string): OptionSpec => ({ type: 'string', value, description });
const flag = (description: string): OptionSpec => ({ type: 'boolean', description });

const OPTIONS: Record<string, OptionSpec> = {
  recipe: str('style|ctrlora', 'a kohya style LoRA, or a new CtrLoRA condition'),
  checkpoint: str('FILE', 'the SD1.5 checkpoint to train against'),
  base: str('FILE', 'ctrlora: the CtrLoRA Base ControlNet'),
  data: str('DIR', 'the dataset folder: pictures with .txt captions (pairs name.png + name.cond.png, or target/ + condition/, for ctrlora)'),
  out: str('FILE', 'the trained .safetensors file'),
  steps: str('N', 'training steps (default 1000, or what --minutes affords)'),
  minutes: str('M', 'a time budget instead of --steps: a few steps are timed first'),
  rank: str('R', 'LoRA rank, 1 to 128 (default 16)'),
  alpha: str('A', 'style: network alpha (default rank / 2)'),
  lr: str('X', 'learning rate (default 1e-4)'),
  resolution: str('PX', `${TRAINING_RESOLUTIONS.join('|')}: buckets hold at most PX² pixels (default 512)`),
  'batch-size': str('N', 'pictures per step, 1 to 8 (default 1)'),
  'text-encoder': flag('style: also train a LoRA on the text encoder'),
  condition: str('pairs|canny', 'ctrlora: condition pictures from the folder (default) or canny edges of the pictures'),
  'sample-every': str('N', 'a sample picture every N steps into the work folder (default 0: none)'),
  'sample-prompt': str('TEXT', 'prompt of the samples (default: the first caption)'),
  'checkpoint-every': str('N', 'checkpoint every N steps (default 50)'),
  seed: str('N', 'seed of data order, noise and initialisation (default: random, printed)'),
  work: str('DIR', 'checkpoint, latent cache and samples (default: OUT.work beside --out)'),
  resume: flag('continue from the checkpoint in the work folder'),
  precision: str('P', 'auto|fp16|fp32 (auto: fp16 with loss scaling on a GPU, fp32 on the CPU)'),
  'no-recompute': flag('keep every activation (faster, far more memory)'),
  provider: str('NAME', 'cuda|dml|coreml|webgpu|cpu instead of the best one found'),
};

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function existing(file: string, what: string): string {
  const full = path.resolve(file);
  if (!fs.existsSync(full)) throw Object.assign(new Error(`${what} not found: ${full}`), { kind: 'model-missing' });
  return full;
}

/** --lr takes the scientific notation trainers use (1e-4). */
function learningRate(value: unknown): number {
  if (value === undefined) return 1e-4;
  const n = typeof value === 'string' && /^\d*\.?\d+(e[+-]?\d+)?$/i.test(value) ? Number(value) : NaN;
  if (!(n >= 1e-8 && n <= 0.1)) throw new UsageError(`--lr must be a number from 1e-8 to 0.1, not ${JSON.stringify(value)}`);
  return n;
}

export const train: CliCommand = {
  name: 'train',
  summary: 'train a style LoRA (kohya format) or a CtrLoRA condition from a folder of pictures',
  usage: '--recipe style|ctrlora --checkpoint FILE [--base FILE] --data DIR --out FILE [--steps N | --minutes M] [--rank R] [--lr X] [--resolution 512] [--sample-every N] [--resume] ...',
  options: OPTIONS,
  positionals: { min: 0, max: 0 },
  helpNotes: () => [cliOrtCacheHelp()],
  async run({ values, io, signal }) {
    const recipe = required(values, 'recipe');
    if (recipe !== 'style' && recipe !== 'ctrlora') throw new UsageError('--recipe must be style or ctrlora');
    const checkpoint = existing(required(values, 'checkpoint'), 'checkpoint');
    const base = recipe === 'ctrlora' ? existing(required(values, 'base'), 'CtrLoRA Base ControlNet') : null;
    if (recipe === 'style' && values.base !== undefined) throw new UsageError('--base is for --recipe ctrlora');
    const out = path.resolve(required(values, 'out'));
    const data = path.resolve(required(values, 'data'));
    const work = path.resolve(typeof values.work === 'string' ? values.work : `${out}.work`);
    const resolution = intOption(values.resolution, 'resolution', 64, 2048) ?? 512;
    if (resolution % 64 !== 0) throw new UsageError('--resolution must be a multiple of 64');
    const rank = intOption(values.rank, 'rank', 1, 128) ?? 16;
    const condition = typeof values.condition === 'string' ? values.condition : 'pairs';
    if (condition !== 'pairs' && condition !== 'canny') throw new UsageError('--condition must be pairs or canny');
    if (values.steps !== undefined && values.minutes !== undefined) throw new UsageError('give --steps or --minutes, not both');

    const scan = await scanDatasetFolder(data);
    for (const p of scan.problems) io.err(`left out: ${p.message}\n`);
    // The folder as a dataset of the studio's, its conditions made into the work folder as the studio makes them
    // into the dataset's data folder, so the payload comes from the studio's builder (run-plan.trainPayload).
    let items: StoredItem[] = scan.items.map((it, i) => ({ ...it, id: i + 1 }));
    if (recipe === 'ctrlora' && condition === 'canny') {
      const withEdges: StoredItem[] = [];
      for (const it of items) {
        const target = generatedConditionFile(work, it.id);
        writeFileAtomic(target.file, await cannyConditionPng(path.join(data, it.file)));
        withEdges.push({ ...it, conditionFile: target.ref });
      }
      items = withEdges;
    }
    if (recipe === 'ctrlora') items = items.filter((it) => it.conditionFile !== null);
    if (items.length === 0) throw Object.assign(new Error(`${data}: no usable pictures${recipe === 'ctrlora' ? ' with condition pictures' : ''}`), { kind: 'bad-dataset' });
    const seed = values.seed === undefined ? randomInt(0, 2 ** 32) : intOption(values.seed, 'seed', 0, 2 ** 32 - 1)!;
    const precision = typeof values.precision === 'string' ? values.precision : 'auto';
    if (!['auto', 'fp16', 'fp32'].includes(precision)) throw new UsageError('--precision must be auto, fp16 or fp32');
    const model = (file: string) => ({ id: null, name: path.parse(file).name, path: file });
    const settings: PayloadSettings = {
      recipe,
      checkpoint: model(checkpoint),
      base: base ? model(base) : null,
      steps: intOption(values.steps, 'steps', 1, 1_000_000) ?? 1000,
      rank,
      alpha: numberOption(values.alpha, 'alpha', 0.001, 1024, rank / 2),
      lr: learningRate(values.lr),
      resolution,
      batchSize: intOption(values['batch-size'], 'batch-size', 1, 8) ?? 1,
      trainTextEncoder: values['text-encoder'] === true,
      sampleEvery: intOption(values['sample-every'], 'sample-every', 0, 1_000_000) ?? 0,
      samplePrompt: typeof values['sample-prompt'] === 'string' ? values['sample-prompt'] : '',
      checkpointEvery: intOption(values['checkpoint-every'], 'checkpoint-every', 1, 1_000_000) ?? 50,
      seed,
      outputName: path.parse(out).name,
    };
    const dataset = { name: path.basename(data), path: data, condition: condition === 'canny' ? ('canny' as const) : ('pairs' as const) };
    const folders = { datasetDir: work, runDir: path.join(work, 'run'), output: out };
    const payload: TrainPayload = {
      ...trainPayload(settings, dataset, items, folders, values.resume === true, (await hashFile(checkpoint)).shortHash),
      compute: ({ auto: 'auto', fp16: 'float16', fp32: 'float32' } as const)[precision as 'auto'],
      recompute: values['no-recompute'] !== true,
    };

    const env: Record<string, string> = prepareCliOrtCache((line) => io.err(line));
    if (typeof values.provider === 'string') env.HINTBRUSH_PROVIDER = values.provider;
    if (values.provider === 'cpu') env.HINTBRUSH_ENGINE_SKIP_PROBE = '1';
    // A training step graph takes a while to build: be patient with a quiet engine.
    const supervisor = new EngineSupervisor({ launcher: nodeEngineLauncher({ resourcesDir: resourcesDir(), dataDir: os.tmpdir(), env }), hangMs: 300_000, cancelGraceMs: 600_000 });
    const queue = new JobQueue({ supervisor });
    supervisor.start();
    const runJob = async (p: TrainPayload, onProgress: (step: number, total: number, message: string, preview?: Uint8Array) => void) => {
      const job = queue.enqueueEngine({ kind: 'train', title: 'Train', task: 'train', payload: p });
      const off = queue.onUpdate(({ job: j, preview }) => j.id === job.id && j.state === 'running' && onProgress(j.progress.step, j.progress.total, j.progress.message, preview));
      const cancel = () => queue.cancel(job.id);
      signal.addEventListener('abort', cancel, { once: true });
      return queue.wait(job.id).finally(() => {
        off();
        signal.removeEventListener('abort', cancel);
      });
    };
    try {
      if (values.minutes !== undefined) {
        const minutes = numberOption(values.minutes, 'minutes', 1, 100_000, 60);
        io.err(`Timing a few steps at ${resolution} px...\n`);
        const timing = await runJob({ ...payload, mode: 'calibrate', items: [] }, () => {});
        if (timing.job.state !== 'done') throw Object.assign(new Error(timing.job.error?.message ?? 'the timing was cancelled'), { kind: timing.job.error?.kind ?? 'cancelled' });
        const r = timing.result as CalibratedResult;
        payload.steps = stepsForBudget(minutes, r.secondsPerStep);
        io.err(`${r.secondsPerStep.toFixed(2)} s per step on ${r.provider}, peak memory ${(r.peakMemoryBytes / 2 ** 30).toFixed(1)} GiB: ${payload.steps} steps fit in ${minutes} min\n`);
      }
      io.err(`${items.length} pictures, ${payload.steps} steps, seed ${seed}, work folder ${work}\n`);
      let last = '';
      const outcome = await runJob(payload, (step, total, message, preview) => {
        const parsed = parseTrainProgress(message);
        const line = parsed ? `[${step}/${total}] ${message.replace(/ \[eta \d+\]$/, '')}` : message;
        if (preview) {
          const file = path.join(work, 'samples', `${step}.png`);
          writeFileAtomic(file, preview);
          io.err(`${io.isTty ? '\n' : ''}sample: ${file}\n`);
        }
        if (line !== last) io.err(io.isTty ? `\r\x1b[2K${line.slice(0, 200)}` : `${line}\n`);
        last = line;
      });
      if (io.isTty) io.err('\n');
      if (outcome.job.state === 'cancelled') {
        io.err(`Stopped; its checkpoint is in ${work}: run the same command with --resume to continue.\n`);
        return 130;
      }
      if (outcome.job.state === 'failed') {
        io.err(`hintbrush train: ${outcome.job.error?.message ?? 'training failed'}\n`);
        return 1;
      }
      const r = outcome.result as TrainedResult;
      io.out(`${r.output} (${r.steps} steps, final loss ${r.losses.at(-1)?.toFixed(4)}, ${Math.round(r.seconds)} s on ${r.provider} in ${r.compute})\n`);
      return 0;
    } finally {
      await queue.dispose();
      await supervisor.stop();
    }
  },
};
