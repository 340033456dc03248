// Main's side of generation: resolves the models a request names against the library (nothing else reaches
// the engine), draws and records the seed, runs the engine's 'generate' task as a job, writes each finished
// PNG into <data>/images/ atomically and records it in the history in one transaction. An engine crash fails
// the job before anything is written, so the history only ever holds complete pictures.

import fs from 'node:fs';
import path from 'node:path';
import type { LibraryItem, MethodInput, MethodOutput, ModelKind } from '../common/contract.ts';
import {
  historyImageUrl,
  type GenerateInput,
  type GenerationSettings,
  type HistoryEntry,
  type ReadModel,
} from '../common/generation-contract.ts';
import type { GeneratePayload, GenerateTaskResult } from '../engine/tasks/generate-payload.ts';
import { payloadFromInput, settingsFromInput } from './settings-from-input.ts';
import { libraryModelResolver } from './library-model-resolver.ts';
import { infotextToSettings, safeName } from '../generation/infotext.ts';
import { readPngText } from '../formats/png.ts';
import type { EngineSupervisor } from '../jobs/engine-supervisor.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { loraShortHash } from '../library/hash.ts';
import type { HistoryRecord, HistoryStore } from '../library/history-store.ts';
import { asDiskWriteError, removeStaleTempFiles, writeFileAtomic } from '../formats/atomic-file.ts';
import { containedFileSync } from '../base/contained-file.ts';
import { kindError } from '../common/errors.ts';
import type { EventBus } from '../base/event-bus.ts';
import { REGIONS_PNG_KEYWORD, regionChunkFromPngText } from '../common/regions-contract.ts';
import { withRegionHints } from '../common/control-regions.ts';

