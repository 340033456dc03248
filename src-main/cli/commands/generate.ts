// `hintbrush generate`: one run of the pipeline from the command line, through the same engine child process,
// supervisor and job queue as the app, so it behaves as the app does: per-step progress, Ctrl-C cancels within
// a step, PNGs carrying A1111's parameters. Models are files here (no library needed); their A1111 hashes are
// computed for the metadata.

import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../formats/atomic-file.ts';
import { img2imgStepsRun, minimalStrength, RESIZE_MODE_NAMES, SAMPLER_NAMES, type ControlRecord, type GenerationSettings, type ModelRef, type ResizeModeName, type SamplerName } from '../../common/generation-contract.ts';
import { generatePayload, type ComputePrecision, type GeneratePayload, type GenerateTaskResult, type PictureBytes } from '../../engine/tasks/generate-payload.ts';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { nodeEngineLauncher } from '../../jobs/engine-launcher.ts';
import { EngineSupervisor } from '../../jobs/engine-supervisor.ts';
import { JobQueue } from '../../jobs/job-queue.ts';
import { embeddingFilesIn } from '../../engine/pipeline/textual-inversion.ts';
import { hashFile, loraShortHash } from '../../library/hash.ts';
import { UsageError, type CliCommand, type CliIo, type OptionSpec } from '../command.ts';
import { listOption, numberOption, parseLoraSpec, parseUnitSpec } from '../generate-args.ts';
import { readRegionsFile } from '../regions-file.ts';
import { MAX_REGIONS } from '../../common/regions-contract.ts';
import { resourcesDir } from '../paths.ts';
import { HIRES_OPTIONS, hiresFromOptions } from '../hires-args.ts';
import { promptScheduleProblem } from '../../common/prompt-schedule.ts';

const str = (value: string, description: string, multiple = false): OptionSpec => ({ type: 'string', value, description, ...(multiple ? { multiple } : {}) });

const OPTIONS: Record<string, OptionSpec> = {
  checkpoint: str('FILE', 'SD1.5 checkpoint (.safetensors or .ckpt)'),
  prompt: str('TEXT', 'the prompt (A1111 syntax: (word:1.2), [word], BREAK, prompt editing [a:b:0.5] and [a|b])'),
  negative: str('TEXT', 'the negative prompt'),
  width: str('N', 'width in pixels, a multiple of 8 from 64 to 2048 (default 512)'),
  height: str('N', 'height in pixels (default 512)'),
  steps: str('N', 'sampling steps, 1 to 150 (default 20)'),
  cfg: str('X', 'CFG scale, 0 to 30 (default 7.5)'),
  seed: str('N', 'seed, 0 to 4294967295 (default: random, printed); picture i of the run uses seed + i'),
  sampler: str('NAME', `${SAMPLER_NAMES.join('|')} (default euler_a)`),
  'clip-skip': str('N', '1 or 2 (default 1)'),
  control: str('FILE:IMAGE:WEIGHT[:START:END]', 'a ControlNet with its hint PNG (repeatable)', true),
  'ctrlora-base': str('FILE', 'the CtrLoRA Base ControlNet the --ctrlora conditions run on'),
  ctrlora: str('LORA:IMAGE:WEIGHT[:START:END]', 'a CtrLoRA condition LoRA with its hint PNG (repeatable)', true),
  cnxs: str('FILE:IMAGE:WEIGHT[:START:END]', 'a ControlNet-XS with its hint PNG (one)'),
  lora: str('FILE:WEIGHT', 'a LoRA and its weight, 0 to 2 (repeatable)', true),
  embeddings: str('DIR', 'a folder of textual-inversion embeddings, each named in prompts by its file stem (repeatable)', true),
  vae: str('FILE', 'a standalone SD1.5 VAE that replaces the checkpoint\'s'),
  'init-image': str('PNG', 'img2img: the picture to start from'),
  strength: str('S', 'img2img: denoising strength, above 0 up to 1 (default 0.75)'),
  mask: str('PNG', 'inpainting mask (white repaints), with --init-image'),
  regions: str('FILE.json', `regional prompts: a JSON array of {"mask": "PNG", "prompt": "TEXT", "feather": PX, "appendMain": false}, at most ${MAX_REGIONS}`),
  'resize-mode': str('MODE', `${RESIZE_MODE_NAMES.join('|')} for hints and init pictures of another size (default: crop-and-resize for hints, just-resize for the init picture)`),
  'batch-size': str('N', 'pictures per batch, 1 to 8 (default 1)'),
  'batch-count': str('N', 'batches, 1 to 100 (default 1)'),
  out: str('PNG', 'where to write the picture (several: NAME-1.png, NAME-2.png...)'),
  'latents-out': str('FILE', "the final latents as float32 tensor 'latents' [N, 4, H/8, W/8] in a safetensors file"),
  precision: str('P', 'auto|fp16|fp32: compute precision (auto: fp16 on a GPU, fp32 on the CPU)'),
  provider: str('NAME', 'cuda|dml|coreml|webgpu|cpu instead of the best one found'),
  ...HIRES_OPTIONS,
};

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function existing(file: string, what: string): string {
  const full = path.resolve(file);
  if (!existsSync(full)) throw Object.assign(new Error(`${what} not found: ${full}`), { kind: 'model-missing' });
  return full;
}

