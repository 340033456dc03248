// Builds main's services (database, library, job queue, engine supervisor, event bus) and implements every
// contract method on top of them. Transports (Electron IPC, the browser-mode WebSocket, the CLI) only call
// `services.call(method, params)`: the input is validated against the contract before anything else runs.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ContractError,
  isMethodName,
  validateRequest,
  type AppInfo,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type ProviderReport,
} from '../common/contract.ts';
import { annotateResult, annotatorStatuses, planAnnotateJob } from './annotate-service.ts';
import { defaultEngineEntry, nodeEngineLauncher, type EngineLauncher } from '../jobs/engine-launcher.ts';
import { EngineSupervisor, type SupervisorOptions } from '../jobs/engine-supervisor.ts';
import { documentHandlers } from '../documents/document-handlers.ts';
import { JobQueue } from '../jobs/job-queue.ts';
import { asDiskWriteError } from '../formats/atomic-file.ts';
import { kindError } from '../common/errors.ts';
import { GenerationService } from './generation-service.ts';
import { LiveService } from './live-service.ts';
import { DisposableOwner, EventBus } from '../base/event-bus.ts';
import { openLibrary, scanJobProgress, type LibraryPort, type OpenedLibrary, type ScanProgress } from './library-port.ts';
import { TrainingService } from '../training/training-service.ts';
import { SettingsStore } from '../library/settings-store.ts';

export interface ServicesOptions {
  /** Writable folder: library database, caches, outputs. */
  dataDir: string;
  /** Read-only app resources (CLIP vocabulary...). */
  resourcesDir: string;
  mode?: AppInfo['mode'];
  version?: string;
  /** How to start the engine; Electron passes its utilityProcess launcher. Default: a Node child process. */
  engineLauncher?: EngineLauncher;
  supervisor?: Partial<Omit<SupervisorOptions, 'launcher'>>;
  /** Start the engine at once (default); the CLI's library commands never need it. */
  startEngine?: boolean;
  /** Test seam: the library and job store over something other than the SQLite database in dataDir. */
  openLibrary?: (dataDir: string, onChanged: (count: number) => void) => OpenedLibrary;
  /** Electron's native folder picker; without it 'dialog.chooseFolders' answers 'unsupported'. */
  chooseFolders?: () => Promise<string[]>;
}

