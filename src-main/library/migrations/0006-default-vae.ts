// Schema version 6: the VAE each checkpoint uses by default (A1111's per-model VAE preference), chosen by the
// artist. Both sides are remembered by SHA-256, not by row id or path, so the choice survives a rescan, a
// moved folder or removing and adding the files again; a default whose VAE is no longer in the library is
// ignored until it comes back.
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 6,
  name: 'default-vae',
  up(db) {
    db.exec(`
      CREATE TABLE checkpoint_vae_defaults (
        checkpoint_sha256 TEXT PRIMARY KEY,
        vae_sha256 TEXT NOT NULL,
        set_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
