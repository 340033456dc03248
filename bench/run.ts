// `npm run bench`: every registered scenario on every model it names, each in a fresh child process (so peak
// memory is per scenario), then a table and bench/results.json. The full-size random checkpoint and ControlNet
// are generated on the first run into the cache folder (os.tmpdir()/hintbrush-bench, or $HINTBRUSH_BENCH_CACHE).
//
//   npm run bench -- [--model tiny|full]... [--only name,name] [--runs N] [--full-runs N] [--compute float32|float16]
//                    [--provider cpu|cuda|dml|coreml|webgpu] [--fusions default|plain|attention,groupnorm] [--fold-weights]
//                    [--timeout seconds] [--quiet-wait seconds] [--out file] [--merge]
//
// On a GPU: `npm run bench -- --provider cuda --compute float16` measures the same scenarios there, and
// `--fusions plain` / `--fusions attention,groupnorm` measure what each fused op gains on that provider.
//
// --merge keeps the rows of the out file that this run did not measure (another scenario or model), each with
// the date it was measured, so a long full-size scenario can be re-measured alone.
//
// Wall times on a shared machine are only as good as its quiet: each row records the 1-minute load average when
// it started and the CPU time it used, and --quiet-wait waits (up to that long) for the load to fall first.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from './child.ts';
import { benchModel, cacheDir, ensureFullModels } from './models.ts';
import type { BenchOptions, ModelName, Scenario } from './scenario.ts';
import { SCENARIOS } from './scenarios/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');

interface Row extends ChildReport {
  scenario: string;
  title: string;
  headline: string;
  model: ModelName;
  wallMs: number;
  /** 1-minute load average when the scenario started: above the core count, other work competed for the CPU. */
  loadBefore: number;
}

/** Waits (at most `maxS` seconds) until the 1-minute load average drops below `below`; returns the load then. */
async function waitForQuiet(below: number, maxS: number): Promise<number> {
  const until = Date.now() + maxS * 1000;
  while (os.loadavg()[0] >= below && Date.now() < until) await new Promise((r) => setTimeout(r, 5000));
  return os.loadavg()[0];
}

function runChild(s: Scenario, model: ModelName, opts: BenchOptions, timeoutS: number, loadBefore: number): Promise<Row> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = fork(path.join(here, 'child.ts'), [s.name, model, JSON.stringify(opts)], {
      cwd: repoRoot,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      timeout: timeoutS * 1000,
    });
    let report: ChildReport | null = null;
    child.on('message', (m) => (report = m as ChildReport));
    child.on('exit', (code, signal) => {
      const failed: ChildReport = {
        ok: false,
        metrics: {},
        detail: '',
        peakRssMiB: 0,
        baselineRssMiB: 0,
        cpuMs: 0,
        error: signal ? `killed by ${signal}${signal === 'SIGTERM' ? ` (over ${timeoutS} s?)` : ''}` : `exited with code ${code}`,
      };
      resolve({ scenario: s.name, title: s.title, headline: s.headline, model, wallMs: performance.now() - t0, loadBefore, ...(report ?? failed) });
    });
  });
}