type Handlers = { [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

export interface Services {
  readonly info: AppInfo;
  readonly events: EventBus;
  readonly queue: JobQueue;
  readonly supervisor: EngineSupervisor;
  readonly library: LibraryPort;
  /** The picture file of a history entry (served at /images/<id>.png and hintbrush-image://history/<id>.png). */
  imageFile(historyId: number): string | null;
  /** A training run's sample picture (served at /training-samples/<runId>/<step>.png and hintbrush-image://training/...). */
  trainingSampleFile(runId: number, step: number): string | null;
  /** Runs one contract method; throws an error with a `kind` ('bad-request' for invalid input). */
  call<M extends MethodName>(method: M, params: unknown): Promise<MethodOutput<M>>;
  call(method: string, params: unknown): Promise<unknown>;
  /** Registers teardown work of a transport, run before the services' own. */
  own(what: string, teardown: () => unknown): void;
  dispose(): Promise<void>;
}

function packageVersion(): string {
  // Sources: src-main/app/ -> ../../package.json. Bundled (build/main/): ../../package.json as well.
  try {
    const here = path.dirname(fileURLToPath(import.meta.url));
    return (JSON.parse(readFileSync(path.resolve(here, '../../package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function createServices(options: ServicesOptions): Services {
  const owner = new DisposableOwner();
  const events = new EventBus();
  const dataDir = path.resolve(options.dataDir);
  const resourcesDir = path.resolve(options.resourcesDir);
  const info: AppInfo = {
    version: options.version ?? packageVersion(),
    mode: options.mode ?? 'browser',
    dataDir,
    platform: process.platform,
  };

  const opened = (options.openLibrary ?? openLibrary)(dataDir, (count) => events.emit('library.changed', { count }));
  owner.add('library database', () => opened.close());
  const library = opened.library;
  const documents = opened.documents;

  const settingsStore = opened.settings;

  const supervisor = new EngineSupervisor({
    launcher: options.engineLauncher ?? nodeEngineLauncher({ resourcesDir, dataDir, entry: defaultEngineEntry() }),
    // Sent to every engine process when it is ready, before its first job (engine-supervisor.ts).
    providerChoice: () => settingsStore.providerSetting(),
    ...options.supervisor,
  });
  owner.add('engine', () => supervisor.stop());
  owner.add('engine status events', supervisor.onStatus((s) => events.emit('engine.status', s)));

  const queue = new JobQueue({ store: opened.jobStore, supervisor, storeFolder: dataDir });
  // Let running jobs end cleanly, but never wait long for it: the engine is stopped right after.
  owner.add('job queue', () => Promise.race([queue.dispose(), new Promise((r) => setTimeout(r, 3_000).unref())]));
  owner.add('job events', queue.onUpdate(({ job }) => events.emit('job.updated', job)));
  const generation = new GenerationService({ dataDir, mode: info.mode, queue, supervisor, library, history: opened.history ?? null, events });
  const live = new LiveService({ queue, supervisor, generation, events });
  const training = new TrainingService({ dataDir, mode: info.mode, queue, supervisor, library, events, store: opened.training });

  /** Queues a scan in main's lane; the library reports progress and honours the signal. */
  const scanJob = (title: string, scan: (progress: (p: ScanProgress) => void, signal: AbortSignal) => Promise<unknown>) =>
    queue.enqueue({
      kind: 'scan',
      title,
      lane: 'main',
      run: (ctx) => {
        // Hashing reports every chunk; the renderer needs a few updates a second, not hundreds.
        let last = 0;
        let lastStep = -1;
        return scan((p) => {
          const now = Date.now();
          if (p.phase === 'reading' && p.filesDone === lastStep && now - last < 100) return;
          last = now;
          lastStep = p.filesDone;
          ctx.progress(scanJobProgress(p));
        }, ctx.signal);
      },
    });

  const handlers: Handlers = {
    'app.info': () => ({ ...info }),
    'library.list': () => library.list(),
    'library.roots': () => library.roots(),
    'library.add': ({ paths }) => {
      const resolved = paths.map((p) => path.resolve(p));
      const title = resolved.length === 1 ? `Scan ${path.basename(resolved[0]) || resolved[0]}` : `Scan ${resolved.length} folders`;
      return { jobId: scanJob(title, (progress, signal) => library.add(resolved, progress, signal)).id };
    },
    'library.rescan': () => ({ jobId: scanJob('Rescan the library', (progress, signal) => library.rescan(progress, signal)).id }),
    'library.remove': ({ id }) => {
      if (!library.remove(id)) throw kindError('not-found', `There is no model ${id} in the library.`);
      return { ok: true };
    },
    'library.setDefaultVae': ({ checkpointId, vaeId }) => {
      library.setDefaultVae(checkpointId, vaeId);
      return { ok: true };
    },
    'engine.status': () => supervisor.status(),
    'engine.probe': () => {
      const job = queue.enqueueEngine({ kind: 'probe', title: 'Probe the GPU providers', task: 'probe', payload: {} });
      void queue.wait(job.id).then(({ job: done, result }) => {
        if (done.state === 'done') supervisor.noteProviders(result as { provider: string; providers: ProviderReport[] });
      });
      return { jobId: job.id };
    },
    'engine.providerSetting': () => settingsStore.providerSetting(),
    'engine.setProvider': (setting) => {
      const saved = settingsStore.setProviderSetting(setting);
      supervisor.applyProviderChoice();
      return saved;
    },
    'dialog.chooseFolders': async () => {
      if (!options.chooseFolders) {
        throw kindError('unsupported', 'The folder picker exists in the desktop app only; type the folder path instead.');
      }
      return { paths: await options.chooseFolders() };
    },
    'jobs.list': () => queue.list(),
    'jobs.cancel': ({ id }) => ({ ok: queue.cancel(id) }),
    'annotators.list': () => annotatorStatuses(library.list()),
    'annotate.start': (input) => {
      const { title, payload } = planAnnotateJob(input, library.list());
      return { jobId: queue.enqueueEngine({ kind: 'annotate', title, task: 'annotate', payload }).id };
    },
    'annotate.result': ({ jobId }) => annotateResult(queue, jobId),
    ...documentHandlers(documents),
    ...generation.handlers(),
    ...live.handlers(),
    ...training.handlers(),
  };
  // One GPU job at a time: generating or annotating while a run trains is refused with the reason.
  const guarded = training.runs.guard(handlers, ['generate.start', 'live.start', 'annotate.start']);

  if (options.startEngine !== false) supervisor.start();

  const call = async (method: string, params: unknown): Promise<unknown> => {
    if (owner.disposed) throw kindError('app-closing', 'Hintbrush is shutting down.');
    if (!isMethodName(method)) throw new ContractError(`unknown method ${JSON.stringify(method).slice(0, 80)}`);
    const input = validateRequest(method, params); // first, before any handler sees the value
    try {
      return await (guarded[method] as (input: unknown) => unknown)(input);
    } catch (err) {
      // The database (documents, history, library) on a full disk: say which folder and that it is full.
      throw asDiskWriteError(err, dataDir, null, method.startsWith('documents.') ? 'the document' : 'this change') ?? err;
    }
  };

  return {
    info,
    events,
    queue,
    supervisor,
    library,
    imageFile: (id) => generation.imageFile(id),
    trainingSampleFile: (runId, step) => training.runs.sampleFile(runId, step),
    call: call as Services['call'],
    own: (what, teardown) => owner.add(what, teardown),
    dispose: () => owner.dispose(),
  };
}
