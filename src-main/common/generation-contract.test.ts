// The generation contract's own rules that are more than a range: an img2img strength that would run no step
// is refused before anything is decoded.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ContractError } from './contract.ts';
import { img2imgStepsRun, minimalStrength, validateGenerateInput } from './generation-contract.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

it('img2img runs floor(steps x strength) steps; the least strength that runs one is offered', () => {
  assert.equal(img2imgStepsRun(20, 0.75), 15);
  assert.equal(img2imgStepsRun(20, 0.04), 0);
  assert.equal(img2imgStepsRun(20, 1), 20);
  assert.equal(minimalStrength(20), 0.05);
  assert.equal(minimalStrength(3), 0.34);
  assert.equal(minimalStrength(150), 0.01);
  assert.equal(minimalStrength(1), 1);
  for (let steps = 1; steps <= 150; steps++) assert.equal(img2imgStepsRun(steps, minimalStrength(steps)), 1, `${steps} steps`);
});

it('generate.start refuses a strength that leaves no step, naming the least that works', () => {
  const input = (strength: number, steps: number) => ({ checkpoint: 1, steps, init: { imagePngBase64: PNG, strength, resizeMode: 'just-resize' } });
  assert.throws(() => validateGenerateInput(input(0.04, 20)), (e: unknown) => e instanceof ContractError && /leaves no step to run at 20 steps; at 20 steps it must be at least 0.05/.test(e.message));
  assert.throws(() => validateGenerateInput(input(0.3, 3)), /at least 0.34/);
  assert.equal(validateGenerateInput(input(0.05, 20)).init?.strength, 0.05);
});

it('generate.start refuses a prompt or negative prompt whose prompt editing does not parse, with its column', () => {
  assert.throws(
    () => validateGenerateInput({ checkpoint: 1, prompt: 'a [b:c:0.5] | d' }),
    (e: unknown) => e instanceof ContractError && /^The prompt's prompt editing does not parse: .*\(column 13\)\n.*\n {14}\^$/s.test(e.message),
  );
  assert.throws(() => validateGenerateInput({ checkpoint: 1, negative: '[cat|dog' }), /The negative prompt's prompt editing does not parse/);
  // a schedule with an escaped bar, and a plain prompt with a bare one (A1111 reads it as text), pass as typed
  assert.equal(validateGenerateInput({ checkpoint: 1, prompt: '[a:b:0.5] [c|d|e] \\| f' }).prompt, '[a:b:0.5] [c|d|e] \\| f');
  assert.equal(validateGenerateInput({ checkpoint: 1, prompt: 'red | blue' }).prompt, 'red | blue');
});
