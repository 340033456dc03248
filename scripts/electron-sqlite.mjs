// Obtains a better-sqlite3 binary built for the installed Electron's ABI into a folder of its own
// (node_modules/.hintbrush/), leaving node_modules/better-sqlite3's own binary, which Node needs, untouched.
// Used by scripts/postinstall.mjs and scripts/start.mjs; src-main/library/sqlite-binding.ts loads the result inside
// Electron through better-sqlite3's `nativeBinding` option. Never throws: a failure comes back as a reason.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The same rule as electronSqliteFile in src-main/library/sqlite-binding.ts (a test checks they agree). */
export function electronSqliteFile({ nodeModulesDir, betterSqliteVersion, electronVersion, platform, arch }) {
  const folder = `better-sqlite3-${betterSqliteVersion}-electron-${electronVersion}-${platform}-${arch}`;
  return path.join(nodeModulesDir, '.hintbrush', folder, 'better_sqlite3.node');
}

/** The installed Electron: its binary and version, or null when the optional dependency or its download is missing. */
export function installedElectron() {
  try {
    const binary = require('electron'); // the package's main exports the binary's path
    if (typeof binary !== 'string' || !existsSync(binary)) return null;
    return { binary, version: require('electron/package.json').version };
  } catch {
    return null;
  }
}

/**
 * Makes sure the Electron-ABI binary exists: fetches the prebuilt one for `--runtime electron --target <version>`
 * with prebuild-install, run in an empty folder holding only better-sqlite3's package.json (so nothing of the
 * installed package is overwritten), then checks that Electron (as Node, ELECTRON_RUN_AS_NODE) can load it.
 * Returns { ok: true, file, fetched } or { ok: false, file, reason }.
 */
export function ensureElectronSqlite(electron, options = {}) {
  try {
    return obtain(electron, options);
  } catch (err) {
    // An install must never fail because of this (e.g. an unwritable node_modules): report it instead.
    return { ok: false, file: '', reason: err.message };
  }
}

function obtain(electron, { timeoutMs = 180_000 }) {
  let manifestPath;
  try {
    manifestPath = require.resolve('better-sqlite3/package.json');
  } catch {
    return { ok: false, file: '', reason: 'better-sqlite3 is not installed' };
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const file = electronSqliteFile({
    nodeModulesDir: path.dirname(path.dirname(manifestPath)),
    betterSqliteVersion: manifest.version,
    electronVersion: electron.version,
    platform: process.platform,
    arch: process.arch,
  });
  if (existsSync(file)) return { ok: true, file, fetched: false };

  let prebuildInstall;
  try {
    prebuildInstall = createRequire(manifestPath).resolve('prebuild-install/bin.js');
  } catch {
    return { ok: false, file, reason: 'prebuild-install (a dependency of better-sqlite3) is not installed' };
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-electron-sqlite-'));
  try {
    writeFileSync(path.join(work, 'package.json'), JSON.stringify(manifest));
    const args = ['--runtime', 'electron', '--target', electron.version, '--platform', process.platform, '--arch', process.arch];
    const run = spawnSync(process.execPath, [prebuildInstall, ...args], { cwd: work, encoding: 'utf8', timeout: timeoutMs });
    const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
    if (run.status !== 0 || !existsSync(built)) {
      const why = lastLine(run.stderr) || lastLine(run.stdout) || run.error?.message || `exit ${run.status ?? run.signal}`;
      return { ok: false, file, reason: `prebuild-install found no binary for Electron ${electron.version}: ${why}` };
    }
    const check = spawnSync(electron.binary, ['-e', `require(${JSON.stringify(built)})`], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (check.status !== 0) {
      return { ok: false, file, reason: `Electron ${electron.version} cannot load the fetched binary: ${lastLine(check.stderr) || `exit ${check.status ?? check.signal}`}` };
    }
    // Copied then renamed, so an interrupted install never leaves a half-written binary where the app looks.
    mkdirSync(path.dirname(file), { recursive: true });
    copyFileSync(built, `${file}.partial`);
    renameSync(`${file}.partial`, file);
    return { ok: true, file, fetched: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function lastLine(text) {
  return (text ?? '').trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}
