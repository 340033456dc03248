// `npm run fuzz`: every parser that reads untrusted input, 100,000 mutated inputs each (bounded in time), no
// crash, hang or uncaught exception allowed. Options: --inputs N, --seconds S (per parser), --seed N,
// --only a,b. Findings go to test-results/fuzz/; the exit code is 1 when there is one.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../support/paths.ts';
import { fuzz } from './fuzz.ts';

const { values } = parseArgs({
  options: { inputs: { type: 'string' }, seconds: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' } },
});
const inputs = Number(values.inputs ?? 100_000);
const seconds = Number(values.seconds ?? 600);
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
const outDir = path.join(repoRoot, 'test-results', 'fuzz');
console.log(`fuzz: up to ${inputs} inputs or ${seconds} s per parser, seed ${seed}`);
const reports = fuzz({
  inputs,
  seconds,
  seed,
  outDir,
  only: values.only?.split(',').filter(Boolean),
  onTarget: (r) =>
    console.log(
      `${r.target.padEnd(15)} ${String(r.inputs).padStart(7)} inputs in ${r.seconds.toFixed(1).padStart(6)} s: ${r.refused} refused, ${r.accepted} accepted, ` +
        `slowest ${r.slowestMs.toFixed(1)} ms, ${r.findings.length} findings${r.findings.length ? `\n  ${r.findings.map((f) => f.problem.split('\n')[0]).join('\n  ')}` : ''}`,
    ),
});
const findings = reports.flatMap((r) => r.findings);
console.log(findings.length ? `${findings.length} findings, written to ${outDir}` : 'no findings');
process.exit(findings.length ? 1 : 0);