const picture = (file: string, what: string): PictureBytes => ({ png: new Uint8Array(readFileSync(existing(file, what))) });
const nameOf = (file: string) => path.parse(file).name;

function oneOf<T extends string>(value: unknown, name: string, options: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${options.join(', ')}`);
  return value as T;
}

/** Where picture i of n goes: --out itself for one picture, NAME-<i+1>.png beside it for several. */
export function outputPath(out: string, index: number, count: number): string {
  if (count === 1) return path.resolve(out);
  const { dir, name, ext } = path.parse(path.resolve(out));
  return path.join(dir, `${name}-${index + 1}${ext || '.png'}`);
}

/** The engine payload the options describe; models are hashed as A1111 hashes them. */
export async function payloadFromOptions(values: Record<string, string | boolean | string[] | undefined>, note: (line: string) => void = () => {}): Promise<GeneratePayload> {
  const size = (name: string) => {
    const n = numberOption(values[name], name, 64, 2048, 512);
    if (!Number.isInteger(n) || n % 8 !== 0) throw new UsageError(`--${name} must be a multiple of 8 from 64 to 2048`);
    return n;
  };
  const int = (name: string, min: number, max: number, fallback: number) => {
    const n = numberOption(values[name], name, min, max, fallback);
    if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const ref = async (file: string, what: string, hash: (f: string) => Promise<string>): Promise<ModelRef> => {
    const full = existing(file, what);
    return { id: null, name: nameOf(full), hash: await hash(full), path: full };
  };
  const shortHash = async (f: string) => (await hashFile(f)).shortHash;
  const legacyHash = async (f: string) => (await hashFile(f)).legacyHash; // sd-webui-controlnet's [8 digits]
  const resize = values['resize-mode'] === undefined ? null : oneOf(values['resize-mode'], 'resize-mode', RESIZE_MODE_NAMES, 'crop-and-resize');
  const hintResize: ResizeModeName = resize ?? 'crop-and-resize';

  const controls: ControlRecord[] = [];
  const hints: PictureBytes[] = [];
  const addUnit = async (kind: ControlRecord['kind'], spec: string, option: string, base: ModelRef | null) => {
    const u = parseUnitSpec(spec, option);
    const model = await ref(u.file, `${option} model`, legacyHash);
    controls.push({ kind, model, base, weight: u.weight, start: u.start, end: u.end, resizeMode: hintResize });
    hints.push(picture(u.image, `${option} image`));
  };
  for (const spec of listOption(values.control)) await addUnit('controlnet', spec, '--control', null);
  const ctrlora = listOption(values.ctrlora);
  if (ctrlora.length && values['ctrlora-base'] === undefined) throw new UsageError('--ctrlora needs --ctrlora-base FILE');
  const base = ctrlora.length ? await ref(required(values, 'ctrlora-base'), 'CtrLoRA Base ControlNet', legacyHash) : null;
  for (const spec of ctrlora) await addUnit('ctrlora', spec, '--ctrlora', base);
  const cnxs = listOption(values.cnxs);
  if (cnxs.length > 1) throw new UsageError('only one --cnxs can steer a generation');
  for (const spec of cnxs) await addUnit('cnxs', spec, '--cnxs', null);
  const loras = await Promise.all(
    listOption(values.lora).map(async (spec) => {
      const l = parseLoraSpec(spec);
      return { model: await ref(l.file, 'LoRA', loraShortHash), weight: l.weight };
    }),
  );

  const embeddings: string[] = [];
  for (const dir of listOption(values.embeddings)) {
    const full = existing(dir, 'embeddings folder');
    try {
      embeddings.push(...embeddingFilesIn(full));
    } catch (err) {
      throw new UsageError(`--embeddings ${dir}: ${(err as Error).message}`);
    }
  }
  if (values.vae !== undefined && typeof values.vae !== 'string') throw new UsageError('--vae takes one FILE');
  const vae = typeof values.vae === 'string' ? await ref(values.vae, 'VAE', shortHash) : null;

  const initFile = values['init-image'];
  if (values.mask !== undefined && initFile === undefined) throw new UsageError('--mask needs --init-image');
  if (values.strength !== undefined && initFile === undefined) throw new UsageError('--strength needs --init-image');
  const strength = numberOption(values.strength, 'strength', 0, 1, 0.75);
  if (strength === 0) throw new UsageError('--strength must be above 0');
  const steps = int('steps', 1, 150, 20);
  if (typeof initFile === 'string' && img2imgStepsRun(steps, strength) < 1) {
    throw new UsageError(`--strength ${strength} leaves no step to run at ${steps} steps; at ${steps} steps it must be at least ${minimalStrength(steps)}`);
  }
  for (const flag of ['prompt', 'negative'] as const) {
    const problem = typeof values[flag] === 'string' ? promptScheduleProblem(values[flag]) : null;
    if (problem) throw new UsageError(`--${flag}: the prompt editing does not parse: ${problem.message}`);
  }
  const seed = values.seed === undefined ? randomInt(0, 2 ** 32) : int('seed', 0, 2 ** 32 - 1, 0);
  if (values.regions !== undefined && typeof values.regions !== 'string') throw new UsageError('--regions takes one FILE.json');
  const regions = typeof values.regions === 'string' ? readRegionsFile(values.regions, note) : [];

  const settings: GenerationSettings = {
    prompt: required(values, 'prompt'),
    negative: typeof values.negative === 'string' ? values.negative : '',
    width: size('width'),
    height: size('height'),
    steps,
    cfg: numberOption(values.cfg, 'cfg', 0, 30, 7.5),
    seed,
    sampler: oneOf<SamplerName>(values.sampler, 'sampler', SAMPLER_NAMES, 'euler_a'),
    clipSkip: int('clip-skip', 1, 2, 1) as 1 | 2,
    checkpoint: await ref(required(values, 'checkpoint'), 'checkpoint', shortHash),
    controls,
    loras,
    denoisingStrength: typeof initFile === 'string' ? strength : null,
    initResizeMode: typeof initFile === 'string' ? (resize ?? 'just-resize') : null,
    inpaint: values.mask !== undefined,
    batchSize: int('batch-size', 1, 8, 1),
    batchCount: int('batch-count', 1, 100, 1),
    batchIndex: 0,
    ...(regions.length ? { regions } : {}),
  };
  if (vae) settings.vae = vae;
  settings.hires = hiresFromOptions(values, { width: settings.width, height: settings.height, steps, img2img: typeof initFile === 'string' });
  const precision = oneOf(values.precision, 'precision', ['auto', 'fp16', 'fp32'], 'auto');
  return generatePayload(
    settings,
    {
      controls: hints,
      init: typeof initFile === 'string' ? picture(initFile, 'init image') : null,
      mask: typeof values.mask === 'string' ? picture(values.mask, 'mask') : null,
    },
    {
      compute: ({ auto: 'auto', fp16: 'float16', fp32: 'float32' } as const)[precision] as ComputePrecision,
      returnLatents: typeof values['latents-out'] === 'string',
      embeddings,
    },
  );
}

function progressPrinter(io: CliIo): (step: number, total: number, message: string) => void {
  let last = '';
  return (step, total, message) => {
    const line = total > 0 && step > 0 ? `[${step}/${total}] ${message}` : message;
    if (line === last) return;
    last = line;
    io.err(io.isTty ? `\r\x1b[2K${line.slice(0, 200)}` : `${line}\n`);
  };
}

export const generate: CliCommand = {
  name: 'generate',
  summary: 'make pictures from a prompt, hints (ControlNet, CtrLoRA, ControlNet-XS), LoRAs and an init picture',
  usage:
    '--checkpoint FILE --prompt TEXT [--negative TEXT] [--width 512 --height 512] [--steps 20] [--cfg 7.5] [--seed N] ' +
    '[--sampler ddim|euler|euler_a|dpmpp_2m_karras|...] [--control FILE:IMAGE:WEIGHT[:START:END]]... [--lora FILE:WEIGHT]... ' +
    '[--ctrlora-base FILE --ctrlora LORA:IMAGE:WEIGHT...] [--cnxs FILE:IMAGE:WEIGHT] [--init-image PNG --strength S] [--mask PNG] ' +
    '[--regions FILE.json] [--embeddings DIR]... [--vae FILE] [--clip-skip N] [--batch-size N] [--batch-count N] [--hires-scale S [--hires-steps N] [--hires-denoise D] [--hires-upscaler latent|lanczos|FILE]] ' +
    '--out PNG [--latents-out FILE]',
  options: OPTIONS,
  positionals: { min: 0, max: 0 },
  async run({ values, io, signal }) {
    const out = required(values, 'out');
    const payload = await payloadFromOptions(values, (line) => io.err(`Note: ${line}\n`));
    const s = payload.settings;
    const provider = values.provider === undefined ? undefined : oneOf(values.provider, 'provider', ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'], 'cpu');
    const env: Record<string, string> = {};
    if (provider) env.HINTBRUSH_PROVIDER = provider;
    if (provider === 'cpu') env.HINTBRUSH_ENGINE_SKIP_PROBE = '1'; // nothing to probe: the CPU is always there
    const debug = process.env.HINTBRUSH_DEBUG === '1';
    const supervisor = new EngineSupervisor({
      launcher: nodeEngineLauncher({ resourcesDir: resourcesDir(), dataDir: os.tmpdir(), env }),
      onOutput: debug ? (line) => io.err(`[engine] ${line}\n`) : undefined,
    });
    const queue = new JobQueue({ supervisor });
    supervisor.start();
    io.err(`Seed ${s.seed}${s.batchSize * s.batchCount > 1 ? ` (pictures use ${s.seed}..${s.seed + s.batchSize * s.batchCount - 1})` : ''}\n`);
    try {
      const job = queue.enqueueEngine({ kind: 'generate', title: 'Generate', task: 'generate', payload });
      const print = progressPrinter(io);
      const off = queue.onUpdate(({ job: j }) => j.id === job.id && j.state === 'running' && print(j.progress.step, j.progress.total, j.progress.message));
      const cancel = () => queue.cancel(job.id);
      signal.addEventListener('abort', cancel, { once: true });
      const outcome = await queue.wait(job.id).finally(() => {
        off();
        signal.removeEventListener('abort', cancel);
      });
      if (io.isTty) io.err('\n');
      if (outcome.job.state === 'cancelled') {
        io.err('Cancelled.\n');
        return 130;
      }
      if (outcome.job.state === 'failed') {
        io.err(`hintbrush generate: ${outcome.job.error?.message ?? 'the generation failed'}\n`);
        return 1;
      }
      const result = outcome.result as GenerateTaskResult;
      for (const line of result.notes ?? []) io.err(`Note: ${line}\n`);
      for (const message of result.messages ?? []) io.err(`${message}\n`);
      const count = result.pictures.length;
      for (const p of result.pictures) {
        const file = outputPath(out, p.index, count);
        writeFileAtomic(file, p.png);
        io.out(`${file} (seed ${p.seed})\n`);
      }
      const latentsOut = values['latents-out'];
      if (typeof latentsOut === 'string') {
        const [, c, h, w] = result.pictures[0].latentShape;
        const all = new Float32Array(count * c * h * w);
        result.pictures.forEach((p, i) => all.set(p.latents!, i * c * h * w));
        writeSafetensors(path.resolve(latentsOut), [{ name: 'latents', dtype: 'F32', shape: [count, c, h, w], data: all }]);
        io.out(`${path.resolve(latentsOut)} (latents [${count}, ${c}, ${h}, ${w}])\n`);
      }
      return 0;
    } finally {
      await queue.dispose();
      await supervisor.stop();
    }
  },
};
