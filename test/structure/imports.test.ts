// The process boundaries, checked on the imports themselves: `src-main/common/` is the one layer every process
// shares, so it imports only itself; main code never imports the renderer; the renderer imports only
// `common/` from src-main. And no files import each other in a circle (an ES module cycle makes the order of
// initialisation depend on which file was imported first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCycles, parseImports, readImportGraph, type ImportEdge } from './import-graph.ts';
import { repoRoot } from '../support/paths.ts';

// This file's own examples of import statements (strings in the first test) are not imports.
const edges = readImportGraph(repoRoot, ['src-main', 'src-renderer/src', 'test', 'bench', 'scripts']).filter(
  (e) => e.from !== 'test/structure/imports.test.ts',
);
const show = (list: readonly ImportEdge[]): string => list.map((e) => `${e.from} -> ${e.specifier}`).join('\n');

const COMMON = 'src-main/common/';
const isTest = (file: string): boolean => /\.test(-support)?\.ts$/.test(file);

test('the import reader sees every kind of import statement, and none in comments', () => {
  const found = parseImports(
    [
      "import a from './a.ts';",
      "import type { B } from '../b.ts';",
      "import {\n  c,\n  type D,\n} from './c.ts';",
      "export { e } from './e.ts';",
      "export * from './f.ts';",
      "import './g.css';",
      "const h = await import('./h.ts');",
      "type I = typeof import('./i.ts');",
      "// import x from './commented.ts';",
      "/* import y from './block.ts'; */",
    ].join('\n'),
  );
  assert.deepEqual(
    found.map((f) => `${f.specifier}${f.typeOnly ? ' (type)' : ''}`),
    ['./a.ts', '../b.ts (type)', './c.ts', './e.ts', './f.ts', './g.css', './h.ts', './i.ts (type)'],
  );
});

test('the import graph reaches the whole project (the check below is not vacuous)', () => {
  const files = new Set(edges.map((e) => e.from));
  assert.ok(files.size > 300, `only ${files.size} files with imports`);
  assert.ok(edges.some((e) => e.from.startsWith('src-renderer/') && e.to?.startsWith(COMMON)));
  assert.ok(edges.some((e) => e.from.endsWith('.svelte')), 'Svelte files are read');
});

test('src-main/common/ imports nothing but common/ (tests may use node:test and node built-ins)', () => {
  const bad = edges.filter((e) => e.from.startsWith(COMMON) && !(e.to?.startsWith(COMMON) || (isTest(e.from) && e.specifier.startsWith('node:'))));
  assert.equal(show(bad), '');
});

test('src-main/ never imports src-renderer/', () => {
  assert.equal(show(edges.filter((e) => e.from.startsWith('src-main/') && e.to?.startsWith('src-renderer/'))), '');
});

test('src-renderer/ imports nothing of src-main/ but common/', () => {
  const bad = edges.filter((e) => e.from.startsWith('src-renderer/') && e.to?.startsWith('src-main/') && !e.to.startsWith(COMMON));
  assert.equal(show(bad), '');
});

test('test support (*.test-support.ts) is imported only by tests, other test support, test/ and bench/', () => {
  const testSide = (file: string): boolean => isTest(file) || file.startsWith('test/') || file.startsWith('bench/');
  const bad = edges.filter((e) => e.to?.endsWith('.test-support.ts') && !testSide(e.from));
  assert.equal(show(bad), '');
  const helpers = edges.filter((e) => e.to?.endsWith('.test-support.ts')).map((e) => e.to);
  assert.ok(new Set(helpers).size >= 15, 'the test support files are found');
});

test('no test support hides under another name (testing.ts, test-support.ts, a testing/ folder)', () => {
  const files = new Set(edges.map((e) => e.from));
  const hidden = [...files].filter((f) => f.startsWith('src-') && /(^|\/)(testing|test-support)(\.ts$|\/)/.test(f));
  assert.deepEqual(hidden, []);
});

// Production code only (tests may reach across to set things up).
const production = edges.filter((e) => e.from.startsWith('src-main/') && !isTest(e.from) && e.to?.startsWith('src-main/'));
const area = (file: string): string => file.split('/')[1];
/** The other top folders of src-main/ that a folder's production files import. */
const importsOf = (from: string): Set<string> =>
  new Set(production.filter((e) => area(e.from) === from && area(e.to!) !== from).map((e) => area(e.to!)));

test('the engine imports no main-side folder (it runs in its own process)', () => {
  const bad = production.filter((e) => area(e.from) === 'engine' && !['engine', 'common', 'formats', 'generation', 'model-detection'].includes(area(e.to!)));
  assert.equal(show(bad), '');
});

test('the low layers import only what is below them: model-detection, base, formats, generation', () => {
  assert.deepEqual([...importsOf('model-detection')].sort(), ['common', 'formats']);
  assert.deepEqual([...importsOf('base')], ['common']);
  for (const low of ['formats', 'generation']) {
    assert.deepEqual([...importsOf(low)].filter((a) => !['common', 'formats'].includes(a)), [], low);
  }
});

test('bootstrap.ts is on top: only the transports (server, electron, cli) import it', () => {
  const bad = production.filter((e) => e.to === 'src-main/app/bootstrap.ts' && !['server', 'electron', 'cli'].includes(area(e.from)));
  assert.equal(show(bad), '');
  assert.ok(production.some((e) => e.to === 'src-main/app/bootstrap.ts'));
});

test('every relative import names a file that exists', async () => {
  const { existsSync } = await import('node:fs');
  const path = await import('node:path');
  const missing = edges.filter((e) => e.to !== null && !existsSync(path.join(repoRoot, e.to)));
  assert.equal(show(missing), '');
});

test('no files import each other in a cycle', () => {
  const cycles = findCycles(edges);
  assert.equal(cycles.map((c) => `cycle among ${c.join(', ')}`).join('\n'), '');
});
