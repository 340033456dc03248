// The library as main's request handlers see it: contract objects out (LibraryItem, LibraryRoot), scans that
// report progress and stop on an AbortSignal. main runs add() and rescan() inside a 'scan' job.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { LibraryItem, LibraryRoot } from '../common/contract.ts';
import { bestRealPath, refusedFolderReason } from './folder-walk.ts';
import { ModelStore, isUnder, toLibraryItem } from './model-store.ts';
import { VaeDefaults } from './vae-defaults.ts';
import { defaultProbes, probeFor, type FileProbe } from './probes.ts';
import { scanPaths, type ScanProgress, type ScanResult } from './scanner.ts';

export type { ScanProgress, ScanResult } from './scanner.ts';

/** A path the user asked to add that cannot be added; names the path. */
export class LibraryError extends Error {
  constructor(
    readonly kind: 'not-found' | 'not-a-model-file' | 'refused-folder',
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'LibraryError';
  }
}

export interface LibraryServiceOptions {
  probes?: readonly FileProbe[];
  now?: () => Date;
  /** Called after anything changed the model list, with the new count (main emits 'library.changed'). */
  onChanged?: (count: number) => void;
}

export class LibraryService {
  private readonly store: ModelStore;
  private readonly probes: readonly FileProbe[];
  private readonly vaeDefaults: VaeDefaults;

  constructor(
    private readonly db: Database,
    private readonly options: LibraryServiceOptions = {},
  ) {
    this.store = new ModelStore(db);
    this.vaeDefaults = new VaeDefaults(db);
    this.probes = options.probes ?? defaultProbes;
  }

  /** Every model; checkpoints carry the id of their default VAE (null: none set, or it left the library). */
  list(): LibraryItem[] {
    const items = this.store.all().map(toLibraryItem);
    const defaults = this.vaeDefaults.all();
    const vaeBySha = new Map(items.filter((i) => i.kind === 'vae' && !i.problem && i.sha256).map((i) => [i.sha256, i.id]));
    for (const item of items) {
      if (item.kind !== 'checkpoint') continue;
      const vae = defaults.get(item.sha256);
      item.defaultVaeId = vae === undefined ? null : (vaeBySha.get(vae) ?? null);
    }
    return items;
  }

  /** The checkpoint's default VAE, or null (none set, or it is no longer in the library). */
  defaultVae(checkpointId: number): LibraryItem | null {
    const id = this.list().find((i) => i.id === checkpointId)?.defaultVaeId ?? null;
    return id === null ? null : this.get(id);
  }

  /** Sets (null: clears) the VAE a checkpoint uses when a generation names none; both must be usable models. */
  setDefaultVae(checkpointId: number, vaeId: number | null): void {
    const checkpoint = this.store.byId(checkpointId);
    if (!checkpoint || checkpoint.kind !== 'checkpoint') throw new LibraryError('not-found', String(checkpointId), 'there is no checkpoint with this id in the library');
    let vaeSha: string | null = null;
    if (vaeId !== null) {
      const vae = this.store.byId(vaeId);
      if (!vae || vae.kind !== 'vae') throw new LibraryError('not-found', String(vaeId), 'there is no VAE with this id in the library');
      if (vae.problem) throw new LibraryError('not-a-model-file', vae.path, `this VAE cannot be used: ${vae.problem}`);
      if (!vae.sha256 || !checkpoint.sha256) throw new LibraryError('not-a-model-file', vae.path, 'the files are not hashed yet; wait for the scan to finish');
      vaeSha = vae.sha256;
    }
    this.vaeDefaults.set(checkpoint.sha256, vaeSha, this.now());
    this.changed();
  }

  get(id: number): LibraryItem | null {
    const m = this.store.byId(id);
    return m ? toLibraryItem(m) : null;
  }

  roots(): LibraryRoot[] {
    return this.store.roots();
  }

  /**
   * Adds folders or single model files as roots and scans them. Every path is checked first: nothing is added
   * if one does not exist, is a file of a kind the library does not read, or is a folder that is never walked
   * (the root of the filesystem, /proc...) (LibraryError). Folders are compared by real path: one inside a
   * known root adds no root (it is scanned as part of it); one above known roots takes their place. Either
   * way the rows of the files keep their ids.
   */
  async add(paths: readonly string[], onProgress?: (p: ScanProgress) => void, signal?: AbortSignal): Promise<ScanResult> {
    const roots = [...new Set(paths.map((p) => path.resolve(p)))];
    const real = new Map<string, string>();
    for (const root of roots) {
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(root);
        real.set(root, await fs.promises.realpath(root));
      } catch {
        throw new LibraryError('not-found', root, 'does not exist or cannot be read');
      }
      if (!stat.isDirectory() && !(stat.isFile() && probeFor(root, this.probes))) {
        const extensions = this.probes.flatMap((p) => p.extensions).join(' ');
        throw new LibraryError('not-a-model-file', root, `is neither a folder nor a model file (${extensions})`);
      }
      const refused = stat.isDirectory() ? refusedFolderReason(real.get(root)!) : null;
      if (refused) throw new LibraryError('refused-folder', root, refused);
    }
    const known = await Promise.all(this.store.roots().map(async (r) => ({ path: r.path, real: await bestRealPath(r.path) })));
    const now = this.now();
    this.db.transaction(() => {
      for (const root of roots) {
        const r = real.get(root)!;
        this.store.unexclude(root); // adding a file again brings back what remove() hid
        if (r !== root) this.store.unexclude(r);
        if (known.some((k) => isUnder(r, k.real))) continue; // already inside a root: merged into it
        for (const k of known) if (isUnder(k.real, r)) this.store.removeRoot(k.path); // the new root covers it
        this.store.addRoot(root, now);
        known.push({ path: root, real: r });
      }
    })();
    return this.scan(roots, onProgress, signal);
  }

  /** Scans every root again: new and changed files are read, vanished ones forgotten. */
  async rescan(onProgress?: (p: ScanProgress) => void, signal?: AbortSignal): Promise<ScanResult> {
    return this.scan(
      this.store.roots().map((r) => r.path),
      onProgress,
      signal,
      true,
    );
  }

  /**
   * Removes one model from the library (the file itself is never touched). A model added as a single file
   * loses its root; one inside a folder root is remembered as excluded, so a rescan does not bring it back.
   */
  remove(id: number): boolean {
    const model = this.store.byId(id);
    if (!model) return false;
    const now = this.now();
    this.db.transaction(() => {
      this.store.removeById(id);
      const removedRoot = this.store.removeRoot(model.path);
      const stillCovered = this.store.roots().some((r) => isUnder(model.path, r.path));
      if (stillCovered || !removedRoot) this.store.exclude(model.path, now);
    })();
    this.changed();
    return true;
  }

  private async scan(
    roots: readonly string[],
    onProgress: ((p: ScanProgress) => void) | undefined,
    signal: AbortSignal | undefined,
    complete = false,
  ): Promise<ScanResult> {
    try {
      return await scanPaths(this.db, roots, { onProgress, signal, probes: this.probes, now: this.options.now, complete });
    } finally {
      this.changed(); // a cancelled scan may have written rows too
    }
  }

  private changed(): void {
    this.options.onChanged?.(this.store.count());
  }

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }
}
