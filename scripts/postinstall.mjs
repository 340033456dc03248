// Runs after `npm install`. Optional downloads that need the internet are tried here, and a failure is
// reported, never fatal: Hintbrush always works with the CPU provider and in browser mode.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ensureElectronSqlite, installedElectron } from './electron-sqlite.mjs';

const require = createRequire(import.meta.url);
const say = (line) => console.log(`[hintbrush] ${line}`);

function tryCudaProvider() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  if (process.env.HINTBRUSH_SKIP_CUDA === '1') return say('CUDA provider download skipped (HINTBRUSH_SKIP_CUDA=1).');
  let ortDir;
  try {
    ortDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return say('onnxruntime-node is not installed; the engine cannot run.');
  }
  const cudaLib = path.join(ortDir, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
  if (existsSync(cudaLib)) return say('CUDA provider for onnxruntime-node is present.');
  const run = spawnSync(process.execPath, [path.join(ortDir, 'script/install.js')], {
    cwd: ortDir,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12', npm_config_onnxruntime_node_install: '' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (run.status === 0 && existsSync(cudaLib)) say('CUDA provider for onnxruntime-node downloaded.');
  else say('CUDA provider could not be downloaded (no internet?): the engine will use the CPU provider.');
}

function reportElectron() {
  const electron = installedElectron(); // an optional dependency: its binary download may have failed
  if (!electron) {
    return say('Electron could not be installed (its binary download failed): run the studio in browser mode with `npm run serve`.');
  }
  say(`Electron ${electron.version} is installed.`);
  // better-sqlite3's own binary is for Node; the desktop app needs one for Electron's ABI beside it.
  const sqlite = ensureElectronSqlite(electron);
  if (sqlite.ok) say(`better-sqlite3 for Electron ${sqlite.fetched ? 'fetched' : 'present'}: ${sqlite.file}`);
  else say(`better-sqlite3 for Electron could not be had (${sqlite.reason}); \`npm start\` tries again, else uses browser mode.`);
}

tryCudaProvider();
reportElectron();
