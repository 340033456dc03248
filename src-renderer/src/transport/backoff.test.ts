/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconnectDelay } from './backoff.ts';

const noJitter = { baseMs: 500, maxMs: 10_000, jitter: 0 };

test('delays double from the base up to the cap', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((a) => reconnectDelay(a, noJitter));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
});

test('huge and nonsensical attempt numbers stay finite and capped', () => {
  assert.equal(reconnectDelay(10_000, noJitter), 10_000);
  assert.equal(reconnectDelay(0, noJitter), 500);
  assert.equal(reconnectDelay(-3, noJitter), 500);
});

test('jitter only ever shortens the delay, by at most the jitter fraction', () => {
  const options = { baseMs: 1000, maxMs: 10_000, jitter: 0.3 };
  assert.equal(reconnectDelay(1, options, () => 0), 1000);
  assert.equal(reconnectDelay(1, options, () => 1), 700);
  assert.equal(reconnectDelay(2, options, () => 0.5), 1700);
});
