// The engine's 'train' task. Training: the data is prepared once (latents and text embeddings, cached in the
// dataset's cache folder), the runtime that encoded it is released, then the Trainer steps: progress every step
// (loss, ETA), a sample picture every `sampleEvery` steps (sent as the progress preview), a checkpoint every
// `checkpointEvery` steps, and the trained file written atomically at the end (the checkpoint is then deleted).
// A cancel (main's pause or cancel alike) ends the job after the current step with a checkpoint, so either can be
// resumed; main decides what the run becomes. A crash loses at most the steps since the last checkpoint, and
// `resume` continues from it at the same step with the same losses.
// Calibration: a warm-up step (it builds the step graph) and a few timed steps on made-up data at the asked size.

import fs from 'node:fs';
import path from 'node:path';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import { EngineRunError, type ProviderName } from '../runtime/session.ts';
import { trainingOomMessage } from '../runtime/out-of-memory.ts';
import { TaskError, type TaskContext } from '../protocol.ts';
import { bucketCounts } from '../training/buckets.ts';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from '../training/checkpoint.ts';
import { prepareData, type CachedItem } from '../training/data-cache.ts';
import { writeCtrLoraCondition, writeStyleLora, type StyleLoraInfo } from '../training/lora-writers.ts';
import { gpuMemoryUsed, MemoryWatch, samplePicture } from '../training/train-sample.ts';
import { TEXT_TOKENS, Trainer } from '../training/trainer.ts';
import { normalRandom } from '../training/trainable-lora.ts';
import { releaseAnnotatorSessions } from './annotate-task.ts';
import { releaseGenerateRuntime } from './generate-task.ts';
import { checkTrainPayload, formatTrainProgress, type CalibratedResult, type TrainedResult, type TrainPayload, type TrainTaskResult } from './train-payload.ts';

const SAMPLE_STEPS = 20;

function precision(provider: string, asked: TrainPayload['compute']): 'float16' | 'float32' {
  if (asked === 'float16' || asked === 'float32') return asked;
  return provider === 'cpu' ? 'float32' : 'float16';
}

const providersFor = (provider: string): ProviderName[] => (provider === 'cpu' ? ['cpu'] : [provider as ProviderName, 'cpu']);

function open(file: string, what: string): TensorFile {
  if (!fs.existsSync(file)) throw new TaskError('model-missing', `The ${what} ${file} does not exist (moved or deleted? rescan the library).`);
  return openTensorFile(file);
}

function styleInfo(p: TrainPayload, steps: number, compute: string, started: Date): StyleLoraInfo {
  return {
    outputName: p.info.outputName,
    rank: p.rank,
    alpha: p.alpha,
    steps,
    lr: p.lr,
    batchSize: p.batchSize,
    resolution: p.resolution,
    seed: p.seed,
    trainTextEncoder: p.textEncoder,
    mixedPrecision: compute === 'float16' ? 'fp16' : 'no',
    gradientCheckpointing: p.recompute !== false,
    datasetName: p.info.datasetName,
    captions: p.items.map((i) => i.caption),
    imageCount: p.items.length,
    buckets: bucketCounts(p.items.map((i) => i.bucket)),
    baseModelName: p.info.checkpointName,
    baseModelHash: p.info.checkpointHash,
    startedAt: started,
    finishedAt: new Date(),
    settings: p.info.settings,
  };
}

/** Made-up data for calibration: the values do not change the time of a step, only the shapes do. */
function calibrationData(p: TrainPayload, contextDim: number): CachedItem[] {
  const normal = normalRandom(p.seed);
  const side = p.resolution;
  const n = 4 * (side / 8) * (side / 8);
  const values = (count: number) => Float32Array.from({ length: count }, normal);
  return Array.from({ length: p.batchSize }, () => ({
    bucket: { width: side, height: side },
    latent: values(n),
    latentFlip: values(n),
    cond: p.recipe === 'ctrlora' ? values(n) : null,
    condFlip: p.recipe === 'ctrlora' ? values(n) : null,
    context: values(TEXT_TOKENS * contextDim),
    ids: Int32Array.from({ length: TEXT_TOKENS }, (_, i) => (i === 0 ? 49406 : 49407)),
  }));
}

