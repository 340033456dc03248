// `npm start`: builds, then runs the desktop app when Electron is installed, else browser mode
// (`hintbrush serve`), whose URL it prints. Arguments after `--` go to `hintbrush serve` in browser mode.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (line) => console.log(`[hintbrush] ${line}`);

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('[hintbrush] the build failed; see above.');
  process.exit(build.status ?? 1);
}

/** The Electron binary, when the optional dependency installed it (its download may have failed). */
function electronBinary() {
  try {
    const binary = require('electron'); // the package's main exports the binary's path
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Runs a child in the foreground: Ctrl-C reaches it (same process group) and its exit code becomes ours. */
function foreground(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  // Ctrl-C in a terminal reaches the child directly; a signal sent to this process alone is passed on.
  // Either way this process stays until the child has cleaned up, and exits with its code.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  child.on('error', (err) => {
    console.error(`[hintbrush] could not start ${command}: ${err.message}`);
    process.exit(1);
  });
}

const electron = electronBinary();
if (electron) {
  say('starting the desktop app (Electron)');
  foreground(electron, [root]);
} else {
  say('Electron is not installed (its binary could not be downloaded), so Hintbrush starts in browser mode.');
  say('Open the URL printed below in your browser.');
  const extra = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  foreground(process.execPath, [path.join(root, 'bin', 'hintbrush.mjs'), 'serve', ...extra]);
}
