// Canny conditions made in main: from a picture of the dataset's size, and from an 8192x8192 16-bit picture
// without decoding it whole (edges at the 1024-pixel cover training can use; main's peak grows little).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { testPicture } from '../engine/training/training-data.test-support.ts';
import { hugePng16 } from '../formats/huge-png.test-support.ts';
import { decodePng } from '../formats/png.ts';
import { cannyConditionPng } from './conditions.ts';

it('canny edges of a picture keep its size; white edges on black', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-canny-')), 'p.png');
  fs.writeFileSync(file, testPicture(256, 192, 3));
  const edges = decodePng(await cannyConditionPng(file, 50, 100));
  assert.deepEqual([edges.width, edges.height, edges.channels], [256, 192, 1]);
  assert.ok(edges.data.some((v) => v === 255) && edges.data.some((v) => v === 0));
  assert.ok(edges.data.every((v) => v === 0 || v === 255));
});

it('an 8192x8192 16-bit picture: edges at 1024x1024, main grows by far less than the 512 MB of its samples', async () => {
  const file = await hugePng16();
  const before = process.resourceUsage().maxRSS;
  const edges = decodePng(await cannyConditionPng(file));
  const grownMb = (process.resourceUsage().maxRSS - before) / 1024;
  assert.deepEqual([edges.width, edges.height], [1024, 1024]);
  assert.ok(grownMb < 150, `main's peak grew by ${grownMb.toFixed(0)} MB`);
});