const seconds = (ms: number) => (ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
/** A metric as the table shows it: `*_ratio` metrics are plain factors (region-cost), `*_gflop(s)` work and rates, the rest times. */
function metricText(name: string, v: number): string {
  if (name.endsWith('_ratio')) return `${v.toFixed(2)}x`;
  if (name.endsWith('_gflops')) return `${v.toFixed(0)} GFLOP/s`;
  if (name.endsWith('_gflop')) return `${v.toFixed(0)} GFLOP`;
  return seconds(v);
}

function table(rows: Row[]): string {
  const header = ['scenario', 'model', 'headline', 'CPU (all)', 'peak RSS', 'load', 'breakdown', 'measured'];
  const lines = rows.map((r) => [
    r.scenario,
    r.model,
    r.ok ? metricText(r.headline, r.metrics[r.headline]) : 'FAILED',
    r.ok ? seconds(r.cpuMs) : '',
    r.ok ? `${Math.round(r.peakRssMiB)} MiB` : '',
    r.loadBefore.toFixed(1),
    r.ok ? Object.entries(r.metrics).filter(([k]) => k !== r.headline).map(([k, v]) => `${k.replace(/_ms$/, '')} ${metricText(k, v)}`).join(', ') : (r.error ?? ''),
    r.detail,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

interface SavedRow {
  date?: string;
  scenario: string;
  model: string;
}

/** The rows of an earlier results file that this run did not measure again, dated (older files had one date). */
function keptRows(file: string, measured: readonly SavedRow[]): SavedRow[] {
  if (!fs.existsSync(file)) return [];
  const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { date: string; results: SavedRow[] };
  return old.results
    .filter((r) => !measured.some((m) => m.scenario === r.scenario && m.model === r.model))
    .map((r) => ({ ...r, date: r.date ?? old.date }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      only: { type: 'string' },
      runs: { type: 'string', default: '5' },
      'full-runs': { type: 'string', default: '1' },
      compute: { type: 'string', default: 'float32' },
      provider: { type: 'string', default: 'cpu' },
      fusions: { type: 'string', default: 'default' },
      'fold-weights': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '1800' },
      'quiet-wait': { type: 'string', default: '0' },
      out: { type: 'string', default: path.join(here, 'results.json') },
      merge: { type: 'boolean', default: false },
    },
  });
  const models = (values.model ?? ['tiny', 'full']) as ModelName[];
  for (const m of models) if (m !== 'tiny' && m !== 'full') throw new Error(`--model takes tiny or full, not '${m}'`);
  const only = values.only?.split(',').filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  if (scenarios.length === 0) throw new Error(`--only ${values.only}: no such scenario (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const compute = values.compute as BenchOptions['compute'];
  if (compute !== 'float32' && compute !== 'float16') throw new Error(`--compute takes float32 or float16, not '${compute}'`);
  const provider = values.provider as BenchOptions['provider'];
  if (!['cpu', 'cuda', 'dml', 'coreml', 'webgpu'].includes(provider)) throw new Error(`--provider takes cpu, cuda, dml, coreml or webgpu, not '${provider}'`);
  const opts: BenchOptions = { compute, provider, fusions: values.fusions ?? 'default', foldWeights: values['fold-weights'] ?? false, runs: Number(values.runs), fullRuns: Number(values['full-runs']) };

  if (models.includes('full')) {
    process.stderr.write(`full-size models in ${cacheDir()}\n`);
    ensureFullModels();
  }
  const rows: Row[] = [];
  for (const model of models) {
    for (const s of scenarios.filter((x) => x.models.includes(model))) {
      process.stderr.write(`${s.name} on ${model}...`);
      const load = await waitForQuiet(os.cpus().length * 0.75, Number(values['quiet-wait']));
      const row = await runChild(s, model, opts, Number(values.timeout), load);
      process.stderr.write(row.ok ? ` ${seconds(row.metrics[row.headline])} (${seconds(row.wallMs)} in all)\n` : ` FAILED: ${row.error}\n`);
      rows.push(row);
    }
  }
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntime: JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version as string,
  };
  console.log(`\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, node ${machine.node}, onnxruntime-node ${machine.onnxruntime}, CPU provider`);
  for (const m of models) console.log(`  ${m}: ${benchModel(m).title}`);
  console.log(`\n${table(rows)}\n`);
  const date = new Date().toISOString();
  const measured = rows.map(({ scenario, title, model, ok, metrics, detail, peakRssMiB, baselineRssMiB, cpuMs, wallMs, loadBefore, error }) => ({
    date,
    scenario,
    title,
    model,
    ok,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    detail,
    peakRssMiB: Math.round(peakRssMiB),
    baselineRssMiB: Math.round(baselineRssMiB),
    cpuMs: Math.round(cpuMs),
    wallMs: Math.round(wallMs),
    loadBefore: Math.round(loadBefore * 100) / 100,
    ...(error ? { error } : {}),
  }));
  const kept = values.merge ? keptRows(values.out!, measured) : [];
  const results = {
    date,
    machine,
    provider: 'cpu',
    options: opts,
    models: Object.fromEntries((['tiny', 'full'] as const).filter((m) => models.includes(m) || kept.some((r) => r.model === m)).map((m) => [m, benchModel(m).title])),
    results: [...kept, ...measured],
  };
  fs.writeFileSync(values.out!, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), values.out!) || values.out}`);
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
