// Regions across the boundaries: the generate request keeps them (and names the first wrong field), the PNG
// chunk round-trips, a chunk that is not Hintbrush's is refused with the reason, and a document keeps its region
// layers through the record check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDocumentRecord, createRegionLayer } from './document/layers.ts';
import { ContractError } from './contract.ts';
import { checkDocumentRecord } from './document-record-check.ts';
import { validateGenerateInput } from './generation-contract.ts';
import { MAX_REGIONS, regionsFromPngText, regionsToPngText, validateRegions, type RegionRecord } from './regions-contract.ts';

const MASK = 'iVBORw0KGgo='; // base64 text (the engine decodes it; the contract checks its form)
const region = (over: Partial<RegionRecord> = {}): RegionRecord => ({ maskPngBase64: MASK, prompt: 'a red dragon', feather: 8, appendMain: false, ...over });

test('the generate request carries regions; absent regions leave the request as before', () => {
  const input = { checkpoint: 1, prompt: 'a landscape', width: 512, height: 512 };
  assert.equal('regions' in validateGenerateInput(input), false);
  assert.deepEqual(validateGenerateInput({ ...input, regions: [region(), region({ prompt: 'a castle', appendMain: true })] }).regions?.map((r) => r.prompt), ['a red dragon', 'a castle']);
});

test('a bad region names its first wrong field', () => {
  const cases: [unknown, RegExp][] = [
    [[region(), { ...region(), feather: -1 }], /regions\[1\]\.feather must be a number from 0 to 256/],
    [[{ ...region(), weight: 1 }], /regions\[0\]: unknown field "weight"/],
    [[{ ...region(), maskPngBase64: 'not base64!' }], /regions\[0\]\.maskPngBase64 must be a PNG as base64/],
    [[{ ...region(), appendMain: 'yes' }], /regions\[0\]\.appendMain must be true or false/],
    [[{ ...region(), prompt: 7 }], /regions\[0\]\.prompt must be text/],
    [{ mask: 'x' }, /regions must be a list of regions/],
    [Array.from({ length: MAX_REGIONS + 1 }, () => region()), new RegExp(`at most ${MAX_REGIONS}`)],
  ];
  for (const [value, message] of cases) assert.throws(() => validateRegions(value), (e: unknown) => e instanceof ContractError && message.test(e.message), String(message));
});

test('the PNG chunk round-trips and refuses what Hintbrush did not write', () => {
  const regions = [region(), region({ prompt: 'ünïcode castle', feather: 0, appendMain: true })];
  assert.deepEqual(regionsFromPngText(regionsToPngText(regions)), regions);
  assert.throws(() => regionsFromPngText('{'), /is not JSON/);
  assert.throws(() => regionsFromPngText('{"version":3,"regions":[]}'), /version 3 is not one this Hintbrush reads/);
  assert.throws(() => regionsFromPngText('{"version":1,"regions":[{"prompt":"x"}]}'), /hintbrush-regions\.regions\[0\]\.maskPngBase64/);
});

test('a document keeps its region layers through the record check', () => {
  const doc = createDocumentRecord({ name: 'd', width: 512, height: 512 });
  doc.layers.push(createRegionLayer({ prompt: 'a red dragon', feather: 24, appendMain: true }));
  const checked = checkDocumentRecord(structuredClone(doc));
  assert.deepEqual(checked.layers[1], doc.layers[1]);
  doc.layers[1] = { ...doc.layers[1], feather: 999 } as (typeof doc.layers)[1];
  assert.throws(() => checkDocumentRecord(doc), /feather/);
});
