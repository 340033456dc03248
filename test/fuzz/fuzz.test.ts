// A short run of the fuzzer (npm run fuzz does 100,000 inputs per parser): every parser of untrusted input
// refuses broken input with its own typed error, never another exception, and never takes a second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from './fuzz.ts';

test('500 mutated inputs per parser: no crash, no hang, no uncaught exception', () => {
  const reports = fuzz({ inputs: 500, seconds: 30, seed: 20261203 });
  assert.deepEqual(reports.map((r) => r.target), ['safetensors', 'torch-zip', 'pickle', 'png', 'a1111-text', 'regions-chunk', 'onnx-annotator', 'wire']);
  for (const r of reports) {
    assert.equal(r.inputs, 500, r.target);
    assert.deepEqual(r.findings.map((f) => `${f.index}: ${f.problem}`), [], r.target);
    // the mutations must reach past the first check now and then, or the run proves little
    assert.ok(r.accepted > 0 || r.target === 'pickle', `${r.target}: no input was accepted`);
  }
});