export type GenerationMethod = 'generate.start' | 'history.list' | 'history.get' | 'history.delete' | 'png.readParameters';
export type GenerationHandlers = { [M in GenerationMethod]: (input: MethodInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

export interface GenerationServiceOptions {
  dataDir: string;
  mode: 'electron' | 'browser';
  queue: JobQueue;
  supervisor: EngineSupervisor;
  library: { list(): LibraryItem[] };
  /** Null when the library gave no history (a test seam); the history methods then answer 'unavailable'. */
  history: HistoryStore | null;
  events: EventBus;
}

export const IMAGES_FOLDER = 'images';

export class GenerationService {
  private readonly loraHashes = new Map<string, { stamp: string; hash: string }>();

  constructor(private readonly o: GenerationServiceOptions) {
    // a picture whose write was cut short by a kill or a power loss left its temporary file behind
    const images = path.join(o.dataDir, IMAGES_FOLDER);
    for (const month of safeReaddir(images)) removeStaleTempFiles(path.join(images, month));
  }

  handlers(): GenerationHandlers {
    return {
      'generate.start': (input) => this.start(input),
      'history.list': ({ query, modelId, limit, offset }) => {
        const page = this.history().list({ query, modelId, limit, offset });
        return { items: page.items.map((r) => this.entry(r)), total: page.total };
      },
      'history.get': ({ id }) => {
        const r = this.history().get(id);
        if (!r) throw kindError('not-found', `There is no picture ${id} in the history.`);
        return this.entry(r);
      },
      'history.delete': ({ id }) => {
        const r = this.history().delete(id);
        if (!r) throw kindError('not-found', `There is no picture ${id} in the history.`);
        const file = this.insideData(r.imagePath);
        if (file) fs.rmSync(file, { force: true });
        return { ok: true };
      },
      'png.readParameters': ({ pngBase64 }) => this.readParameters(pngBase64),
    };
  }

  /** The picture file of a history entry (its real path), or null (unknown id, file gone, or outside the images folder). */
  imageFile(id: number): string | null {
    const r = this.o.history?.get(id);
    const file = r ? this.insideData(r.imagePath) : null;
    // by real path: a picture replaced by a link to a file elsewhere is not served
    return file ? containedFileSync(path.join(this.o.dataDir, IMAGES_FOLDER), file) : null;
  }

  /**
   * The engine's 'generate' payload for validated input and its settings: the one builder Generate and live
   * mode use (the CLI builds its payload with the same settingsFromInput and payloadFromInput).
   */
  payloadFor(settings: GenerationSettings, input: GenerateInput): GeneratePayload {
    // every usable embedding in the library may be named in the prompts, as A1111's embeddings folder
    return payloadFromInput(settings, input, { embeddings: this.o.library.list().filter((i) => i.kind === 'embedding' && !i.problem).map((i) => i.path) });
  }

  /** Validated input -> a queued 'generate' job. */
  async start(input: GenerateInput): Promise<{ jobId: string; seed: number }> {
    this.history(); // refuse before queueing when nothing could be recorded
    const settings = await this.settingsFor(input);
    const payload = this.payloadFor(settings, input);
    const count = settings.batchSize * settings.batchCount;
    const words = settings.prompt.trim().replace(/\s+/g, ' ');
    const title = `Generate ${count > 1 ? `${count} pictures` : 'a picture'}${words ? `: ${words.length > 48 ? `${words.slice(0, 47)}…` : words}` : ''}`;
    const job = this.o.queue.enqueue({
      kind: 'generate',
      title,
      lane: 'engine',
      run: async (ctx) => {
        const result = (await this.o.supervisor.run(ctx.jobId, 'generate', payload, {
          signal: ctx.signal,
          onProgress: (p) => {
            ctx.progress(p);
            const event = { jobId: ctx.jobId, step: p.step, total: p.total };
            this.o.events.emit('generate.progress', p.preview ? { ...event, previewPngBase64: Buffer.from(p.preview).toString('base64') } : event);
          },
        })) as GenerateTaskResult;
        if (result.fallbacks?.length) this.o.supervisor.noteFallbacks(result.fallbacks);
        const historyIds = this.record(ctx.jobId, result);
        const messages = result.messages?.length ? { messages: result.messages } : {};
        this.o.events.emit('generate.finished', { jobId: ctx.jobId, historyIds, ...messages });
        return { historyIds, seeds: result.pictures.map((p) => p.seed) };
      },
    });
    return { jobId: job.id, seed: settings.seed };
  }

  /** Writes the pictures, then records them all in one transaction; a failure leaves no half record. */
  record(jobId: string, result: GenerateTaskResult): number[] {
    const history = this.history();
    const createdAt = new Date().toISOString();
    const stamp = createdAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const written: string[] = [];
    // the engine names the embeddings it used by path; the history keeps their library ids too
    const embeddingIds = new Map(this.o.library.list().filter((i) => i.kind === 'embedding').map((i) => [i.path, i.id]));
    const withIds = (settings: GenerateTaskResult['pictures'][number]['settings']) =>
      settings.embeddings ? { ...settings, embeddings: settings.embeddings.map((e) => ({ ...e, id: embeddingIds.get(e.path) ?? null })) } : settings;
    try {
      const records = result.pictures.map((p) => {
        const relative = path.posix.join(IMAGES_FOLDER, createdAt.slice(0, 7), `${stamp}-${jobId.slice(0, 8)}-${p.index}-${p.seed}.png`);
        const file = path.join(this.o.dataDir, relative);
        writeFileAtomic(file, p.png);
        written.push(file);
        return { jobId, createdAt, imagePath: relative, settings: withIds(p.settings), parameters: p.parameters };
      });
      return history.insertAll(records);
    } catch (err) {
      for (const f of written) fs.rmSync(f, { force: true });
      // the pictures' own DiskWriteError names their folder; the database's SQLITE_FULL names the data folder
      throw asDiskWriteError(err, this.o.dataDir, null, 'the history of this generation') ?? err;
    }
  }

  // ---- internals ------------------------------------------------------------------------------------

  private history(): HistoryStore {
    if (!this.o.history) throw kindError('unavailable', 'The generation history is not available (no library database).');
    return this.o.history;
  }

  private entry(r: HistoryRecord): HistoryEntry {
    const { imagePath: _, ...rest } = r;
    return { ...rest, imageUrl: historyImageUrl(r.id, this.o.mode) };
  }

  private insideData(relative: string): string | null {
    const root = path.resolve(this.o.dataDir);
    const file = path.resolve(root, relative);
    return file.startsWith(root + path.sep) ? file : null;
  }

  /** The settings a request resolves to (models checked against the library, the seed drawn); live mode uses it too. */
  settingsFor(input: GenerateInput): Promise<GenerationSettings> {
    return settingsFromInput(input, libraryModelResolver(this.o.library.list(), (item) => this.loraHash(item)));
  }

  /** A1111's LoRA hash, computed once per file version (size and modification time). */
  private async loraHash(item: LibraryItem): Promise<string> {
    try {
      const st = await fs.promises.stat(item.path);
      const stamp = `${st.size}|${st.mtimeMs}`;
      const known = this.loraHashes.get(item.path);
      if (known?.stamp === stamp) return known.hash;
      const hash = await loraShortHash(item.path);
      this.loraHashes.set(item.path, { stamp, hash });
      return hash;
    } catch {
      return item.sha256.slice(0, 12); // the engine names the missing file; the record still gets a hash
    }
  }

  private readParameters(pngBase64: string): MethodOutput<'png.readParameters'> {
    const chunks = readPngText(Buffer.from(pngBase64, 'base64'), { source: 'the dropped PNG' });
    const text = chunks.parameters;
    const regionsText = chunks[REGIONS_PNG_KEYWORD];
    const chunk = regionsText === undefined ? null : regionChunkFromPngText(regionsText);
    const regions = chunk ? { regions: chunk.regions } : undefined;
    if (text === undefined) return { parameters: null, settings: null, ...regions };
    const settings = infotextToSettings(text);
    // the hints tied to a region, named in the chunk as the parameters text names them
    if (chunk) settings.controls = withRegionHints(settings.controls, chunk.hints);
    const items = this.o.library.list();
    const match = (m: ReadModel, kind: ModelKind): ReadModel => {
      const h = m.hash.toLowerCase();
      const byHash = h ? items.find((i) => i.kind === kind && (i.sha256.startsWith(h) || String(i.details.legacyHash ?? '') === h)) : undefined;
      // the text holds names as safeName() wrote them (a file name's control characters dropped)
      const found = byHash ?? items.find((i) => i.kind === kind && (i.name === m.name || safeName(i.name) === m.name));
      return { ...m, id: found?.id ?? null };
    };
    settings.checkpoint = match(settings.checkpoint, 'checkpoint');
    settings.loras = settings.loras.map((l) => ({ ...l, model: match(l.model, 'lora') }));
    settings.controls = settings.controls.map((c) => ({
      ...c,
      model: match(c.model, c.kind === 'controlnet' ? 'controlnet' : c.kind === 'cnxs' ? 'cnxs' : 'ctrlora-lora'),
      base: c.base ? match(c.base, 'ctrlora-base') : null,
    }));
    // A1111's "VAE" is the file name with its extension; the library's names are stems
    if (settings.vae) settings.vae = match({ ...settings.vae, name: settings.vae.name.replace(/\.(safetensors|ckpt|pt|bin)$/i, '') }, 'vae');
    settings.embeddings = (settings.embeddings ?? []).map((e) => match(e, 'embedding'));
    if (settings.hires?.model) {
      // A1111 names an upscaler model by its file's stem
      const name = settings.hires.model.name;
      const found = items.find((i) => i.kind === 'upscaler' && !i.problem && (i.name === name || i.name.replace(/\.onnx$/i, '') === name));
      settings.hires.model = { ...settings.hires.model, id: found?.id ?? null };
    }
    return { parameters: text, settings, ...regions };
  }
}

function safeReaddir(folder: string): string[] {
  try {
    return fs.readdirSync(folder);
  } catch {
    return [];
  }
}
