// Pictures fitted to their training bucket: cover and centre crop, and an 8192x8192 16-bit picture shrunk while
// it is decoded, so the engine never holds it at full size.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { hugePng16 } from '../../formats/huge-png.test-support.ts';
import { encodePng } from '../../formats/png.ts';
import { fitted } from './data-cache.ts';

it('fits a picture to its bucket: cover, centre crop', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-fitted-')), 'p.png');
  // left half black, right half white, 80x40 -> a 32x32 bucket keeps the middle: both halves
  const data = Uint8Array.from({ length: 80 * 40 * 3 }, (_, i) => ((i / 3) % 80 < 40 ? 0 : 255));
  fs.writeFileSync(file, encodePng({ width: 80, height: 40, channels: 3, data }));
  const img = await fitted(file, { width: 32, height: 32 });
  assert.deepEqual([img.width, img.height, img.channels], [32, 32, 3]);
  assert.ok(img.data[0] < 30 && img.data[31 * 3] > 225, 'black on the left, white on the right');
  await assert.rejects(fitted(path.join(path.dirname(file), 'nope.png'), { width: 8, height: 8 }), /cannot be read/);
});

it('an 8192x8192 16-bit RGBA picture fits a 512x512 bucket without a full-size decode', async () => {
  const before = process.resourceUsage().maxRSS;
  const img = await fitted(await hugePng16(), { width: 512, height: 512 });
  const grownMb = (process.resourceUsage().maxRSS - before) / 1024;
  assert.deepEqual([img.width, img.height], [512, 512]);
  assert.ok(img.data.every((v) => v === 128));
  assert.ok(grownMb < 100, `the process grew by ${grownMb.toFixed(0)} MB`);
});
