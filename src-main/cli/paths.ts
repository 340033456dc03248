// Where the CLI finds the app's folders. From sources (src-main/cli/) and from the bundle (build/main/) the
// package root is two folders up, so the same relative paths serve both.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const resourcesDir = (): string => path.join(packageRoot(), 'resources');

export const rendererDir = (): string => path.join(packageRoot(), 'build', 'renderer');

/**
 * The data folder: --data, else $HINTBRUSH_DATA, else the folder Electron's app.getPath('userData') names
 * for an app called 'hintbrush', so the desktop app and `hintbrush serve` share one library.
 */
export function dataDir(flag?: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (flag) return path.resolve(flag);
  if (env.HINTBRUSH_DATA) return path.resolve(env.HINTBRUSH_DATA);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'hintbrush');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'hintbrush');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'hintbrush');
}
