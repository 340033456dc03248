// Runs every test with node's own test runner (TypeScript through tsx): unit tests next to the code
// (`src-main/**/*.test.ts`, `src-renderer/**/*.test.ts`) and end-to-end tests in `test/`.
// The renderer is built first when an end-to-end test needs it.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The CLI keeps onnxruntime's optimized models in the user's cache folder (on Linux under XDG_CACHE_HOME): the
// tests' belong in the temp folder, not in the home of whoever runs them. The studio's engine keeps its own in
// its data folder, which each test makes; the test of the folder choice sets its own environment.
process.env.XDG_CACHE_HOME ??= path.join(os.tmpdir(), 'hintbrush-test-cache');

const roots = ['src-main', 'src-renderer/src', 'test'];
const only = process.argv.slice(2);

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

let files = roots.flatMap((r) => collect(r, [])).sort();
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.some((f) => f.startsWith('test/e2e'))) {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--renderer'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// Tests that measure how smooth painting stays while the engine works: on a 2-core machine a second test file
// running beside them takes the CPU they measure, so they run after the others, one at a time.
const RUN_ALONE = ['test/e2e/studio-live.e2e.test.ts'];
// The longest files start first (longest-first scheduling keeps both lanes busy to the end instead of leaving one
// file running alone): measured in a clean-clone run on 2 cores, each of these takes 2-12 minutes.
const LONGEST_FIRST = [
  'src-main/engine/runtime/webgpu.test.ts',
  'test/e2e/training.e2e.test.ts',
  'src-main/training/training-service.test.ts',
  'src-main/engine/training/train-step.test.ts',
  'src-main/engine/tasks/train-task.test.ts',
  'test/e2e/disk-full.e2e.test.ts',
];
const rank = (f) => {
  const i = LONGEST_FIRST.indexOf(f.split(path.sep).join('/'));
  return i < 0 ? LONGEST_FIRST.length : i;
};
files.sort((a, b) => rank(a) - rank(b));
const alone = files.filter((f) => RUN_ALONE.includes(f.split(path.sep).join('/')));
const together = files.filter((f) => !alone.includes(f));
let status = 0;
for (const [group, concurrency] of [[together, 2], [alone, 1]]) {
  if (group.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...group],
    { stdio: 'inherit' },
  );
  status ||= result.status ?? 1;
}
process.exit(status);