async function calibrate(p: TrainPayload, ctx: TaskContext, files: { checkpoint: TensorFile; base: TensorFile | null }, compute: 'float16' | 'float32'): Promise<CalibratedResult> {
  const contextDim = files.checkpoint.tensors.get([...files.checkpoint.tensors.keys()].find((k) => k.endsWith('attn2.to_k.weight'))!)!.shape[1];
  const timed = p.calibrationSteps ?? 3;
  const trainer = new Trainer({ recipe: p.recipe, checkpoint: files.checkpoint, base: files.base, rank: p.rank, alpha: p.alpha, lr: p.lr, batch: p.batchSize, seed: p.seed, textEncoder: p.textEncoder, recompute: p.recompute !== false, compute, providers: providersFor(ctx.provider) }, calibrationData(p, contextDim));
  const watch = new MemoryWatch();
  try {
    ctx.progress({ step: 0, total: timed + 1, message: 'Building the training step' });
    const t0 = performance.now();
    await trainer.step(0);
    const first = (performance.now() - t0) / 1000;
    const times: number[] = [];
    for (let i = 1; i <= timed; i++) {
      ctx.signal.throwIfAborted();
      const t = performance.now();
      await trainer.step(i);
      times.push((performance.now() - t) / 1000);
      ctx.progress({ step: i + 1, total: timed + 1, message: `timed step ${i} of ${timed}` });
    }
    const gpu = ctx.provider === 'cpu' ? null : await gpuMemoryUsed();
    const secondsPerStep = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
    return { kind: 'calibrated', provider: ctx.provider, mixedPrecision: compute === 'float16', secondsPerStep, peakMemoryBytes: gpu ?? watch.stop(), buildSeconds: Math.max(0, first - secondsPerStep) };
  } finally {
    watch.stop();
    await trainer.release();
  }
}

/** A sample interrupted by a pause or cancel is skipped: the loop then checkpoints and stops. */
async function sampleUnlessStopped(signal: AbortSignal, make: () => Promise<Uint8Array>): Promise<Uint8Array | undefined> {
  try {
    return await make();
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  }
}

