// Graph optimisation on disk, for sessions that fold their weights: the first CPU session of such a graph saves
// onnxruntime's optimized model (`optimizedModelFilePath`) with its folded float32 weights beside it, and a later
// engine process with the same graph, weights file, session settings and onnxruntime maps those instead of
// casting and folding again. Measured on the full-size UNet (HINTBRUSH_CPU_WEIGHTS=fold): the session takes
// about 0.5 s instead of 18 s on this shared 2-core machine (the first one, which writes the 3.3 GB entry, about
// twice as long as without the cache). The VAE's sessions fold their weights too, so they come from here as well.
//
// Memory-first sessions (casts per run, LEAN_INFERENCE) are not cached: their saved model keeps pointing into the
// user's file, and onnxruntime 1.30 ran it measurably slower (its fp16->fp32 Casts took 2.3x as long in an ORT
// profile of the CLIP text encoder: 2.2 s against 1.0 s over two runs), which would cost more than the 0.8 s of
// optimisation it saves.
//
// An entry is a folder <key>/ holding model.onnx and weights.bin (every initializer, so it needs no user file).
// The key covers everything the saved model depends on: the emitted bytes (graph, sizes, fused ops, LoRA values,
// weight offsets), the session options, onnxruntime's version, the CPU, and each weights file's identity (path,
// size, modification time, inode and a 1 MiB sample of its bytes), so a changed or replaced checkpoint gets a new
// entry. An entry is written to a temporary folder and renamed into place, so a crash or a second engine process
// never leaves half an entry under a key; an entry ORT cannot load is deleted and made again. The folder keeps at
// most `limitBytes`, least recently used entries going first.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EmittedModel } from '../graph/emit-onnx.ts';

type Ort = typeof import('onnxruntime-node');
type OrtSession = import('onnxruntime-node').InferenceSession;
type OrtOptions = import('onnxruntime-node').InferenceSession.SessionOptions;

/** Bumped when the layout of an entry or what the key covers changes. */
const FORMAT = 1;
const MODEL_FILE = 'model.onnx';
const WEIGHTS_FILE = 'weights.bin';
/** The cache's size limit: two full-size UNets (3.3 GB each) and their VAEs. */
export const DEFAULT_LIMIT_BYTES = 8 * 2 ** 30;
/** Temporary folders older than this were left by a process that died while writing. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Bytes sampled from each weights file for its fingerprint: 16 slices of 64 KiB spread over the file. */
const SAMPLES = 16;
const SAMPLE_BYTES = 64 * 1024;

export class OptimizedModelCache {
  /** Sessions loaded from the cache and entries written, since this process started (tests, the bench). */
  readonly stats = { hits: 0, writes: 0 };

  constructor(
    readonly folder: string,
    readonly limitBytes = DEFAULT_LIMIT_BYTES,
  ) {}

  /**
   * A CPU session for `model` with `options` (as ModelSession builds them, folding weight casts): loaded from the
   * cache when an entry exists, else created as usual with ORT saving its optimized model into a new entry.
   */
  async createSession(ort: Ort, model: EmittedModel, options: OrtOptions): Promise<OrtSession> {
    const key = this.keyFor(model, options, ort.env.versions.node ?? ort.env.versions.common);
    if (!key) return ort.InferenceSession.create(model.bytes, options);
    const entry = path.join(this.folder, key);
    const hit = this.read(entry);
    if (hit) {
      try {
        const session = await ort.InferenceSession.create(hit, loadOptions(options, entry));
        this.stats.hits++;
        touch(path.join(entry, MODEL_FILE));
        return session;
      } catch {
        fs.rmSync(entry, { recursive: true, force: true }); // unreadable (a disk error, another ORT build): make it again
      }
    }
    const temp = `${entry}.tmp-${process.pid}-${Date.now()}`;
    let session: OrtSession;
    try {
      fs.mkdirSync(temp, { recursive: true });
      session = await ort.InferenceSession.create(model.bytes, saveOptions(options, path.join(temp, MODEL_FILE)));
    } catch {
      // Saving failed (a full disk, a folder we may not write) or the graph itself did: create it the usual way,
      // which throws the graph's own error if there is one.
      fs.rmSync(temp, { recursive: true, force: true });
      return ort.InferenceSession.create(model.bytes, options);
    }
    this.commit(temp, entry);
    return session;
  }

