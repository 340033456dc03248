/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LibraryItem } from '../../../src-main/common/contract.ts';
import { countByKind, filterItems, groupByKind, hasProblem, totalBytes } from './library-filter.ts';

let nextId = 1;
function item(name: string, kind: LibraryItem['kind'], extra: Partial<LibraryItem> = {}): LibraryItem {
  return {
    id: nextId++,
    path: `/models/${name}.safetensors`,
    name,
    kind,
    layout: '',
    family: 'sd15',
    problem: '',
    sizeBytes: 1000,
    sha256: 'ab'.repeat(32),
    shortHash: 'abababab',
    metadata: {},
    triggerWords: [],
    details: {},
    addedAt: '2025-01-01T00:00:00Z',
    ...extra,
  };
}

const items = [
  item('tiny-lora', 'lora', { triggerWords: ['inkwash style'] }),
  item('tiny-controlnet-b', 'controlnet', { layout: 'control_model.' }),
  item('tiny-sd15', 'checkpoint'),
  item('tiny-controlnet', 'controlnet', { layout: 'original' }),
  item('sdxl-base', 'unsupported', { family: 'sdxl', problem: 'SDXL checkpoints are not supported' }),
  item('notes', 'unknown'),
  item('broken-cn', 'controlnet', { problem: 'truncated file', sizeBytes: 10 }),
  item('model v10', 'checkpoint'),
  item('model v2', 'checkpoint'),
];

test('filterItems keeps one kind and sorts names naturally', () => {
  const names = filterItems(items, { kind: 'checkpoint', text: '' }).map((i) => i.name);
  assert.deepEqual(names, ['model v2', 'model v10', 'tiny-sd15']);
});

test('filterItems matches every word against name, layout, family and trigger words', () => {
  assert.deepEqual(
    filterItems(items, { kind: 'all', text: 'inkwash' }).map((i) => i.name),
    ['tiny-lora'],
  );
  assert.deepEqual(
    filterItems(items, { kind: 'all', text: 'CONTROL_MODEL' }).map((i) => i.name),
    ['tiny-controlnet-b'],
  );
  assert.deepEqual(
    filterItems(items, { kind: 'controlnet', text: 'tiny  controlnet' }).map((i) => i.name),
    ['tiny-controlnet', 'tiny-controlnet-b'],
  );
  assert.deepEqual(filterItems(items, { kind: 'lora', text: 'sdxl' }), []);
});

test('the problems filter gathers unsupported, unknown and broken files', () => {
  assert.equal(hasProblem(items[0]), false);
  const names = filterItems(items, { kind: 'problems', text: '' }).map((i) => i.name);
  assert.deepEqual(names, ['broken-cn', 'notes', 'sdxl-base']);
});

test('groupByKind follows the display order and never yields an empty group', () => {
  const groups = groupByKind(items);
  assert.deepEqual(
    groups.map((g) => g.kind),
    ['checkpoint', 'controlnet', 'lora', 'unsupported', 'unknown'],
  );
  assert.deepEqual(
    groups[1].items.map((i) => i.name),
    ['broken-cn', 'tiny-controlnet', 'tiny-controlnet-b'],
  );
  assert.ok(groups.every((g) => g.items.length > 0));
  assert.deepEqual(groupByKind([]), []);
});

test('countByKind counts each kind, all and problems', () => {
  const counts = countByKind(items);
  assert.equal(counts.get('all'), 9);
  assert.equal(counts.get('checkpoint'), 3);
  assert.equal(counts.get('controlnet'), 3);
  assert.equal(counts.get('problems'), 3);
  assert.equal(counts.get('vae'), undefined);
});

test('totalBytes sums sizes and ignores impossible ones', () => {
  assert.equal(totalBytes(items), 8010);
  assert.equal(totalBytes([item('x', 'vae', { sizeBytes: Number.NaN })]), 0);
});
