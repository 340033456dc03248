// Folder scanning: walk the roots, probe and hash what is new or changed, drop what vanished.
// - Incremental: a file whose size and mtime match its row (and whose row the current probe wrote) is skipped
//   without being opened or hashed; a row from an older probe version is re-probed but not re-hashed.
// - A bad file (corrupt, hostile, unreadable) becomes a row of kind 'unknown' whose problem names the error; it
//   never aborts the scan. Only the AbortSignal stops it, leaving every row written so far in place.
// - Files and folders are identified by real path (folder-walk.ts): each real folder is walked once, a file
//   reachable through links or overlapping roots is one row, and that row keeps its id and its path as long as
//   the path still leads to the file, so adding a parent folder, or a link, never re-homes a row that history
//   points at. Where several paths lead to a new file, the one without links is recorded.
// - A root that does not exist (an unplugged drive?) keeps its rows: they are only removed when their real
//   folder is walked and they are not in it. The root of the filesystem and pseudo filesystems are refused.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { bestRealPath, refusedFolderReason, statOrNull, walkFolder, type WalkedFile } from './folder-walk.ts';
import { hashFile } from './hash.ts';
import { ModelStore, isUnder, type StoredModel } from './model-store.ts';
import { defaultProbes, failedProbe, probeFor, type FileProbe, type ProbeResult } from './probes.ts';

export interface ScanProgress {
  phase: 'listing' | 'reading' | 'done';
  filesDone: number;
  filesTotal: number;
  /** The file being read ('' while listing and when done). */
  currentFile: string;
  /** Bytes hashed of the current file, and its size (0 and 0 when it is skipped). */
  bytesDone: number;
  bytesTotal: number;
}

export interface ScanOptions {
  onProgress?: (progress: ScanProgress) => void;
  signal?: AbortSignal;
  probes?: readonly FileProbe[];
  now?: () => Date;
  /**
   * The paths are every root of the library (a rescan): a row that none of them reaches any more (the link
   * that led to it was removed) is forgotten too, unless a root is missing or refused.
   */
  complete?: boolean;
}

export interface ScanResult {
  /** Files found under the scanned paths. */
  files: number;
  added: number;
  /** Rows rewritten because the file changed (or an older probe version wrote them). */
  updated: number;
  unchanged: number;
  /** Files read and hashed in this scan. */
  hashed: number;
  /** Rows written with a problem (corrupt, hostile, unreadable, unsupported family...). */
  withProblems: number;
  removed: number;
  /** Scanned paths that do not exist; their rows were kept. */
  missing: string[];
  /** Scanned paths that were not walked (the root of the filesystem, /proc...), with the reason. */
  refused: { path: string; reason: string }[];
}

interface FoundFile extends WalkedFile {
  probe: FileProbe;
}

