// Every schema migration, in order. A later issue adds its tables (generation history, documents, layers) as
// the next numbered file and one line here; `openLibraryDatabase` checks the list has no gaps.
import type { Migration } from './migration.ts';
import { migration as library } from './0001-library.ts';
import { migration as history } from './0002-history.ts';
import { migration as documents } from './0003-documents.ts';
import { migration as training } from './0004-training.ts';
import { migration as settings } from './0005-settings.ts';
import { migration as defaultVae } from './0006-default-vae.ts';

export type { Migration } from './migration.ts';

export const migrations: readonly Migration[] = [library, history, documents, training, settings, defaultVae];

/** The schema version this build of Hintbrush writes and understands. */
export const SCHEMA_VERSION = migrations.length;
