// `hintbrush generate`: one run of the pipeline from the command line, through the same engine child process,
// supervisor and job queue as the app, so it behaves as the app does: per-step progress, Ctrl-C cancels within
// a step, PNGs carrying A1111's parameters. The options become the request the studio sends and go through the
// studio's checks and builders; models are files here (no library needed), hashed as A1111 hashes them.

import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../formats/atomic-file.ts';
import { ContractError } from '../../common/errors.ts';
import { RESIZE_MODE_NAMES, SAMPLER_NAMES, validateGenerateInput, type ControlKind, type GenerateInput } from '../../common/generation-contract.ts';
import type { ComputePrecision, GeneratePayload, GenerateTaskResult } from '../../engine/tasks/generate-payload.ts';
import { payloadFromInput, settingsFromInput } from '../../app/settings-from-input.ts';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { nodeEngineLauncher } from '../../jobs/engine-launcher.ts';
import { EngineSupervisor } from '../../jobs/engine-supervisor.ts';
import { JobQueue } from '../../jobs/job-queue.ts';
import { embeddingFilesIn } from '../../engine/pipeline/textual-inversion.ts';
import { UsageError, type CliCommand, type CliIo, type OptionSpec } from '../command.ts';
import { listOption, numberValue, parseLoraSpec, parseUnitSpec } from '../generate-args.ts';
import { existingFile, fileModelResolverWith } from '../file-model-resolver.ts';
import { readRegionsFileIndexed, type RegionsFileContents } from '../regions-file.ts';
import { MAX_REGIONS } from '../../common/regions-contract.ts';
import { resourcesDir } from '../paths.ts';
import { cliOrtCacheHelp, prepareCliOrtCache } from '../ort-cache-folder.ts';
import { HIRES_OPTIONS, hiresFromOptions } from '../hires-args.ts';
import { promptScheduleProblem } from '../../common/prompt-schedule.ts';

type Values = Record<string, string | boolean | string[] | undefined>;

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
  control: str('FILE:IMAGE:WEIGHT[:START:END][:region=N]', 'a ControlNet with its hint PNG (repeatable); region=N limits it to entry N (from 0) of the --regions file', true),
  'ctrlora-base': str('FILE', 'the CtrLoRA Base ControlNet the --ctrlora conditions run on'),
  ctrlora: str('LORA:IMAGE:WEIGHT[:START:END][:region=N]', 'a CtrLoRA condition LoRA with its hint PNG (repeatable); region=N as for --control', true),
  cnxs: str('FILE:IMAGE:WEIGHT[:START:END][:region=N]', 'a ControlNet-XS with its hint PNG (one); region=N as for --control'),
  lora: str('FILE:WEIGHT', 'a LoRA and its weight, 0 to 2 (repeatable)', true),
  'lora-dir': str('DIR', 'a folder of LoRAs that <lora:name:weight> tags in --regions prompts name by file stem (repeatable)', true),
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

const pictureBase64 = (file: string, what: string): string => readFileSync(existingFile(file, what)).toString('base64');

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

/** Request fields (as validateGenerateInput names them) and their flags; '': the field's name in kebab case (hires.steps -> --hires-steps). */
const FLAG_OF: [RegExp, string][] = [
  [/^init\.strength\b/, '--strength'],
  [/^(init|controls\[\d+\])\.resizeMode\b/, '--resize-mode'],
  [/^init\.imagePngBase64\b/, '--init-image'],
  [/^mask(\.imagePngBase64)?\b/, '--mask'],
  [/^hires\.(resizeWidth|resizeHeight)\b/, '--hires-resize'],
  [/^hires\.(upscaler|model)\b/, '--hires-upscaler'],
  [/^hires\.(scale|steps|denoise)\b/, ''],
  [/^(width|height|steps|cfg|seed|sampler|clipSkip|batchSize|batchCount|prompt|negative|checkpoint|vae)\b/, ''],
];

