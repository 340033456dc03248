// The library as bootstrap uses it: the library colleague's LibraryService and JobStore over the SQLite
// database in the data folder. Kept behind this seam so tests can hand bootstrap a library of their own.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openLibraryDatabase, type Database } from '../library/database.ts';
import { SqliteDocumentStore, type DocumentStorage } from '../documents/document-store.ts';
import { HistoryStore } from '../library/history-store.ts';
import { JobStore } from '../library/job-store.ts';
import { LibraryService, type ScanProgress } from '../library/library-service.ts';
import type { JobRecordStore } from '../jobs/job-queue.ts';
import { TrainingStore } from '../training/training-store.ts';
import { SettingsStore } from '../library/settings-store.ts';

export type { ScanProgress } from '../library/library-service.ts';

export type LibraryPort = Pick<LibraryService, 'list' | 'roots' | 'add' | 'rescan' | 'remove' | 'setDefaultVae'>;

export interface OpenedLibrary {
  library: LibraryPort;
  jobStore?: JobRecordStore;
  /** The studio's documents. */
  documents: DocumentStorage;
  /** The generation history; without it the history methods answer 'unavailable'. */
  history?: HistoryStore;
  /** Datasets, training runs and calibrations. */
  training: TrainingStore;
  /** App-wide settings (the provider choice). */
  settings: SettingsStore;
  close(): void;
}

export const DATABASE_FILE = 'library.sqlite';

/** Opens (creating, migrating) `<dataDir>/library.sqlite`; `onChanged` hears every change of the model list. */
export function openLibrary(dataDir: string, onChanged: (count: number) => void): OpenedLibrary {
  mkdirSync(dataDir, { recursive: true });
  return libraryStores(openLibraryDatabase(path.join(dataDir, DATABASE_FILE)), onChanged);
}

/** The library and the stores over an open library database; closing them closes the database. */
export function libraryStores(db: Database, onChanged: (count: number) => void): OpenedLibrary {
  return {
    library: new LibraryService(db, { onChanged }),
    jobStore: new JobStore(db),
    documents: new SqliteDocumentStore(db),
    history: new HistoryStore(db),
    training: new TrainingStore(db),
    settings: new SettingsStore(db),
    close: () => db.close(),
  };
}

/** A scan's progress as a job's: files for steps, the file being read for the message. */
export function scanJobProgress(p: ScanProgress): { step: number; total: number; message: string } {
  const name = p.currentFile ? path.basename(p.currentFile) : '';
  const message =
    p.phase === 'listing'
      ? `Looking for model files (${p.filesTotal} found)`
      : p.phase === 'done'
        ? `${p.filesTotal} files scanned`
        : p.bytesTotal > 0
          ? `Reading ${name} (${Math.floor((100 * p.bytesDone) / p.bytesTotal)}%)`
          : `Reading ${name}`;
  return { step: p.filesDone, total: p.filesTotal, message };
}