/** Scans `paths` (folders or single files, made absolute) into the models table. */
export async function scanPaths(db: Database, paths: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const { signal, onProgress } = options;
  const probes = options.probes ?? defaultProbes;
  const now = () => (options.now ?? (() => new Date()))().toISOString();
  const store = new ModelStore(db);
  const excluded = store.exclusions();
  const result: ScanResult = { files: 0, added: 0, updated: 0, unchanged: 0, hashed: 0, withProblems: 0, removed: 0, missing: [], refused: [] };
  const found: FoundFile[] = [];
  const report = (p: Omit<ScanProgress, 'filesTotal'>) => onProgress?.({ ...p, filesTotal: found.length });

  // Every row by its real path: a file reached by another path than its row's is still that row.
  const rows = store.all();
  const rowReal = new Map<string, string>(); // a row's path -> its real path
  const rowByReal = new Map<string, StoredModel>();
  for (const row of rows) {
    const real = await bestRealPath(row.path);
    rowReal.set(row.path, real);
    if (!rowByReal.has(real) || real === row.path) rowByReal.set(real, row);
  }
  const excludedReal = new Set(await Promise.all([...excluded].map((p) => bestRealPath(p))));

  // 1. list every candidate file of every root before reading any, so progress has a total
  const byReal = new Map<string, FoundFile>();
  const visited = new Set<string>();
  const unreadable: string[] = [];
  for (const raw of paths) {
    signal?.throwIfAborted();
    const root = path.resolve(raw);
    report({ phase: 'listing', filesDone: 0, currentFile: '', bytesDone: 0, bytesTotal: 0 });
    const rootStat = await statOrNull(root);
    if (!rootStat) {
      result.missing.push(root);
      continue;
    }
    const realRoot = await fs.promises.realpath(root);
    const refused = rootStat.isDirectory() ? refusedFolderReason(realRoot) : null;
    if (refused) {
      result.refused.push({ path: root, reason: `${root} ${refused}` });
      continue;
    }
    let files: WalkedFile[] = [{ file: root, real: realRoot, stat: rootStat }];
    if (rootStat.isDirectory()) {
      const walk = await walkFolder(root, signal, visited);
      files = walk.files;
      unreadable.push(...walk.unreadable);
    }
    for (const f of files) {
      const probe = probeFor(f.file, probes);
      if (!probe || excluded.has(f.file) || excludedReal.has(f.real)) continue;
      const known = byReal.get(f.real);
      // the same file through another link or an overlapping root: one row, by the path without links
      if (!known) byReal.set(f.real, { ...f, probe });
      else if (f.file === f.real && known.file !== known.real) byReal.set(f.real, { ...f, probe });
    }
  }
  // A file first reached through a link (a root, or a folder walked first) whose real path lies below a root
  // as given is recorded by that real path: the path without links, whichever root came first.
  const given = paths.map((p) => path.resolve(p));
  for (const f of byReal.values()) found.push(f.file !== f.real && given.some((g) => isUnder(f.real, g)) ? { ...f, file: f.real } : f);
  result.files = found.length;

  /** The row of a found file, and the path it is recorded by. */
  const rowFor = async ({ file, real }: WalkedFile): Promise<{ existing: StoredModel | undefined; file: string }> => {
    const row = rowByReal.get(real) ?? store.byPath(file);
    if (!row || row.path === file) return { existing: row, file };
    // the row's own path still leads to this file: keep it (history, the user's view) and scan through it
    if (rowReal.get(row.path) === real && (await statOrNull(row.path))?.isFile()) return { existing: row, file: row.path };
    return { existing: store.moveTo(row.id, file), file }; // its old path is gone: the row follows the file
  };

  // 2. read what is new or changed
  for (let i = 0; i < found.length; i++) {
    signal?.throwIfAborted();
    const { stat, probe } = found[i];
    const { existing, file } = await rowFor(found[i]);
    const sameFile = existing !== undefined && existing.sizeBytes === stat.size && existing.mtimeMs === stat.mtimeMs;
    if (sameFile && existing.detectorVersion === probe.version) {
      result.unchanged++;
      report({ phase: 'reading', filesDone: i + 1, currentFile: file, bytesDone: 0, bytesTotal: 0 });
      continue;
    }
    report({ phase: 'reading', filesDone: i, currentFile: file, bytesDone: 0, bytesTotal: stat.size });

    let probed: ProbeResult;
    try {
      probed = await probe.probe(file);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      probed = failedProbe(file, error);
    }
    let sha256 = '';
    let shortHash = '';
    let legacyHash = '';
    if (sameFile && existing.sha256) {
      ({ sha256, shortHash } = existing); // only the probe is newer: the bytes are the same
      legacyHash = String(existing.details.legacyHash ?? '');
    } else {
      try {
        const hashes = await hashFile(file, {
          signal,
          onProgress: (bytesDone, bytesTotal) =>
            report({ phase: 'reading', filesDone: i, currentFile: file, bytesDone, bytesTotal }),
        });
        ({ sha256, shortHash, legacyHash } = hashes);
        result.hashed++;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const failed = failedProbe(file, error);
        probed = { ...probed, problem: probed.problem ? `${probed.problem}; ${failed.problem}` : failed.problem };
      }
    }
    store.upsert(
      {
        path: file,
        kind: probed.kind,
        layout: probed.layout,
        family: probed.family,
        problem: probed.problem,
        sizeBytes: stat.size,
        mtimeMs: stat.mtimeMs,
        sha256,
        shortHash,
        metadata: probed.metadata,
        triggerWords: probed.triggerWords,
        details: legacyHash ? { ...probed.details, legacyHash } : probed.details,
        detectorVersion: probe.version,
      },
      now(),
    );
    if (existing) result.updated++;
    else result.added++;
    if (probed.problem) result.withProblems++;
    report({ phase: 'reading', filesDone: i + 1, currentFile: file, bytesDone: stat.size, bytesTotal: stat.size });
  }

  // 3. forget files that vanished from the real folders walked (not below a folder that could not be read)
  signal?.throwIfAborted();
  const seen = new Set(found.map((f) => f.real));
  const everyRootWalked = options.complete === true && result.missing.length === 0 && result.refused.length === 0;
  const gone = (row: StoredModel) => {
    const real = rowReal.get(row.path)!;
    if (seen.has(real) || excluded.has(row.path) || unreadable.some((u) => isUnder(row.path, u) || isUnder(real, u))) return false;
    return everyRootWalked || underVisited(real, visited);
  };
  result.removed = store.removeRows(rows.filter((row) => store.byId(row.id)?.path === row.path && gone(row)));
  const scannedAt = now();
  for (const raw of paths) store.markScanned(path.resolve(raw), scannedAt);
  report({ phase: 'done', filesDone: found.length, currentFile: '', bytesDone: 0, bytesTotal: 0 });
  return result;
}

/** Whether `real` lies in a folder this scan walked (checked by ancestors: cheap for deep trees and many rows). */
function underVisited(real: string, visited: ReadonlySet<string>): boolean {
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    if (visited.has(dir)) return true;
    if (path.dirname(dir) === dir) return false;
  }
}
