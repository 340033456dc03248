// Builds Hintbrush into build/:
//   build/renderer/              the Svelte renderer (vite build with src-renderer/vite.config.ts)
//   build/main/electron-main.cjs Electron main (package.json "main")
//   build/main/preload.cjs       the sandboxed preload (CJS, browser platform: no Node built-ins can slip in)
//   build/main/engine-process.cjs the engine (utilityProcess in Electron, child process in browser mode)
//   build/main/hintbrush-cli.mjs the CLI, for a package without the TypeScript sources
// Usage: node scripts/build.mjs [--renderer | --main]   (no flag: both)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const known = new Set(['--renderer', '--main']);
for (const a of args) {
  if (!known.has(a)) {
    console.error(`build: unknown option ${a}\nUsage: node scripts/build.mjs [--renderer | --main]`);
    process.exit(2);
  }
}
const wantRenderer = args.has('--renderer') || !args.has('--main');
const wantMain = args.has('--main') || !args.has('--renderer');
const say = (line) => console.log(`[build] ${line}`);

function buildRenderer() {
  const config = path.join(root, 'src-renderer', 'vite.config.ts');
  if (!existsSync(config)) {
    say('renderer skipped: src-renderer/vite.config.ts does not exist yet');
    return true;
  }
  const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  say('renderer: vite build');
  const run = spawnSync(process.execPath, [vite, 'build', '--config', config, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`[build] vite build failed (exit ${run.status ?? run.signal})`);
    return false;
  }
  say('renderer: build/renderer/');
  return true;
}

async function buildMain() {
  const esbuild = await import('esbuild');
  // Native and optional modules stay outside the bundles and are required at run time.
  const external = ['electron', 'onnxruntime-node', 'better-sqlite3', 'bufferutil', 'utf-8-validate'];
  const common = {
    bundle: true,
    absWorkingDir: root,
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    external,
  };
  // In CJS, import.meta.url does not exist: every module of a bundle gets the bundle's own URL, which is
  // what the code expects (the engine entry and package.json are found relative to it).
  const cjsImportMeta = {
    format: 'cjs',
    platform: 'node',
    define: { 'import.meta.url': '__hintbrush_import_meta_url' },
    banner: { js: "const __hintbrush_import_meta_url = require('url').pathToFileURL(__filename).href;" },
  };
  const out = (name) => path.join(root, 'build', 'main', name);
  await Promise.all([
    esbuild.build({ ...common, ...cjsImportMeta, entryPoints: ['src-main/electron/main.ts'], outfile: out('electron-main.cjs') }),
    esbuild.build({ ...common, ...cjsImportMeta, entryPoints: ['src-main/engine/engine-process.ts'], outfile: out('engine-process.cjs') }),
    // Sandboxed preloads get a require() that knows 'electron' and little else, and no Node built-ins.
    esbuild.build({ ...common, format: 'cjs', platform: 'browser', target: 'chrome130', entryPoints: ['src-main/electron/preload.ts'], outfile: out('preload.cjs') }),
    esbuild.build({
      ...common,
      format: 'esm',
      platform: 'node',
      entryPoints: ['src-main/cli/hintbrush.ts'],
      outfile: out('hintbrush-cli.mjs'),
      // Bundled CJS dependencies (ws) call require(); give the ESM bundle one.
      banner: { js: "import { createRequire as __hintbrushCreateRequire } from 'node:module'; const require = __hintbrushCreateRequire(import.meta.url);" },
    }),
  ]);
  say('main: build/main/{electron-main.cjs, preload.cjs, engine-process.cjs, hintbrush-cli.mjs}');
}

let ok = true;
if (wantRenderer) ok = buildRenderer() && ok;
if (wantMain) {
  try {
    await buildMain();
  } catch (err) {
    console.error(`[build] esbuild failed: ${err.message}`);
    ok = false;
  }
}
process.exit(ok ? 0 : 1);
