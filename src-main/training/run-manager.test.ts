// The run manager on a full disk: a sample picture main cannot save pauses the run with the reason in words
// (its checkpoint is where it resumes), and the error never reaches the supervisor's message handler, where
// it would end main. The engine is a stand-in here: what is tested is main's side of a step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { EventBus } from '../base/event-bus.ts';
import type { TrainingSettings } from '../common/training-contract.ts';
import { fillDisk, tempFilesIn } from '../formats/disk-full.test-support.ts';
import { encodePng } from '../formats/png.ts';
import { formatTrainProgress, type TrainPayload } from '../engine/tasks/train-payload.ts';
import type { EngineSupervisor } from '../jobs/engine-supervisor.ts';
import { JobQueue } from '../jobs/job-queue.ts';
import { openLibraryDatabase } from '../library/database.ts';
import { RunManager } from './run-manager.ts';
import { TrainingStore } from './training-store.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-run-manager-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings: TrainingSettings = {
  recipe: 'style', checkpoint: { id: 1, name: 'sd', path: '/m/sd.safetensors' }, base: null, datasetId: 1, preset: null, steps: 10, rank: 4, alpha: 4,
  lr: 1e-4, resolution: 256, batchSize: 1, trainTextEncoder: false, sampleEvery: 1, samplePrompt: 'a cat', checkpointEvery: 5, seed: 1, outputName: 'cats',
};

/** An engine whose training sends one step with a sample picture, then trains until cancelled. */
function stepThenWait(preview: Uint8Array): EngineSupervisor {
  const run = (_jobId: string, _task: string, _payload: unknown, o: { signal: AbortSignal; onProgress(p: object): void }) =>
    new Promise((_resolve, reject) => {
      // the real engine's messages arrive on a later turn of the event loop, never inside enqueue()
      setImmediate(() => o.onProgress({ step: 1, total: 10, message: formatTrainProgress(0.25, 30), preview }));
      o.signal.addEventListener('abort', () => reject(Object.assign(new Error('The job was cancelled.'), { kind: 'cancelled' })), { once: true });
    });
  return { run } as unknown as EngineSupervisor;
}

it('a sample that cannot be saved on a full disk pauses the run with disk-full, naming the folder; nothing is left', async (t) => {
  const db = openLibraryDatabase(':memory:');
  const store = new TrainingStore(db);
  const now = new Date().toISOString();
  const datasetId = store.insertDataset({ name: 'cats', path: '/d/cats', condition: 'none', problems: [], createdAt: now }, []);
  const runId = store.insertRun(datasetId, { ...settings, datasetId }, 10, now);
  const preview = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192).fill(128) });
  const manager = new RunManager({
    dataDir: tmp,
    mode: 'browser',
    queue: new JobQueue(),
    supervisor: stepThenWait(preview),
    library: { list: () => [], add: async () => undefined },
    events: new EventBus(),
    store,
  });
  const runs = path.join(tmp, 'training');
  fs.mkdirSync(runs, { recursive: true });
  const disk = fillDisk(t, runs, { freeBytes: 0 });
  manager.enqueue(store.run(runId)!, {} as TrainPayload);
  await new Promise((r) => setTimeout(r, 50));
  await manager.idle();
  const run = store.run(runId)!;
  assert.equal(run.state, 'paused');
  assert.equal(run.error?.kind, 'disk-full');
  assert.match(run.error!.message, /could not save 1\.png in .*training.runs.1.samples \(\d+ bytes needed/);
  assert.ok(disk.refused > 0);
  assert.deepEqual(run.samples, [], 'the sample that was not saved is not listed');
  assert.deepEqual(tempFilesIn(runs), []);
  db.close();
});
