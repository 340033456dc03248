// Where things are, resolved from this file so tests run from any working directory.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures', 'sd15-tiny');
/** Screenshots and traces of end-to-end runs (git-ignored). */
export const resultsDir = path.join(repoRoot, 'test-results');
export const rendererBuildDir = path.join(repoRoot, 'build', 'renderer');
