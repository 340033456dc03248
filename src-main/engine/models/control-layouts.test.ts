// The generated control layouts at the tiny architecture are the tiny fixtures' key lists, name for name and
// shape for shape: the full-size files the bench writes have the structure of the real ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import { cnxsLayout, ctrLoraBaseLayout, ctrLoraConditionLayout } from './control-layouts.test-support.ts';
import { fixture } from '../goldens.test-support.ts';
import { TINY_ARCH } from './sd15-layout.test-support.ts';

function sameKeys(file: string, layout: { name: string; shape: number[] }[]): void {
  const f = openTensorFile(fixture(file));
  try {
    const expected = [...f.tensors].map(([k, e]) => `${k} [${e.shape}]`).sort();
    const actual = layout.map((t) => `${t.name} [${t.shape}]`).sort();
    assert.deepEqual(actual, expected, file);
  } finally {
    f.close();
  }
}

test('CtrLoRA base and condition layouts reproduce tiny-ctrlora-base and tiny-ctrlora-edge', () => {
  sameKeys('tiny-ctrlora-base.safetensors', ctrLoraBaseLayout(TINY_ARCH.unet, 4));
  sameKeys('tiny-ctrlora-edge.safetensors', ctrLoraConditionLayout(TINY_ARCH.unet, 4));
});

test('the ControlNet-XS layout at width ratio 1 reproduces tiny-cnxs.ckpt', () => {
  sameKeys('tiny-cnxs.ckpt', cnxsLayout(TINY_ARCH.unet, 1));
});
