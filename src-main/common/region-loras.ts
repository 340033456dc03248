// LoRAs tied to a region are written as in A1111, `<lora:name:weight>` inside the region's prompt (weight 1 when
// left out). The prompt keeps its tags wherever it is stored (document, history, the PNG's regions chunk), so
// reopening a picture restores them; main resolves each name to a file (the library's LoRA of that name, or the
// CLI's files) and the engine takes the tags out before the text is encoded, as A1111 does with extra networks.
// Pure module: no Node, Electron or DOM imports.

import { ContractError } from './errors.ts';

/** Weights a region's LoRA tag may carry (negative weights are A1111 slider LoRAs' common use). */
export const REGION_LORA_WEIGHT = { min: -2, max: 2 } as const;

export interface LoraTag {
  name: string;
  weight: number;
}

const TAG = /<lora:([^>]*)>/gi;

/** The `<lora:...>` tags of a prompt, in order; a malformed one is a ContractError naming `what` and the tag. */
export function loraTagsIn(prompt: string, what: string): LoraTag[] {
  const tags: LoraTag[] = [];
  for (const m of prompt.matchAll(TAG)) {
    const parts = m[1].split(':');
    const name = parts[0].trim();
    if (!name) throw new ContractError(`${what}: ${m[0]} names no LoRA (write <lora:name:weight>)`);
    if (parts.length > 2) throw new ContractError(`${what}: ${m[0]} has more than a name and a weight; write <lora:name:weight>`);
    const weightText = parts.length === 2 ? parts[1].trim() : '1';
    const weight = Number(weightText);
    if (weightText === '' || !Number.isFinite(weight) || weight < REGION_LORA_WEIGHT.min || weight > REGION_LORA_WEIGHT.max) {
      throw new ContractError(`${what}: the weight in ${m[0]} must be a number from ${REGION_LORA_WEIGHT.min} to ${REGION_LORA_WEIGHT.max}`);
    }
    tags.push({ name, weight });
  }
  return tags;
}

/**
 * The prompt without its `<lora:...>` tags, as the encoder reads it. Only the tags go, as A1111's extra-network
 * parser removes them: the commas around stay (they are tokens), the spaces left behind the tokenizer ignores.
 */
export function withoutLoraTags(prompt: string): string {
  return prompt.replace(TAG, '');
}
