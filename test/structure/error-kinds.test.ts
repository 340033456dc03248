// One spelling per failure: every error kind the code can throw is a member of common/errors.ts' ErrorKind.
// The typed producers (kindError, TaskError, EngineJobError, ErrorInfo) are checked by the compiler; this test
// reads the others from the source: error classes' `readonly kind` and `Object.assign(new Error(...), { kind })`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_KINDS, isErrorKind, toErrorInfo } from '../../src-main/common/errors.ts';
import { listSourceFiles } from './import-graph.ts';
import { repoRoot } from '../support/paths.ts';

const CLASS_KIND = /class \w+Error extends \w+ \{[\s\S]{0,400}?readonly kind(?:: ((?:'[a-z-]+'(?: \| )?)+|\w+Kind\b)| = '([a-z-]+)')/g;
// `readonly kind: DiskWriteErrorKind` names a union declared in the same file.
const KIND_ALIAS = /type (\w+Kind) = ((?:\s*\|?\s*'[a-z-]+')+);/g;
const ASSIGNED_KIND = /Object\.assign\(new Error\([^;]*?\{ kind: '([a-z-]+)' \}\)/g;

function thrownKinds(): Map<string, string> {
  const found = new Map<string, string>(); // kind -> first file
  for (const file of listSourceFiles(repoRoot, ['src-main', 'src-renderer/src'])) {
    if (file.endsWith('.test.ts')) continue;
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    const aliases = new Map([...text.matchAll(KIND_ALIAS)].map((m) => [m[1], m[2]]));
    for (const m of text.matchAll(CLASS_KIND)) {
      if (m[1] === 'ErrorKind') continue; // typed by the compiler
      const union = m[1] === undefined ? `'${m[2]}'` : (aliases.get(m[1]) ?? m[1]);
      assert.ok(union.includes("'"), `${file}: the kind type ${union} is not a union of strings declared in that file`);
      for (const kind of union.match(/'[a-z-]+'/g) ?? []) if (!found.has(kind.slice(1, -1))) found.set(kind.slice(1, -1), file);
    }
    for (const m of text.matchAll(ASSIGNED_KIND)) if (!found.has(m[1])) found.set(m[1], file);
  }
  return found;
}

test('every kind an error class or Object.assign gives is an ErrorKind', () => {
  const kinds = thrownKinds();
  assert.ok(kinds.has('bad-png') && kinds.has('disk-full') && kinds.has('model-missing'), [...kinds.keys()].join(' '));
  const unknown = [...kinds].filter(([kind]) => !isErrorKind(kind)).map(([kind, file]) => `${kind} (${file})`);
  assert.deepEqual(unknown, []);
});

test('one spelling per failure: no kind is listed twice, and the old spelling of a missing model is gone', () => {
  assert.equal(new Set(ERROR_KINDS).size, ERROR_KINDS.length);
  assert.equal(isErrorKind('missing-model'), false);
  assert.equal(isErrorKind('model-missing'), true);
});

test('toErrorInfo keeps a known kind and gives the fallback to anything else', () => {
  assert.deepEqual(toErrorInfo(Object.assign(new Error('gone'), { kind: 'model-missing' })), { kind: 'model-missing', message: 'gone' });
  assert.deepEqual(toErrorInfo(Object.assign(new Error('odd'), { kind: 'no-such-kind' })), { kind: 'internal', message: 'odd' });
  assert.deepEqual(toErrorInfo(new Error('plain'), 'engine-error'), { kind: 'engine-error', message: 'plain' });
  assert.deepEqual(toErrorInfo('text'), { kind: 'internal', message: 'text' });
});
