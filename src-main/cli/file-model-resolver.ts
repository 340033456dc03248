// `hintbrush generate`'s ModelResolver: models are files here (no library needed), named by their paths, and
// hashed as A1111 hashes each kind for the pictures' metadata. The engine checks what each file holds.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ModelKind } from '../common/contract.ts';
import type { ModelRef } from '../common/generation-contract.ts';
import { metadataHash } from '../common/model-hashes.ts';
import type { ModelResolver } from '../app/settings-from-input.ts';
import { hashFile, loraShortHash } from '../library/hash.ts';

/** What a missing file is called in the message, by the flag that named it. */
const WHAT: Partial<Record<ModelKind, string>> = {
  controlnet: '--control model',
  'ctrlora-lora': '--ctrlora model',
  cnxs: '--cnxs model',
};

/** `file`, resolved; a missing one is a 'model-missing' error naming it. */
export function existingFile(file: string, what: string): string {
  const full = path.resolve(file);
  if (!existsSync(full)) throw Object.assign(new Error(`${what} not found: ${full}`), { kind: 'model-missing' });
  return full;
}

/** A1111's hash of the file for `kind` (model-hashes.ts), computed from the file itself. */
function hashOf(file: string, kind: ModelKind): Promise<string> {
  return metadataHash(kind, {
    lora: () => loraShortHash(file),
    legacy: async () => (await hashFile(file)).legacyHash,
    short: async () => (await hashFile(file)).shortHash,
  });
}

/** The extensions a LoRA named by a `<lora:name:w>` tag may have in a --lora-dir folder (A1111's Lora folder). */
const LORA_EXTENSIONS = ['.safetensors', '.pt', '.ckpt'];

/**
 * Model selectors are file paths; a run uses the checkpoint's own VAE unless --vae names one. A `<lora:name:w>` tag
 * in a region prompt names a LoRA by its file stem in the --lora-dir folders (the first folder that has it).
 */
export function fileModelResolverWith(loraDirs: readonly string[] = []): ModelResolver {
  return {
    async resolve(selector, kind, role): Promise<ModelRef> {
      const full = existingFile(String(selector), WHAT[kind] ?? role);
      return { id: null, name: path.parse(full).name, hash: await hashOf(full, kind), path: full };
    },
    defaultVae: () => null,
    loraNamed: (name) => {
      for (const dir of loraDirs) {
        for (const ext of LORA_EXTENSIONS) {
          const candidate = path.resolve(dir, name + ext);
          if (path.dirname(candidate) === path.resolve(dir) && existsSync(candidate)) return candidate;
        }
      }
      return null;
    },
    loraPlace: loraDirs.length ? `in ${loraDirs.map((d) => path.resolve(d)).join(', ')}` : '(give --lora-dir DIR, the folder of the LoRAs region prompts name)',
  };
}

export const fileModelResolver: ModelResolver = fileModelResolverWith();
