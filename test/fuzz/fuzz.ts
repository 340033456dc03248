// The fuzz loop: for each target, up to `inputs` mutated inputs (or `seconds`, whichever ends first), each run
// through the parser; a finding is an unexpected exception or an input that took longer than `hangMs`. Findings
// are written to `outDir` (the input, and a .txt with the error) so they can be replayed.
import fs from 'node:fs';
import path from 'node:path';
import { rng } from './mutate.ts';
import { removeScratch, targets } from './targets.ts';

export interface FuzzOptions {
  inputs: number;
  seconds: number;
  seed: number;
  hangMs?: number;
  only?: readonly string[];
  outDir?: string;
  onTarget?: (report: TargetReport) => void;
}

export interface Finding {
  target: string;
  index: number;
  problem: string;
  file?: string;
}

export interface TargetReport {
  target: string;
  inputs: number;
  refused: number;
  accepted: number;
  slowestMs: number;
  seconds: number;
  findings: Finding[];
}

export function fuzz(o: FuzzOptions): TargetReport[] {
  const hangMs = o.hangMs ?? 1000;
  const reports: TargetReport[] = [];
  try {
    for (const target of targets().filter((t) => !o.only?.length || o.only.includes(t.name))) {
      const r = rng(o.seed);
      const report: TargetReport = { target: target.name, inputs: 0, refused: 0, accepted: 0, slowestMs: 0, seconds: 0, findings: [] };
      const started = performance.now();
      while (report.inputs < o.inputs && performance.now() - started < o.seconds * 1000) {
        const index = report.inputs++;
        const t0 = performance.now();
        let input: Uint8Array | null = null;
        let problem: string | null = null;
        try {
          input = target.step(r);
          report.accepted++;
        } catch (err) {
          if (target.expected(err)) report.refused++;
          else problem = `${(err as Error)?.name ?? typeof err}: ${(err as Error)?.stack ?? String(err)}`;
        }
        const ms = performance.now() - t0;
        report.slowestMs = Math.max(report.slowestMs, ms);
        if (!problem && ms > hangMs) problem = `took ${ms.toFixed(0)} ms`;
        if (problem && report.findings.length < 20) report.findings.push(record(o.outDir, target.name, index, problem, input));
      }
      report.seconds = (performance.now() - started) / 1000;
      reports.push(report);
      o.onTarget?.(report);
    }
  } finally {
    removeScratch();
  }
  return reports;
}

function record(outDir: string | undefined, target: string, index: number, problem: string, input: Uint8Array | null): Finding {
  if (!outDir) return { target, index, problem };
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${target}-${index}`);
  // a throwing step gives no input back: the seed and index replay it (--seed, --only, --inputs index+1)
  if (input) fs.writeFileSync(`${file}.bin`, input);
  fs.writeFileSync(`${file}.txt`, `${problem}\n`);
  return { target, index, problem, file };
}