async function train(p: TrainPayload, ctx: TaskContext, files: { checkpoint: TensorFile; base: TensorFile | null }, compute: 'float16' | 'float32'): Promise<TrainedResult> {
  const started = new Date();
  const providers = providersFor(ctx.provider);
  ctx.progress({ step: 0, total: p.steps, message: 'Encoding the pictures and captions' });
  const runtime = new ModelRuntime(compute, providers);
  let data: CachedItem[];
  try {
    data = await prepareData(runtime, p.items, {
      cacheDir: p.cacheDir,
      checkpoint: p.checkpoint,
      textEncoder: p.textEncoder,
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress({ step: 0, total: p.steps, message: `Encoding the pictures and captions (${done} of ${total})` }),
    });
  } finally {
    await runtime.dispose();
  }
  const trainer = new Trainer({ recipe: p.recipe, checkpoint: files.checkpoint, base: files.base, rank: p.rank, alpha: p.alpha, lr: p.lr, batch: p.batchSize, seed: p.seed, textEncoder: p.textEncoder, recompute: p.recompute !== false, compute, providers }, data);
  const checkpointFile = path.join(p.runDir, CHECKPOINT_FILE);
  fs.mkdirSync(p.runDir, { recursive: true });
  const losses: number[] = [];
  let step = 0;
  let elapsedBefore = 0;
  try {
    const saved = p.resume ? loadCheckpoint(checkpointFile) : null;
    if (saved) {
      await trainer.restore(saved);
      step = saved.step;
      losses.push(...saved.losses);
      elapsedBefore = saved.elapsedSeconds;
    }
    let lastSaved = step;
    let samplePending = saved?.samplePending === true;
    const t0 = performance.now();
    const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
    const save = async () => {
      if (step === lastSaved && fs.existsSync(checkpointFile)) return;
      saveCheckpoint(checkpointFile, { ...(await trainer.checkpointState(step, losses, elapsed())), samplePending });
      lastSaved = step;
    };
    const sample = () =>
      sampleUnlessStopped(ctx.signal, async () => {
        const first = p.items[0];
        return samplePicture(
          { recipe: p.recipe, checkpoint: p.checkpoint, base: p.base, prompt: p.samplePrompt || first.caption, seed: p.seed, size: first.bucket, conditionImage: first.condition, steps: SAMPLE_STEPS, compute, providers, runDir: p.runDir },
          await trainer.params(),
          styleInfo(p, step, compute, started),
          ctx.signal,
        );
      });
    // A pause that came during the sample of the checkpoint's step skipped it: make it before going on.
    if (samplePending && step > 0 && !ctx.signal.aborted) {
      const preview = await sample();
      if (preview) {
        samplePending = false;
        ctx.progress({ step, total: p.steps, message: formatTrainProgress(losses[step - 1], (elapsedBefore / step) * (p.steps - step)), preview });
      }
    }
    const recent: number[] = [];
    while (step < p.steps) {
      if (ctx.signal.aborted) {
        await save();
        throw new TaskError('cancelled', `Training stopped at step ${step} of ${p.steps}; its checkpoint is saved.`);
      }
      const t = performance.now();
      const outcome = await trainer.step(step);
      const seconds = (performance.now() - t) / 1000;
      if (!outcome.rebuilt) recent.push(seconds);
      if (recent.length > 20) recent.shift();
      step++;
      losses.push(outcome.loss);
      if (!Number.isFinite(outcome.loss) && compute === 'float32') throw new TaskError('training-diverged', `The loss became ${outcome.loss} at step ${step}: lower the learning rate.`);
      const perStep = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : seconds;
      const eta = perStep * (p.steps - step);
      let preview: Uint8Array | undefined;
      // The sample comes before the checkpoint of the same step: a crash during the sample resumes from the
      // checkpoint before and redoes the sample; a pause during it records the sample as still due.
      if (p.sampleEvery > 0 && step % p.sampleEvery === 0) {
        preview = await sample();
        samplePending = preview === undefined;
      } else samplePending = false;
      if (step % p.checkpointEvery === 0 && step < p.steps) await save();
      ctx.progress({ step, total: p.steps, message: formatTrainProgress(outcome.loss, eta), ...(preview ? { preview } : {}) });
    }
    const params = await trainer.params();
    fs.mkdirSync(path.dirname(p.output), { recursive: true });
    if (p.recipe === 'style') writeStyleLora(p.output, params, styleInfo(p, p.steps, compute, started));
    else {
      const info = { outputName: p.info.outputName, condition: p.info.condition, rank: p.rank, steps: p.steps, lr: p.lr, baseName: p.info.baseName, baseModelName: p.info.checkpointName, settings: p.info.settings };
      writeCtrLoraCondition(p.output, params, info);
    }
    fs.rmSync(checkpointFile, { force: true });
    return { kind: 'trained', output: p.output, steps: p.steps, losses, seconds: elapsed(), provider: ctx.provider, compute };
  } finally {
    await trainer.release();
  }
}

export async function trainTask(raw: unknown, ctx: TaskContext): Promise<TrainTaskResult> {
  const p = checkTrainPayload(raw);
  const compute = precision(ctx.provider, p.compute);
  // Training wants all the memory: the sessions generation and the annotators keep between jobs go first.
  await releaseGenerateRuntime();
  await releaseAnnotatorSessions();
  const files = { checkpoint: open(p.checkpoint, 'checkpoint'), base: p.base ? open(p.base, 'CtrLoRA Base ControlNet') : null };
  try {
    return p.mode === 'calibrate' ? await calibrate(p, ctx, files, compute) : await train(p, ctx, files, compute);
  } catch (err) {
    if (!(err instanceof EngineRunError && err.kind === 'out-of-memory')) throw err;
    const settings = { resolution: p.resolution, batchSize: p.batchSize, rank: p.rank, recompute: p.recompute !== false, provider: ctx.provider, compute };
    throw new TaskError('out-of-memory', trainingOomMessage(settings, err));
  } finally {
    files.checkpoint.close();
    files.base?.close();
  }
}
