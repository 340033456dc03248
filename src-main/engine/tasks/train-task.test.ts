// The 'train' task in an engine child process: a run killed after its step-3 checkpoint and resumed continues at
// step 4 with exactly the losses of a run that was never interrupted (data order, flips, timesteps and noise come
// from the seed and the step; parameters, Adam moments and the loss curve from the checkpoint). Calibration times
// a few steps.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { JobQueue } from '../../jobs/job-queue.ts';
import { testSupervisor, until } from '../../jobs/test-engine.test-support.ts';
import type { EngineSupervisor } from '../../jobs/engine-supervisor.ts';
import { CHECKPOINT_FILE, checkpointProgress } from '../training/checkpoint.ts';
import { makeDataset, tinyPayload } from '../training/training-data.test-support.ts';
import type { CalibratedResult, TrainedResult, TrainPayload } from './train-payload.ts';

let supervisor: EngineSupervisor;
let queue: JobQueue;

before(() => {
  supervisor = testSupervisor({ hangMs: 120_000, cancelGraceMs: 120_000 });
  queue = new JobQueue({ supervisor });
  supervisor.start();
});

after(async () => {
  await queue.dispose();
  await supervisor.stop();
});

const work = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-train-task-'));
const run = (payload: TrainPayload) => queue.enqueueEngine({ kind: 'train', title: 'train', task: 'train', payload });

test('6 steps straight and 3 steps + kill + resume give the same losses', async () => {
  const data = makeDataset(3);
  const straight = await queue.wait(run(tinyPayload('style', data, 3, work(), { steps: 6, checkpointEvery: 3 })).id);
  assert.equal(straight.job.state, 'done', JSON.stringify(straight.job.error));
  const losses = (straight.result as TrainedResult).losses;
  assert.equal(losses.length, 6);

  const dir = work();
  const payload = tinyPayload('style', data, 3, dir, { steps: 6, checkpointEvery: 3 });
  const job = run(payload);
  let killed = false;
  const off = queue.onUpdate(({ job: j }) => {
    if (j.id === job.id && j.progress.step >= 4 && !killed) {
      killed = true;
      process.kill(supervisor.status().pid!, 'SIGKILL'); // a power loss, as far as the run can tell
    }
  });
  const crashed = await queue.wait(job.id);
  off();
  assert.equal(crashed.job.state, 'failed');
  assert.equal(crashed.job.error?.kind, 'engine-crashed');
  const saved = checkpointProgress(path.join(dir, 'run', CHECKPOINT_FILE))!;
  assert.equal(saved.step, 3);
  assert.deepEqual(saved.losses, losses.slice(0, 3).map(Math.fround));

  await until(() => supervisor.status().state === 'ready', 60_000);
  const resumed = await queue.wait(run({ ...payload, resume: true }).id);
  assert.equal(resumed.job.state, 'done', JSON.stringify(resumed.job.error));
  assert.deepEqual((resumed.result as TrainedResult).losses, losses.map(Math.fround));
});

test('calibration times steps and reports the memory it saw', async () => {
  const payload = tinyPayload('ctrlora', '', 0, work(), { mode: 'calibrate', items: [], batchSize: 1, calibrationSteps: 2 });
  const outcome = await queue.wait(run(payload).id);
  assert.equal(outcome.job.state, 'done', JSON.stringify(outcome.job.error));
  const r = outcome.result as CalibratedResult;
  assert.equal(r.kind, 'calibrated');
  assert.equal(r.provider, 'cpu');
  assert.equal(r.mixedPrecision, false);
  assert.ok(r.secondsPerStep > 0 && r.secondsPerStep < 60, `${r.secondsPerStep} s per step`);
  assert.ok(r.peakMemoryBytes > 50 * 2 ** 20, `${r.peakMemoryBytes} bytes`);
});
