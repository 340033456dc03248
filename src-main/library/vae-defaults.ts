// The checkpoint -> default VAE table (migration 0005): plain SQL by SHA-256 in, SHA-256 out. The library
// service turns hashes back into the library's current rows.
import type { Database } from 'better-sqlite3';

export class VaeDefaults {
  constructor(private readonly db: Database) {}

  /** Every default, checkpoint SHA-256 -> VAE SHA-256. */
  all(): Map<string, string> {
    const rows = this.db.prepare('SELECT checkpoint_sha256, vae_sha256 FROM checkpoint_vae_defaults').all() as { checkpoint_sha256: string; vae_sha256: string }[];
    return new Map(rows.map((r) => [r.checkpoint_sha256, r.vae_sha256]));
  }

  /** Sets (or with null clears) the default VAE of a checkpoint. */
  set(checkpointSha256: string, vaeSha256: string | null, now: string): void {
    if (vaeSha256 === null) {
      this.db.prepare('DELETE FROM checkpoint_vae_defaults WHERE checkpoint_sha256 = ?').run(checkpointSha256);
    } else {
      this.db
        .prepare('INSERT INTO checkpoint_vae_defaults (checkpoint_sha256, vae_sha256, set_at) VALUES (?, ?, ?) ON CONFLICT (checkpoint_sha256) DO UPDATE SET vae_sha256 = excluded.vae_sha256, set_at = excluded.set_at')
        .run(checkpointSha256, vaeSha256, now);
    }
  }
}
