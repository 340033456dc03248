import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LibraryItem } from '../../../../src-main/common/contract.ts';
import { cnxsHint, conditionName, layerChoices } from './layer-kinds.ts';

function item(id: number, name: string, kind: LibraryItem['kind'], ext = 'safetensors'): LibraryItem {
  return { id, path: `/m/${name}.${ext}`, name, kind, layout: '', family: 'sd15', problem: '', sizeBytes: 1, sha256: `${id}`.repeat(64).slice(0, 64), shortHash: '', metadata: {}, triggerWords: [], details: {}, addedAt: '' };
}

test('a CtrLoRA condition is named from its file', () => {
  assert.equal(conditionName(item(1, 'tiny-ctrlora-edge', 'ctrlora-lora')), 'edge');
  assert.equal(conditionName(item(1, 'ctrlora_sd15_hed_rank128', 'ctrlora-lora')), 'hed');
  assert.equal(conditionName({ name: 'x', metadata: { 'ctrlora.condition': 'lineart' } }), 'lineart');
  assert.equal(conditionName({ name: 'outline-ctrlora-run3', metadata: { ctrlora_condition: 'outlines' } }), 'outlines', 'as Hintbrush trains them');
});

test('each condition LoRA becomes a hint kind bound to the base, once per condition, safetensors first', () => {
  const lib = [
    item(1, 'tiny-ctrlora-base', 'ctrlora-base', 'ckpt'),
    item(2, 'tiny-ctrlora-base', 'ctrlora-base'),
    item(3, 'tiny-ctrlora-edge', 'ctrlora-lora', 'ckpt'),
    item(4, 'tiny-ctrlora-edge', 'ctrlora-lora'),
    item(5, 'tiny-ctrlora-blob', 'ctrlora-lora', 'ckpt'),
    item(6, 'tiny-cnxs', 'cnxs', 'ckpt'),
  ];
  const choices = layerChoices(lib);
  const conditions = choices.filter((c) => c.group === 'CtrLoRA conditions');
  assert.deepEqual(
    conditions.map((c) => [c.label, c.control]),
    [
      ['edge via CtrLoRA', { family: 'ctrlora', modelId: 4, baseId: 2 }],
      ['blob via CtrLoRA', { family: 'ctrlora', modelId: 5, baseId: 2 }],
    ],
  );
  assert.ok(conditions.every((c) => c.hint === 'condition' && c.explanation.length > 20));
  const xs = choices.filter((c) => c.group === 'ControlNet-XS');
  assert.deepEqual(xs.map((c) => c.control), [{ family: 'cnxs', modelId: 6, baseId: null }]);
  assert.equal(cnxsHint('cnxs-depth'), 'depth');
  // Every ControlNet hint kind is offered with its explanation.
  assert.equal(choices.filter((c) => c.group === 'ControlNet hints').length, 8);
});
