import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelMenuLabels } from './model-labels.ts';

const item = (id: number, path: string, shortHash: string) => {
  const file = path.split('/').pop()!;
  return { id, path, name: file.slice(0, file.lastIndexOf('.')), shortHash, sha256: shortHash.padEnd(64, '0') };
};

test('namesakes in one folder are told apart by extension and short hash; other names stay plain', () => {
  const labels = modelMenuLabels([
    item(1, '/models/cn/tiny-controlnet.ckpt', '1111111111'),
    item(2, '/models/cn/tiny-controlnet.safetensors', '2222222222'),
    item(3, '/models/cn/tiny-controlnet-b.safetensors', '3333333333'),
  ]);
  assert.equal(labels.get(1), 'tiny-controlnet · .ckpt · 1111111111');
  assert.equal(labels.get(2), 'tiny-controlnet · .safetensors · 2222222222');
  assert.equal(labels.get(3), 'tiny-controlnet-b');
});

test('the same file in two folders: the folder, with as many trailing names as tell them apart, and no hash', () => {
  const labels = modelMenuLabels([
    item(1, '/a/old/controlnet/canny.safetensors', 'abcdefabcd'),
    item(2, '/b/new/controlnet/canny.safetensors', 'abcdefabcd'),
  ]);
  assert.equal(labels.get(1), 'canny · in old/controlnet');
  assert.equal(labels.get(2), 'canny · in new/controlnet');
});

test('Windows paths split on backslashes', () => {
  const labels = modelMenuLabels([
    { id: 1, path: 'C:\\m\\x\\depth.pth', name: 'depth', shortHash: '1', sha256: '1' },
    { id: 2, path: 'C:\\m\\y\\depth.pth', name: 'depth', shortHash: '1', sha256: '1' },
  ]);
  assert.deepEqual([labels.get(1), labels.get(2)], ['depth · in x', 'depth · in y']);
});
