/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRAINING_RECIPES } from '../../../../src-main/common/training-contract.ts';
import { suggestedResolution, defaultOutputName, formatDuration, formatLoss, formatStepTime, isOpenRun, RECIPES, recipeInfo } from './training-words.ts';

test('every recipe of the contract is explained in one line each', () => {
  assert.deepEqual(RECIPES.map((r) => r.id).sort(), [...TRAINING_RECIPES].sort());
  for (const r of RECIPES) {
    for (const line of [r.does, r.data, r.needs]) assert.ok(line.length > 10 && !line.includes('\n'), `${r.id}: ${line}`);
  }
  assert.match(recipeInfo('ctrlora').needs, /Base ControlNet.*SD1\.5/);
});

test('formatDuration reads as an estimate', () => {
  assert.equal(formatDuration(0.2), '1 s');
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(12 * 60 + 10), '12 min');
  assert.equal(formatDuration(3600), '1 h');
  assert.equal(formatDuration(3600 + 5 * 60), '1 h 05 min');
  assert.equal(formatDuration(30 * 3600), '30 h');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(Number.NaN), '—');
});

test('formatStepTime switches to steps per second for fast steps', () => {
  assert.equal(formatStepTime(0.42), '0.42 s/step');
  assert.equal(formatStepTime(3.14), '3.1 s/step');
  assert.equal(formatStepTime(0.05), '20 steps/s');
  assert.equal(formatStepTime(0), '—');
});

test('formatLoss keeps three significant digits', () => {
  assert.equal(formatLoss(0.123456), '0.123');
  assert.equal(formatLoss(1.5), '1.50');
  assert.equal(formatLoss(undefined), '—');
});

test('open runs are the ones that can go on', () => {
  assert.ok(isOpenRun('interrupted') && isOpenRun('paused') && isOpenRun('running'));
  assert.ok(!isOpenRun('done') && !isOpenRun('cancelled') && !isOpenRun('failed'));
});

test('defaultOutputName makes a plain file name', () => {
  assert.equal(defaultOutputName('my blobs/v2', 'ctrlora'), 'my-blobs-v2-ctrlora');
  assert.equal(defaultOutputName('  ', 'style'), 'dataset-lora');
});

test('suggestedResolution keeps 512 for large pictures and does not blow small ones up', () => {
  const sq = (n: number, side: number) => Array.from({ length: n }, () => ({ width: side, height: side }));
  assert.equal(suggestedResolution([]), 512);
  assert.equal(suggestedResolution(sq(10, 1024)), 512);
  assert.equal(suggestedResolution(sq(10, 128)), 256);
  assert.equal(suggestedResolution(sq(10, 400)), 384);
  assert.equal(suggestedResolution([...sq(3, 128), ...sq(7, 768)]), 512, 'the median picture decides');
  assert.equal(suggestedResolution([{ width: 1200, height: 300 }]), 256, 'by the shorter side');
});
