// Hints tied to a region in the contract: the request's controls[i].region (absent and null: the whole picture),
// its bad values named by field; the PNG chunk's version 2 with each region's hint names, version 1 still read
// (and still written when nothing is tied), and the names matched back to the units of a parameters text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContractError } from './errors.ts';
import { createDocumentRecord, createHintLayer, createRegionLayer } from './document/layers.ts';
import { checkDocumentRecord } from './document-record-check.ts';
import { controlLabels, regionHintLabels, withRegionHints } from './control-regions.ts';
import { validateGenerateInput } from './generation-contract.ts';
import { regionChunkFromPngText, regionsFromPngText, regionsToPngText, type RegionRecord } from './regions-contract.ts';

const MASK = 'iVBORw0KGgo=';
const region = (prompt: string): RegionRecord => ({ maskPngBase64: MASK, prompt, feather: 4, appendMain: false });
const unit = (extra: Record<string, unknown> = {}) => ({ kind: 'controlnet', model: 1, imagePngBase64: MASK, ...extra });
const request = (controls: unknown[], regions: RegionRecord[] = [region('a'), region('b')]) => ({ checkpoint: 1, prompt: 'p', controls, regions });

test('a control unit keeps its region; absent or null is the whole picture', () => {
  const input = validateGenerateInput(request([unit({ region: 1 }), unit(), unit({ region: null }), unit({ kind: 'ctrlora', base: 2, region: 0 })]));
  assert.deepEqual(input.controls.map((c) => c.region), [1, undefined, undefined, 0]);
  assert.equal('region' in input.controls[2], false);
});

test('a bad region tie names its field', () => {
  const cases: [unknown, RegExp][] = [
    [request([unit(), unit({ region: 2 })]), /^controls\[1\]\.region 2 names no region: the request has 2 \(0 to 1\)$/],
    [request([unit({ region: 0 })], []), /^controls\[0\]\.region 0 names no region: the request has none$/],
    [request([unit({ region: '1' })]), /^controls\[0\]\.region must be a number from 0 to 7$/],
    [request([unit({ region: -1 })]), /^controls\[0\]\.region must be a number from 0 to 7$/],
    [request([unit({ region: 0.5 })]), /^controls\[0\]\.region must be an integer from 0 to 7$/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => validateGenerateInput(value), (e: unknown) => e instanceof ContractError && message.test(e.message), String(message));
  }
});

test('units are named as the parameters text names them, each kind counted on its own', () => {
  assert.deepEqual(controlLabels([{ kind: 'ctrlora' }, { kind: 'controlnet' }, { kind: 'ctrlora' }, { kind: 'cnxs' }, { kind: 'controlnet' }]), [
    'CtrLoRA 0',
    'ControlNet 0',
    'CtrLoRA 1',
    'ControlNet-XS 0',
    'ControlNet 1',
  ]);
});

test('the PNG chunk: version 2 carries each region hint names, version 1 when nothing is tied and still read', () => {
  const regions = [region('a red dragon'), region('a castle')];
  const controls = [{ kind: 'ctrlora', region: 1 }, { kind: 'controlnet' }, { kind: 'controlnet', region: 1 }, { kind: 'controlnet', region: 0 }];
  const hints = regionHintLabels(controls, regions.length);
  assert.deepEqual(hints, [['ControlNet 2'], ['CtrLoRA 0', 'ControlNet 1']]);
  const text = regionsToPngText(regions, hints);
  assert.equal(JSON.parse(text).version, 2);
  assert.deepEqual(regionChunkFromPngText(text), { regions, hints });
  assert.deepEqual(regionsFromPngText(text), regions);

  const plain = regionsToPngText(regions, regionHintLabels([{ kind: 'controlnet' }], regions.length));
  assert.deepEqual(JSON.parse(plain), { version: 1, regions });
  assert.deepEqual(regionChunkFromPngText(plain), { regions, hints: [[], []] });

  const bad = (hintsValue: unknown) => JSON.stringify({ version: 2, regions: [{ ...regions[0], hints: hintsValue }] });
  assert.throws(() => regionChunkFromPngText(bad('ControlNet 0')), /hintbrush-regions\.regions\[0\]\.hints must be a list of hint names/);
  assert.throws(() => regionChunkFromPngText(bad([3])), /hintbrush-regions\.regions\[0\]\.hints must be a list of hint names/);
  assert.throws(() => regionChunkFromPngText(JSON.stringify({ version: 2, regions: [{ ...regions[0], weight: 1 }] })), /hintbrush-regions\.regions\[0\]: unknown field "weight"/);
  assert.throws(() => regionChunkFromPngText(JSON.stringify({ version: 2, regions: [{ prompt: 'x', hints: [] }] })), /hintbrush-regions\.regions\[0\]\.maskPngBase64/);
});

test('read back, the names find their units whatever order the parameters text lists them in', () => {
  // written [CtrLoRA 0 -> region 1, ControlNet 0 -> region 0]; the text is read ControlNets first
  const read = [{ kind: 'controlnet', name: 'cn' }, { kind: 'ctrlora', name: 'edge' }, { kind: 'cnxs', name: 'xs' }];
  assert.deepEqual(withRegionHints(read, [['ControlNet 0'], ['CtrLoRA 0', 'ControlNet-XS 0']]), [
    { kind: 'controlnet', name: 'cn', region: 0 },
    { kind: 'ctrlora', name: 'edge', region: 1 },
    { kind: 'cnxs', name: 'xs', region: 1 },
  ]);
});

test('a hint layer keeps its region tie in the document; one saved before ties reads as the whole picture', () => {
  const doc = createDocumentRecord({ name: 'd', width: 256, height: 256 });
  const region = createRegionLayer({ prompt: 'a red dragon' });
  doc.layers.push(region, createHintLayer('scribble', { regionLayerId: region.id }), createHintLayer('depth'));
  const checked = checkDocumentRecord(structuredClone(doc));
  assert.deepEqual(checked.layers.map((l) => (l.type === 'hint' ? l.regionLayerId : '-')), ['-', '-', region.id, null]);
  const old = structuredClone(doc) as unknown as { layers: Record<string, unknown>[] };
  delete old.layers[2].regionLayerId;
  assert.equal((checkDocumentRecord(old).layers[2] as { regionLayerId: unknown }).regionLayerId, null);
  old.layers[2].regionLayerId = 'no spaces allowed';
  assert.throws(() => checkDocumentRecord(old), /record\.layers\[2\]\.regionLayerId must be an id/);
});
