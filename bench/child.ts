// Runs one scenario on one model in this (fresh) process and sends the result to the parent: the timings, and
// the process's peak resident memory, which therefore belongs to this scenario alone.

import { resourceUsage } from 'node:process';
import { benchModel } from './models.ts';
import type { BenchOptions, ModelName } from './scenario.ts';
import { scenario } from './scenarios/index.ts';

export interface ChildReport {
  ok: boolean;
  metrics: Record<string, number>;
  detail: string;
  /** Peak RSS of the whole process (node, ORT, weights, activations), MiB. */
  peakRssMiB: number;
  /** Peak RSS before the scenario started (node + tsx + module loading), MiB. */
  baselineRssMiB: number;
  /** CPU time (user + system, all threads) the scenario used, ms: less sensitive than wall time to a busy machine. */
  cpuMs: number;
  error?: string;
}

const KIB_PER_MIB = 1024; // resourceUsage().maxRSS is in KiB

async function main(): Promise<void> {
  const [name, model, optsJson] = process.argv.slice(2);
  const opts = JSON.parse(optsJson) as BenchOptions;
  const start = resourceUsage();
  const baselineRssMiB = start.maxRSS / KIB_PER_MIB;
  const usage = () => {
    const u = resourceUsage();
    return { peakRssMiB: u.maxRSS / KIB_PER_MIB, baselineRssMiB, cpuMs: (u.userCPUTime + u.systemCPUTime - start.userCPUTime - start.systemCPUTime) / 1000 };
  };
  let report: ChildReport;
  try {
    const result = await scenario(name).run(benchModel(model as ModelName), opts);
    report = { ok: true, ...result, ...usage() };
  } catch (error) {
    const e = error as Error;
    report = { ok: false, metrics: {}, detail: '', ...usage(), error: `${e.name}: ${e.message}` };
  }
  process.send!(report, () => process.exit(0));
}

void main();
