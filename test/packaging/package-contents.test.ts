// The package-contents computation (scripts/package-contents.mjs) against electron-builder.yml: every exclusion
// the script applies is in the yml too, and each package carries its own platform's provider libraries only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { BETTER_SQLITE_LEFTOVERS, EXCLUDED_PACKAGES, ORT_LEFTOVERS, packageContents, TARGETS } from '../../scripts/package-contents.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const yml = fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8');

test('every exclusion of the script is in electron-builder.yml', () => {
  assert.match(yml, new RegExp(`node_modules/\\{${(EXCLUDED_PACKAGES as string[]).join(',')}\\}/\\*\\*`));
  for (const p of BETTER_SQLITE_LEFTOVERS as string[]) {
    const [head, ...rest] = p.split('/');
    const last = rest.pop() ?? head;
    assert.ok(yml.includes('node_modules/better-sqlite3/') && yml.includes(last), `better-sqlite3 ${p}`);
  }
  for (const p of ORT_LEFTOVERS as string[]) assert.ok(yml.includes(`node_modules/onnxruntime-node/${p}/**`));
  assert.ok(yml.includes('napi-v*/!(${platform})/**') && yml.includes('napi-v*/${platform}/!(${arch})/**'));
  assert.match(yml, /^npmRebuild: true$/m);
  assert.match(yml, /- from: resources\n\s+to: resources/);
});

test('each package ships its own platform and architecture of onnxruntime-node and its provider libraries', () => {
  type Target = { platform: string; arch: string };
  type Contents = { unpacked: { file: string }[]; providerLibraries: { file: string }[]; resources: unknown[] };
  for (const target of TARGETS as Target[]) {
    const c = packageContents(target) as Contents;
    const bins = c.unpacked.filter((f) => f.file.includes('/bin/napi-v'));
    assert.ok(bins.length > 0);
    for (const f of bins) assert.ok(f.file.includes(`/${target.platform}/${target.arch}/`), f.file);
    const libs = c.providerLibraries.map((f) => path.basename(f.file));
    if (target.platform === 'win32') for (const dll of ['DirectML.dll', 'onnxruntime.dll']) assert.ok(libs.includes(dll), dll);
    if (target.platform === 'linux') assert.ok(libs.includes('libonnxruntime.so.1'));
    assert.ok(c.unpacked.some((f) => f.file.endsWith('better_sqlite3.node')));
    assert.ok(c.resources.length > 0, 'resources/ ships');
  }
});
