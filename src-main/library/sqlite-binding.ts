// Which better-sqlite3 native binary this process loads. better-sqlite3 is a V8 addon (not N-API): the binary npm
// builds for Node is refused by Electron ("compiled against a different Node.js version using
// NODE_MODULE_VERSION ..."), and rebuilding it in place would break the CLI, browser mode and the tests, which run
// under Node from the same node_modules. So a development install keeps a second binary, built for the installed
// Electron, in a folder of its own (scripts/electron-sqlite.mjs obtains it on install or on the first `npm start`),
// and the Electron main process hands it to better-sqlite3 through its `nativeBinding` option.
// The packaged app needs none of this: electron-builder rebuilds better-sqlite3 for Electron (`npmRebuild`).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What decides the binary: read from the process by `currentSqliteRuntime`, passed in by tests. */
export interface SqliteRuntime {
  /** `process.versions.electron`: set inside Electron, undefined under Node. */
  electronVersion: string | undefined;
  /** A packaged app (not `electron .` from a clone): its better-sqlite3 was rebuilt for Electron already. */
  packaged: boolean;
  platform: string;
  arch: string;
  /** The node_modules folder that holds better-sqlite3 (the Electron binary's folder lives beside it). */
  nodeModulesDir: string;
  /** better-sqlite3's version: part of the folder name, so an upgrade of it fetches a matching binary. */
  betterSqliteVersion: string;
}

export type SqliteBinding =
  /** better-sqlite3 finds its own binary (build/Release/better_sqlite3.node, built for this Node). */
  | { runtime: 'node' }
  /** The packaged app's better-sqlite3, rebuilt for Electron by electron-builder: its own binary too. */
  | { runtime: 'electron-packaged' }
  /** A development Electron: the binary built for this Electron version, loaded through `nativeBinding`. */
  | { runtime: 'electron'; file: string };

/**
 * Where the Electron-ABI binary lives. scripts/electron-sqlite.mjs repeats this rule (it runs before anything is
 * built, without TypeScript); a test checks that the two agree.
 */
export function electronSqliteFile(
  runtime: Pick<SqliteRuntime, 'nodeModulesDir' | 'betterSqliteVersion' | 'platform' | 'arch'>,
  electronVersion: string,
): string {
  const folder = `better-sqlite3-${runtime.betterSqliteVersion}-electron-${electronVersion}-${runtime.platform}-${runtime.arch}`;
  return path.join(runtime.nodeModulesDir, '.hintbrush', folder, 'better_sqlite3.node');
}

/** The choice itself, pure: Electron (by its version) gets the Electron-ABI file, Node its own binary. */
export function chooseSqliteBinding(runtime: SqliteRuntime): SqliteBinding {
  if (runtime.electronVersion === undefined) return { runtime: 'node' };
  if (runtime.packaged) return { runtime: 'electron-packaged' };
  return { runtime: 'electron', file: electronSqliteFile(runtime, runtime.electronVersion) };
}

export type SqliteBindingErrorKind = 'electron-binding-missing';

/** The Electron-ABI binary is not there: names the file and how to get it, instead of the ABI crash. */
export class SqliteBindingError extends Error {
  constructor(
    readonly kind: SqliteBindingErrorKind,
    /** The binary that was looked for. */
    readonly binding: string,
    message: string,
  ) {
    super(message);
    this.name = 'SqliteBindingError';
  }
}

/**
 * The `nativeBinding` option for better-sqlite3: undefined for its own binary, else the Electron-ABI file, which
 * must exist. Throws SqliteBindingError 'electron-binding-missing' otherwise.
 */
export function nativeBindingFor(binding: SqliteBinding, exists: (file: string) => boolean = fs.existsSync): string | undefined {
  if (binding.runtime !== 'electron') return undefined;
  if (!exists(binding.file)) {
    throw new SqliteBindingError(
      'electron-binding-missing',
      binding.file,
      `The database library (better-sqlite3) has no binary built for this Electron: ${binding.file} is missing. ` +
        'Run `npm start` once with internet access (it fetches the binary), or reinstall with `npm ci`.',
    );
  }
  return binding.file;
}

/** This process's runtime. Under Node nothing is looked up: better-sqlite3 finds its own binary. */
export function currentSqliteRuntime(): SqliteRuntime {
  const electronVersion = process.versions.electron;
  // Electron sets process.defaultApp only when it runs an app folder given on its command line (`electron .`).
  const packaged = electronVersion !== undefined && !(process as { defaultApp?: boolean }).defaultApp;
  let nodeModulesDir = '';
  let betterSqliteVersion = '';
  if (electronVersion !== undefined && !packaged) {
    // import.meta.url is the bundle's own URL in build/main/, so this finds the clone's node_modules.
    const require = createRequire(import.meta.url);
    const manifest = require.resolve('better-sqlite3/package.json');
    nodeModulesDir = path.dirname(path.dirname(manifest));
    betterSqliteVersion = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
  }
  return { electronVersion, packaged, platform: process.platform, arch: process.arch, nodeModulesDir, betterSqliteVersion };
}
