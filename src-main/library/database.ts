// Opens the library's SQLite database (better-sqlite3): WAL journal, foreign keys on, and every pending schema
// migration applied in one transaction that ends by writing `PRAGMA user_version`. A database written by a
// newer Hintbrush (user_version above what this build knows) is refused before anything is written to it, so
// the user can go back to the newer version without losing anything.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';
import { chooseSqliteBinding, currentSqliteRuntime, nativeBindingFor } from './sqlite-binding.ts';

export type { Database } from 'better-sqlite3';

export type LibraryDatabaseErrorKind = 'newer-database' | 'corrupt-database' | 'migration-failed' | 'bad-migrations';

/** A problem with the library database file, naming the file and what is wrong. */
export class LibraryDatabaseError extends Error {
  constructor(
    readonly kind: LibraryDatabaseErrorKind,
    readonly file: string,
    message: string,
    /** For 'newer-database': the schema version found in the file and the newest this build supports. */
    readonly databaseVersion?: number,
    readonly supportedVersion?: number,
  ) {
    super(`${file}: ${message}`);
    this.name = 'LibraryDatabaseError';
  }
}

export interface OpenOptions {
  /** Migrations to apply; the app's own list unless a test passes another. */
  migrations?: readonly Migration[];
  /**
   * The better-sqlite3 binary to load. Unless given: inside Electron the one built for Electron's ABI
   * (sqlite-binding.ts), under Node better-sqlite3's own.
   */
  nativeBinding?: string;
}

/**
 * Opens (or creates) the library database at `file` (':memory:' works for tests) and brings its schema up to
 * date. Throws LibraryDatabaseError: 'newer-database' (file untouched), 'corrupt-database', 'migration-failed'
 * (nothing applied: the transaction rolled back); SqliteBindingError when Electron's binary is missing.
 */
export function openLibraryDatabase(file: string, options: OpenOptions = {}): Database {
  const migrations = options.migrations ?? allMigrations;
  const supported = checkMigrations(file, migrations);
  const inMemory = file === ':memory:' || file === '';
  // Before anything is opened: a missing Electron binary is named as such, not as better-sqlite3's ABI crash.
  const nativeBinding = options.nativeBinding ?? nativeBindingFor(chooseSqliteBinding(currentSqliteRuntime()));

  // Look at an existing file before opening it for writing, so that refusing it cannot change a byte of it
  // (switching to WAL, which comes next, rewrites the header).
  if (!inMemory && fs.existsSync(file)) {
    refuseNewer(file, peekUserVersion(file, nativeBinding), supported);
  } else if (!inMemory) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }

  const db = openOrThrow(file, { nativeBinding });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // safe with WAL: a crash loses at most the last commits, never corrupts
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, file, migrations, supported);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The schema version stored in the database (`PRAGMA user_version`); 0 for a new, empty database. */
export function schemaVersion(db: Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

function migrate(db: Database, file: string, migrations: readonly Migration[], supported: number): void {
  const current = readUserVersion(db, file);
  refuseNewer(file, current, supported); // again: another process may have upgraded it meanwhile
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  let running: Migration | undefined;
  try {
    db.transaction(() => {
      for (const m of pending) {
        running = m;
        m.up(db);
      }
      running = undefined;
      // user_version lives in the database header, which the transaction covers: all or nothing.
      db.pragma(`user_version = ${supported}`);
    }).immediate();
  } catch (error) {
    const which = running ? `migration ${running.version} (${running.name})` : 'the schema upgrade';
    throw new LibraryDatabaseError(
      'migration-failed',
      file,
      `${which} failed, nothing was changed: ${(error as Error).message}`,
    );
  }
}

function refuseNewer(file: string, found: number, supported: number): void {
  if (found > supported) {
    throw new LibraryDatabaseError(
      'newer-database',
      file,
      `this library was written by a newer Hintbrush (schema version ${found}); this version supports schema ` +
        `version ${supported} at most. Update Hintbrush, or choose another data folder. The file was not changed.`,
      found,
      supported,
    );
  }
}

function readUserVersion(db: Database, file: string): number {
  try {
    return schemaVersion(db);
  } catch (error) {
    throw new LibraryDatabaseError('corrupt-database', file, `not a readable SQLite database: ${(error as Error).message}`);
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * The user_version of a database file without writing anything next to it: read from the 100-byte header
 * (big-endian u32 at offset 60). A file with a -wal beside it may hold a newer header in the WAL, so it is
 * asked through a read-only connection instead (the -wal and -shm files exist already then).
 */
function peekUserVersion(file: string, nativeBinding: string | undefined): number {
  if (fs.existsSync(`${file}-wal`)) {
    const probe = openOrThrow(file, { readonly: true, fileMustExist: true, nativeBinding });
    try {
      return readUserVersion(probe, file);
    } finally {
      probe.close();
    }
  }
  const header = Buffer.alloc(100);
  let read: number;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      read = fs.readSync(fd, header, 0, 100, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw new LibraryDatabaseError('corrupt-database', file, `cannot read the database: ${(error as Error).message}`);
  }
  if (read === 0) return 0; // SQLite takes an empty file for an empty database
  if (read < 100 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw new LibraryDatabaseError('corrupt-database', file, 'not a SQLite database (its header is wrong)');
  }
  return header.readUInt32BE(60);
}

function openOrThrow(file: string, options: BetterSqlite3.Options): Database {
  try {
    return new BetterSqlite3(file, options);
  } catch (error) {
    throw new LibraryDatabaseError('corrupt-database', file, `cannot open the database: ${(error as Error).message}`);
  }
}

/** Migrations must be numbered 1, 2, 3... in order; returns the newest version. */
function checkMigrations(file: string, migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new LibraryDatabaseError(
        'bad-migrations',
        file,
        `migration list is out of order: position ${i + 1} holds version ${m.version} (${m.name})`,
      );
    }
  });
  return migrations.length;
}
