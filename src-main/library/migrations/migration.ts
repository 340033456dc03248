// The shape of one schema migration. Each lives in its own numbered file (`0001-library.ts`, `0002-...`) and is
// listed in `index.ts`; `openLibraryDatabase` applies every pending one inside a single transaction.
import type { Database } from 'better-sqlite3';

export interface Migration {
  /** Schema version this migration brings the database to: 1, 2, 3... with no gaps. */
  readonly version: number;
  /** Short name for error messages and logs, e.g. 'library'. */
  readonly name: string;
  /**
   * Runs inside the transaction that applies all pending migrations; it must not start its own transaction
   * or change `foreign_keys` (SQLite ignores that pragma inside a transaction).
   */
  up(db: Database): void;
}
