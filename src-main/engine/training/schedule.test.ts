// Buckets as kohya makes them, and the schedule: a pure function of (seed, step), every item once per epoch,
// each bucket's batches back to back, torch-compatible noise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TorchGenerator } from '../../generation/torch-rng.ts';
import { assignBucket, bucketCounts, bucketResolutions } from './buckets.ts';
import { DataSchedule, stepSeed } from './schedule.ts';

test('buckets at 512: sides multiples of 64 from 256 to 1024, at most 512² pixels, kohya\'s pairs among them', () => {
  const buckets = bucketResolutions(512);
  for (const b of buckets) {
    assert.ok(b.width % 64 === 0 && b.height % 64 === 0 && b.width * b.height <= 512 * 512, `${b.width}x${b.height}`);
    assert.ok(Math.min(b.width, b.height) >= 256 && Math.max(b.width, b.height) <= 1024);
  }
  const names = new Set(buckets.map((b) => `${b.width}x${b.height}`));
  for (const n of ['512x512', '256x1024', '320x768', '384x640', '448x576', '576x448', '640x384', '704x320', '768x320', '1024x256']) assert.ok(names.has(n), n);
  assert.deepEqual(assignBucket(1920, 1080, buckets), { width: 640, height: 384 });
  assert.deepEqual(assignBucket(800, 800, buckets), { width: 512, height: 512 });
  assert.deepEqual(assignBucket(600, 900, buckets), { width: 384, height: 640 });
  assert.deepEqual(bucketCounts([{ width: 512, height: 512 }, { width: 384, height: 640 }, { width: 512, height: 512 }]), [
    { width: 384, height: 640, count: 1 },
    { width: 512, height: 512, count: 2 },
  ]);
});

test('the schedule is a function of seed and step: every item once per epoch, buckets in runs, torch noise', () => {
  const square = { width: 64, height: 64 };
  const wide = { width: 128, height: 64 };
  const items = [square, wide, square, square, wide, square, square];
  const a = new DataSchedule(items, 2, 42);
  const b = new DataSchedule(items, 2, 42);
  assert.equal(a.batchesPerEpoch, 3 + 1, 'five squares make 3 batches (the last wraps), two wides one');
  for (const epoch of [0, 1, 5]) {
    const batches = a.epochBatches(epoch);
    const seen = new Set(batches.flat());
    assert.equal(seen.size, items.length, 'every item in every epoch');
    for (const batch of batches) assert.ok(batch.every((i) => items[i] === items[batch[0]]), 'one bucket per batch');
    const keys = batches.map((batch) => items[batch[0]].width);
    assert.ok(keys.join(',').match(/^(64,64,64,128|128,64,64,64)$/), `a bucket's batches run back to back: ${keys}`);
  }
  assert.notDeepEqual(a.order(0), a.order(1), 'epochs shuffle differently');
  assert.notDeepEqual(new DataSchedule(items, 2, 43).order(0), a.order(0), 'seeds shuffle differently');
  for (const step of [0, 3, 9]) {
    const pa = a.plan(step);
    const pb = b.plan(9 - step === step ? step : step); // a second schedule, asked in another order
    assert.deepEqual(pa, pb);
    const g = new TorchGenerator(stepSeed(42, step));
    assert.deepEqual(Array.from(pa.timesteps), [g.random() % 1000, g.random() % 1000]);
    assert.deepEqual(pa.flips, [(g.random() & 1) === 1, (g.random() & 1) === 1]);
    assert.deepEqual(pa.noise, g.randn([2, 4, pa.bucket.height / 8, pa.bucket.width / 8]));
  }
  assert.deepEqual(b.plan(9).items, new DataSchedule(items, 2, 42).plan(9).items, 'no state carried between steps');
});