  /** The key of `model` under `options`, or null when a weights file cannot be read (nothing is cached then). */
  keyFor(model: EmittedModel, options: OrtOptions, ortVersion: string): string | null {
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ FORMAT, ortVersion, platform: process.platform, arch: process.arch, cpu: os.cpus()[0]?.model ?? '', options }));
    try {
      for (const file of model.externalFiles ?? []) hash.update(fileIdentity(file));
    } catch {
      return null;
    }
    hash.update(model.bytes);
    return hash.digest('hex').slice(0, 40);
  }

  /** Deletes the least recently used entries beyond the limit, and temporary folders of processes that died. */
  clean(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.folder);
    } catch {
      return;
    }
    const entries: { dir: string; used: number; bytes: number }[] = [];
    for (const name of names) {
      const dir = path.join(this.folder, name);
      try {
        if (name.includes('.tmp-')) {
          if (Date.now() - fs.statSync(dir).mtimeMs > STALE_TEMP_MS) fs.rmSync(dir, { recursive: true, force: true });
          continue;
        }
        const files = fs.readdirSync(dir);
        const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
        entries.push({ dir, used: fs.statSync(path.join(dir, MODEL_FILE)).mtimeMs, bytes });
      } catch {
        // an entry another process is deleting, or a stray file: leave it
      }
    }
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.limitBytes) break;
      fs.rmSync(e.dir, { recursive: true, force: true });
      total -= e.bytes;
    }
  }

  private read(entry: string): Uint8Array | null {
    try {
      return fs.readFileSync(path.join(entry, MODEL_FILE));
    } catch {
      return null;
    }
  }

  private commit(temp: string, entry: string): void {
    try {
      fs.renameSync(temp, entry);
      this.stats.writes++;
    } catch {
      fs.rmSync(temp, { recursive: true, force: true }); // another process made the same entry first
    }
    this.clean();
  }
}

/** Size, modification time, inode and a sample of the bytes: a replaced or rewritten file never matches. */
function fileIdentity(file: string): string {
  const st = fs.statSync(file);
  const hash = createHash('sha256');
  hash.update(`${path.resolve(file)}|${st.size}|${st.mtimeMs}|${st.ino}|${st.dev}|`);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    for (let i = 0; i < SAMPLES; i++) {
      const at = Math.floor(((st.size - SAMPLE_BYTES) * i) / (SAMPLES - 1));
      const n = fs.readSync(fd, buf, 0, SAMPLE_BYTES, Math.max(0, at));
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function touch(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // the entry still works; it may only be cleaned a little early
  }
}

type Extra = { session?: Record<string, string>; optimization?: Record<string, string> };

function withSession(options: OrtOptions, session: Record<string, string>): OrtOptions {
  const extra = ((options as { extra?: Extra }).extra ?? {}) as Extra;
  return { ...options, extra: { ...extra, session: { ...extra.session, ...session } } } as OrtOptions;
}

/** ORT saves the optimized model, and every initializer to weights.bin beside it. */
function saveOptions(options: OrtOptions, modelPath: string): OrtOptions {
  const o = { ...options, optimizedModelFilePath: modelPath };
  return withSession(o, { optimized_model_external_initializers_file_name: WEIGHTS_FILE, optimized_model_external_initializers_min_size_in_bytes: '1024' });
}

/** The saved model is already optimized, and its weights are in the entry. */
function loadOptions(options: OrtOptions, entry: string): OrtOptions {
  return withSession({ ...options, graphOptimizationLevel: 'disabled' } as OrtOptions, { model_external_initializers_file_folder_path: entry });
}

// ---- the engine's cache -----------------------------------------------------------------------------

let active: OptimizedModelCache | null = null;

/**
 * Sets the engine's cache: `<dataDir>/ort-cache`, or the folder HINTBRUSH_ORT_CACHE names, or none when it says
 * 'off' (or there is no data folder). Cleans it once, at engine start.
 */
export function configureOptimizedModelCache(dataDir: string, setting = process.env.HINTBRUSH_ORT_CACHE): OptimizedModelCache | null {
  const folder = setting === 'off' ? '' : setting || (dataDir ? path.join(dataDir, 'ort-cache') : '');
  active = folder ? new OptimizedModelCache(path.resolve(folder)) : null;
  active?.clean();
  return active;
}

/** The engine's cache, or null (tests, the bench, and the CLI with HINTBRUSH_ORT_CACHE=off run without). */
export function optimizedModelCache(): OptimizedModelCache | null {
  return active;
}

/** Replaces the engine's cache (tests). */
export function setOptimizedModelCache(cache: OptimizedModelCache | null): void {
  active = cache;
}
