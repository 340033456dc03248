/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { folderForDrop } from './drop-paths.ts';

test('a dropped folder is imported as it is', () => {
  assert.deepEqual(folderForDrop([{ path: '/home/me/blobs', isFolder: true }]), { ok: true, folder: '/home/me/blobs', note: '' });
});

test('dropped pictures import the folder they share, and say so', () => {
  const v = folderForDrop([
    { path: 'D:\\data\\cats\\a.png', isFolder: false },
    { path: 'D:\\data\\cats\\b.png', isFolder: false },
  ]);
  assert.equal(v.ok, true);
  if (v.ok) {
    assert.equal(v.folder, 'D:\\data\\cats');
    assert.match(v.note, /every picture of D:\\data\\cats/);
  }
  const root = folderForDrop([{ path: 'C:\\a.png', isFolder: false }]);
  assert.equal(root.ok && root.folder, 'C:\\');
});

test('a drop that is not one folder is refused with a reason', () => {
  assert.equal(folderForDrop([{ path: '/a/x.png', isFolder: false }, { path: '/b/y.png', isFolder: false }]).ok, false);
  assert.equal(folderForDrop([{ path: '/a', isFolder: true }, { path: '/b', isFolder: true }]).ok, false);
  const unknown = folderForDrop([{ path: '', isFolder: false }]);
  assert.equal(unknown.ok, false);
  if (!unknown.ok) assert.match(unknown.reason, /type the folder path/);
});
