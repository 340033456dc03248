// `npm start`: builds, then runs the desktop app when Electron is installed, else browser mode
// (`hintbrush serve`), whose URL it prints. Arguments after `--` go to `hintbrush serve` in browser mode.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureElectronSqlite, installedElectron } from './electron-sqlite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.log(`[hintbrush] ${line}`);

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('[hintbrush] the build failed; see above.');
  process.exit(build.status ?? 1);
}

/**
 * The Electron binary, when the optional dependency installed it (its download may have failed) and a
 * better-sqlite3 binary for its ABI is there or can be fetched now (once: it is kept in node_modules/.hintbrush/).
 */
function electronBinary() {
  const electron = installedElectron();
  if (!electron) {
    say('Electron is not installed (its binary could not be downloaded), so Hintbrush starts in browser mode.');
    return null;
  }
  const sqlite = ensureElectronSqlite(electron);
  if (!sqlite.ok) {
    say(`Electron ${electron.version} is installed, but the database library has no binary for it (${sqlite.reason}),`);
    say('so Hintbrush starts in browser mode. Run `npm start` again with internet access to get the desktop app.');
    return null;
  }
  if (sqlite.fetched) say(`better-sqlite3 for Electron ${electron.version} fetched: ${sqlite.file}`);
  return electron.binary;
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
  say('Open the URL printed below in your browser.');
  const extra = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  foreground(process.execPath, [path.join(root, 'bin', 'hintbrush.mjs'), 'serve', ...extra]);
}
