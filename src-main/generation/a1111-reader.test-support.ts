// Test support: A1111's own reading of a PNG "parameters" text, through the line-for-line Python port in
// test/support/a1111_infotext.py (the reader other tools use), so tests check Hintbrush's output against A1111's
// parser rather than only against Hintbrush's own reader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const READER = path.join(import.meta.dirname, '../../test/support/a1111_infotext.py');

/** What the port prints: parse_generation_parameters' fields, each "ControlNet N" unit, and "Lora hashes". */
export interface A1111Reading {
  params: Record<string, string>;
  controlnets: Record<string, Record<string, unknown>>;
  lora_hashes: Record<string, string>;
}

/** Whether python3 runs here (`.ci/run` installs it); without it a test skips its A1111 part, saying why. */
export const hasA1111Reader = spawnSync('python3', ['--version']).status === 0;
export const NO_A1111_READER = 'python3 is not installed: the A1111 parse (test/support/a1111_infotext.py) was not run';

export function a1111Read(text: string): A1111Reading {
  const run = spawnSync('python3', [READER], { input: text, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as A1111Reading;
}
