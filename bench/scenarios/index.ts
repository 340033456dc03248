// The scenario registry. A new scenario (20-step txt2img with or without a ControlNet, CtrLoRA, ControlNet-XS,
// a LoRA training step) is one file exporting a Scenario, added to this list; bench/run.ts runs each in its own
// process for each model it names.

import type { Scenario } from '../scenario.ts';
import { computeCeiling } from './compute-ceiling.ts';
import { controlCost } from './control-cost.ts';
import { controlNetEval } from './controlnet-eval.ts';
import { firstOutput } from './first-output.ts';
import { regionCost } from './region-cost.ts';
import { liveLatency } from './live-latency.ts';
import { textEncode } from './text-encode.ts';
import { trainStepScenarios } from './train-step.ts';
import { txt2imgScenarios } from './txt2img.ts';
import { unetEval } from './unet-eval.ts';
import { vaeDecode } from './vae-decode.ts';

export const SCENARIOS: readonly Scenario[] = [firstOutput, unetEval, controlNetEval, vaeDecode, textEncode, ...txt2imgScenarios, controlCost, regionCost, ...trainStepScenarios, liveLatency, computeCeiling];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no bench scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return found;
}
