// Runs after `npm install`. Optional downloads that need the internet are tried here, and a failure is
// reported, never fatal: Hintbrush always works with the CPU provider and in browser mode.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
  try {
    const electronPath = require('electron');
    if (typeof electronPath === 'string' && existsSync(electronPath)) return say('Electron is installed.');
  } catch {
    // fall through: electron is an optional dependency and its binary download may have failed
  }
  say('Electron could not be installed (its binary download failed): run the studio in browser mode with `npm run serve`.');
}

tryCudaProvider();
reportElectron();