/** A contract message names a request field; the CLI's names the flag that set it ("clipSkip" -> "--clip-skip"). */
export function flagMessage(message: string): string {
  // a region's field names its place in the regions file: "--regions: regions[1].maskPngBase64 must be..."
  if (/^regions\b/.test(message)) return `--regions: ${message}`;
  for (const [field, flag] of FLAG_OF) {
    const m = field.exec(message);
    if (m) return `${flag || `--${m[0].replace('.', '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`}${message.slice(m[0].length)}`;
  }
  return message;
}

/**
 * A hint's `region=N` as the request's index: N counts the --regions file's entries, the request holds only the
 * regions that are not empty, so N is renumbered; a hint tied to an empty (skipped) region is skipped too.
 */
function regionOf(n: number, kind: ControlKind, spec: string, option: string, file: RegionsFileContents, note: (line: string) => void): number | 'skipped' {
  if (file.fileCount === 0) throw new UsageError(`${option} ${JSON.stringify(spec)}: region=${n} needs --regions FILE.json`);
  if (n >= file.fileCount) throw new UsageError(`${option} ${JSON.stringify(spec)}: region=${n}, but the --regions file lists ${file.fileCount} (0 to ${file.fileCount - 1})`);
  const index = file.fileIndex.indexOf(n);
  if (index < 0) note(`${option} ${JSON.stringify(spec)}: region [${n}] is skipped (empty mask), so this hint is skipped too`);
  return index < 0 ? 'skipped' : index;
}

/**
 * The request the options describe, in the shape the studio sends (models named by their files, pictures as
 * base64 PNG), checked by the studio's own validateGenerateInput: one place holds the defaults and ranges.
 */
export function requestFromOptions(values: Values, note: (line: string) => void = () => {}): GenerateInput {
  const resizeMode = values['resize-mode'] === undefined ? undefined : oneOf(values['resize-mode'], 'resize-mode', RESIZE_MODE_NAMES, 'crop-and-resize');
  if (values.regions !== undefined && typeof values.regions !== 'string') throw new UsageError('--regions takes one FILE.json');
  const regionsFile: RegionsFileContents = typeof values.regions === 'string' ? readRegionsFileIndexed(values.regions, note) : { regions: [], fileIndex: [], fileCount: 0 };
  const unit = (kind: ControlKind, spec: string, option: string, base?: string) => {
    const u = parseUnitSpec(spec, option);
    const region = u.region === undefined ? null : regionOf(u.region, kind, spec, option, regionsFile, note);
    if (region === 'skipped') return null;
    const record = { kind, model: u.file, imagePngBase64: pictureBase64(u.image, `${option} image`), weight: u.weight, start: u.start, end: u.end, resizeMode, region };
    return base === undefined ? record : { ...record, base };
  };
  const ctrlora = listOption(values.ctrlora);
  if (ctrlora.length && values['ctrlora-base'] === undefined) throw new UsageError('--ctrlora needs --ctrlora-base FILE');
  const cnxs = listOption(values.cnxs);
  if (cnxs.length > 1) throw new UsageError('only one --cnxs can steer a generation');
  const controls = [
    ...listOption(values.control).map((spec) => unit('controlnet', spec, '--control')),
    ...ctrlora.map((spec) => unit('ctrlora', spec, '--ctrlora', required(values, 'ctrlora-base'))),
    ...cnxs.map((spec) => unit('cnxs', spec, '--cnxs')),
  ].filter((c) => c !== null);
  const loras = listOption(values.lora).map((spec) => {
    const l = parseLoraSpec(spec);
    return { model: l.file, weight: l.weight };
  });
  if (values.vae !== undefined && typeof values.vae !== 'string') throw new UsageError('--vae takes one FILE');

  const initFile = values['init-image'];
  if (values.mask !== undefined && initFile === undefined) throw new UsageError('--mask needs --init-image');
  if (values.strength !== undefined && initFile === undefined) throw new UsageError('--strength needs --init-image');
  for (const flag of ['prompt', 'negative'] as const) {
    const problem = typeof values[flag] === 'string' ? promptScheduleProblem(values[flag]) : null;
    if (problem) throw new UsageError(`--${flag}: the prompt editing does not parse: ${problem.message}`);
  }
  const hires = hiresFromOptions(values, typeof initFile === 'string'); // before the init picture is read
  const request = {
    checkpoint: required(values, 'checkpoint'),
    prompt: required(values, 'prompt'),
    negative: values.negative,
    width: numberValue(values.width, 'width'),
    height: numberValue(values.height, 'height'),
    steps: numberValue(values.steps, 'steps'),
    cfg: numberValue(values.cfg, 'cfg'),
    seed: numberValue(values.seed, 'seed'),
    sampler: values.sampler,
    clipSkip: numberValue(values['clip-skip'], 'clip-skip'),
    controls,
    loras,
    init: typeof initFile === 'string' ? { imagePngBase64: pictureBase64(initFile, 'init image'), strength: numberValue(values.strength, 'strength'), resizeMode } : null,
    mask: typeof values.mask === 'string' ? { imagePngBase64: pictureBase64(values.mask, 'mask') } : null,
    batchSize: numberValue(values['batch-size'], 'batch-size'),
    batchCount: numberValue(values['batch-count'], 'batch-count'),
    // the CLI has no library, so no default VAE: the checkpoint's own unless --vae names one
    vae: typeof values.vae === 'string' ? values.vae : null,
    hires,
    regions: regionsFile.regions,
  };
  try {
    return validateGenerateInput(request);
  } catch (err) {
    if (err instanceof ContractError) throw new UsageError(flagMessage(err.message));
    throw err;
  }
}

/** The engine payload the options describe: the studio's settingsFromInput and payloadFromInput over files. */
export async function payloadFromOptions(values: Values, note: (line: string) => void = () => {}): Promise<GeneratePayload> {
  const input = requestFromOptions(values, note);
  const embeddings: string[] = [];
  for (const dir of listOption(values.embeddings)) {
    const full = existingFile(dir, 'embeddings folder');
    try {
      embeddings.push(...embeddingFilesIn(full));
    } catch (err) {
      throw new UsageError(`--embeddings ${dir}: ${(err as Error).message}`);
    }
  }
  const precision = oneOf(values.precision, 'precision', ['auto', 'fp16', 'fp32'], 'auto');
  const loraDirs = listOption(values['lora-dir']).map((dir) => {
    const full = existingFile(dir, '--lora-dir folder');
    if (!statSync(full).isDirectory()) throw new UsageError(`--lora-dir ${dir}: not a folder`);
    return full;
  });
  const settings = await settingsFromInput(input, fileModelResolverWith(loraDirs));
  return payloadFromInput(settings, input, {
    compute: ({ auto: 'auto', fp16: 'float16', fp32: 'float32' } as const)[precision] as ComputePrecision,
    returnLatents: typeof values['latents-out'] === 'string',
    embeddings,
  });
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
    '[--sampler ddim|euler|euler_a|dpmpp_2m_karras|...] [--control FILE:IMAGE:WEIGHT[:START:END][:region=N]]... [--lora FILE:WEIGHT]... ' +
    '[--ctrlora-base FILE --ctrlora LORA:IMAGE:WEIGHT...] [--cnxs FILE:IMAGE:WEIGHT[:region=N]] [--init-image PNG --strength S] [--mask PNG] ' +
    '[--regions FILE.json [--lora-dir DIR]...] [--embeddings DIR]... [--vae FILE] [--clip-skip N] [--batch-size N] [--batch-count N] [--hires-scale S [--hires-steps N] [--hires-denoise D] [--hires-upscaler latent|lanczos|FILE]] ' +
    '--out PNG [--latents-out FILE]',
  options: OPTIONS,
  positionals: { min: 0, max: 0 },
  helpNotes: () => [cliOrtCacheHelp()],
  async run({ values, io, signal }) {
    const out = required(values, 'out');
    const payload = await payloadFromOptions(values, (line) => io.err(`Note: ${line}\n`));
    const s = payload.settings;
    const provider = values.provider === undefined ? undefined : oneOf(values.provider, 'provider', ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'], 'cpu');
    const env: Record<string, string> = prepareCliOrtCache((line) => io.err(line));
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
      for (const message of result.messages ?? []) io.err(`Note: ${message}\n`);
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
