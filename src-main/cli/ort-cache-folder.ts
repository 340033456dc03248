// Where the CLI's engine keeps its optimized-model cache (engine/runtime/optimized-model-cache.ts: up to 8 GiB,
// ~200 MB per picture size for a full-size VAE). The studio (Electron and `hintbrush serve`) keeps it in its data
// folder, `<data>/ort-cache`. `hintbrush generate` and `train` open no data folder (models are files there), and
// the temp folder they used to hand the engine left gigabytes in /tmp where no one looks; so the CLI's cache lives
// in the platform's per-user cache folder, the place users and cleaners expect re-creatable files:
//   Linux (XDG):  $XDG_CACHE_HOME/hintbrush/ort-cache, else ~/.cache/hintbrush/ort-cache
//   macOS:        ~/Library/Caches/Hintbrush/ort-cache
//   Windows:      %LOCALAPPDATA%\Hintbrush\Cache\ort-cache
// HINTBRUSH_ORT_CACHE=<folder> moves it and =off turns it off, as in the studio. The cache is only a speed-up: a
// folder that cannot be made (read-only home, full disk) turns it off with one warning line, never fails a run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The engine's environment variable that names the cache folder, or says 'off' (optimized-model-cache.ts). */
export const ORT_CACHE_ENV = 'HINTBRUSH_ORT_CACHE';

/** The per-user cache folder of this platform for the CLI's optimized models (the table above). */
export function defaultCliOrtCacheFolder(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(local, 'Hintbrush', 'Cache', 'ort-cache');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Caches', 'Hintbrush', 'ort-cache');
  // the XDG base directory spec: an empty or relative $XDG_CACHE_HOME is ignored
  const xdg = env.XDG_CACHE_HOME && path.posix.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.posix.join(home, '.cache');
  return path.posix.join(xdg, 'hintbrush', 'ort-cache');
}

/** The CLI's cache folder: HINTBRUSH_ORT_CACHE's folder, else the per-user default; null when it says 'off'. */
export function cliOrtCacheFolder(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string | null {
  const setting = env[ORT_CACHE_ENV];
  if (setting === 'off') return null;
  return setting || defaultCliOrtCacheFolder(env, platform, home);
}

/** How the help text names the cache's place, for this machine's settings. */
export function cliOrtCacheHelp(env: NodeJS.ProcessEnv = process.env): string {
  const folder = cliOrtCacheFolder(env);
  const where = folder === null ? `off (${ORT_CACHE_ENV}=off)` : `${path.resolve(folder)} (at most 8 GiB)`;
  return `Optimized-model cache: ${where}; ${ORT_CACHE_ENV}=<folder> moves it, =off turns it off.`;
}

/**
 * Makes the cache folder and returns the engine's environment entry for it: the absolute folder, or 'off' when
 * the setting says so or the folder cannot be made or written (then `warn` hears one line saying why).
 */
export function prepareCliOrtCache(warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Record<typeof ORT_CACHE_ENV, string> {
  const folder = cliOrtCacheFolder(env);
  if (folder === null) return { [ORT_CACHE_ENV]: 'off' };
  const full = path.resolve(folder);
  try {
    fs.mkdirSync(full, { recursive: true });
    fs.accessSync(full, fs.constants.W_OK);
    return { [ORT_CACHE_ENV]: full };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    warn(`Warning: cannot use ${full} for the optimized-model cache (${reason}); running without it (${ORT_CACHE_ENV}=<folder> moves it, =off turns it off).\n`);
    return { [ORT_CACHE_ENV]: 'off' };
  }
}
