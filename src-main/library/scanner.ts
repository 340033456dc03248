// Folder scanning: walk the roots, probe and hash what is new or changed, drop what vanished.
// - Incremental: a file whose size and mtime match its row (and whose row the current probe wrote) is skipped
//   without being opened or hashed; a row from an older probe version is re-probed but not re-hashed.
// - A bad file (corrupt, hostile, unreadable) becomes a row of kind 'unknown' whose problem names the error; it
//   never aborts the scan. Only the AbortSignal stops it, leaving every row written so far in place.
// - Symlinks are followed, but each real folder is walked once, so a link pointing back up cannot loop, and a
//   file reachable through two links is recorded once.
// - A root that does not exist (an unplugged drive?) keeps its rows: they are only removed when their folder is
//   walked and they are not in it.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { hashFile } from './hash.ts';
import { ModelStore, isUnder } from './model-store.ts';
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
}

interface FoundFile {
  file: string;
  stat: fs.Stats;
  probe: FileProbe;
}

/** Scans `paths` (folders or single files, made absolute) into the models table. */
export async function scanPaths(db: Database, paths: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const { signal, onProgress } = options;
  const probes = options.probes ?? defaultProbes;
  const now = () => (options.now ?? (() => new Date()))().toISOString();
  const store = new ModelStore(db);
  const excluded = store.exclusions();
  const result: ScanResult = { files: 0, added: 0, updated: 0, unchanged: 0, hashed: 0, withProblems: 0, removed: 0, missing: [] };
  const found: FoundFile[] = [];
  const report = (p: Omit<ScanProgress, 'filesTotal'>) => onProgress?.({ ...p, filesTotal: found.length });

  // 1. list every candidate file of every root before reading any, so progress has a total
  const seenReal = new Set<string>();
  const walked: { root: string; seen: Set<string>; unreadable: string[] }[] = [];
  for (const raw of paths) {
    signal?.throwIfAborted();
    const root = path.resolve(raw);
    report({ phase: 'listing', filesDone: 0, currentFile: '', bytesDone: 0, bytesTotal: 0 });
    const walk = { root, seen: new Set<string>(), unreadable: [] as string[] };
    const rootStat = await statOrNull(root);
    if (!rootStat) {
      result.missing.push(root);
      continue;
    }
    const files = rootStat.isDirectory() ? await listFolder(root, walk.unreadable, signal) : [{ file: root, stat: rootStat }];
    for (const { file, stat } of files) {
      const probe = probeFor(file, probes);
      if (!probe || excluded.has(file)) continue;
      walk.seen.add(file);
      const real = await fs.promises.realpath(file).catch(() => file);
      if (seenReal.has(real)) continue; // the same file through another link or an overlapping root
      seenReal.add(real);
      found.push({ file, stat, probe });
    }
    walked.push(walk);
  }
  result.files = found.length;

  // 2. read what is new or changed
  for (let i = 0; i < found.length; i++) {
    signal?.throwIfAborted();
    const { file, stat, probe } = found[i];
    const existing = store.byPath(file);
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

  // 3. forget files that vanished from the folders walked (not below a folder that could not be read)
  signal?.throwIfAborted();
  const scannedAt = now();
  for (const { root, seen, unreadable } of walked) {
    result.removed += store.removeVanished(root, seen, (p) => excluded.has(p) || unreadable.some((u) => isUnder(p, u)));
    store.markScanned(root, scannedAt);
  }
  report({ phase: 'done', filesDone: found.length, currentFile: '', bytesDone: 0, bytesTotal: 0 });
  return result;
}

async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(file);
  } catch {
    return null;
  }
}

/**
 * Every regular file below `root` (symlinks followed, each real folder once), sorted for a stable order.
 * Folders that cannot be read are added to `unreadable` and skipped.
 */
async function listFolder(root: string, unreadable: string[], signal?: AbortSignal): Promise<{ file: string; stat: fs.Stats }[]> {
  const out: { file: string; stat: fs.Stats }[] = [];
  const visited = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    signal?.throwIfAborted();
    let names: string[];
    try {
      const real = await fs.promises.realpath(dir);
      if (visited.has(real)) return; // a link back to a folder already walked
      visited.add(real);
      names = (await fs.promises.readdir(dir)).sort();
    } catch {
      unreadable.push(dir);
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const stat = await statOrNull(full); // follows links; a dangling link is skipped
      if (!stat) continue;
      if (stat.isDirectory()) await visit(full);
      else if (stat.isFile()) out.push({ file: full, stat });
    }
  };
  await visit(root);
  return out;
}
