// The studio's ModelResolver: a request names models by library id or by the path the library lists, and only
// usable library models of the right kind resolve, so a renderer can never point the engine at another file.

import path from 'node:path';
import type { LibraryItem, ModelKind } from '../common/contract.ts';
import type { ModelRef, ModelSelector } from '../common/generation-contract.ts';
import { kindError } from '../common/errors.ts';
import { metadataHash } from '../common/model-hashes.ts';
import type { ModelResolver } from './settings-from-input.ts';

/** A resolver over the library's items; `loraHash` computes (or recalls) A1111's LoRA hash of a library LoRA. */
export function libraryModelResolver(items: readonly LibraryItem[], loraHash: (item: LibraryItem) => Promise<string>): ModelResolver {
  const pick = (sel: ModelSelector, kind: ModelKind, role: string): LibraryItem => {
    const item = typeof sel === 'number' ? items.find((i) => i.id === sel) : items.find((i) => i.path === sel || i.path === path.resolve(sel));
    if (!item) throw kindError('not-found', `The ${role} ${JSON.stringify(sel)} is not in the library; add it to the library first.`);
    if (item.kind !== kind) throw kindError('wrong-model', `${item.name} is a ${item.kind} model, not a ${role}.`);
    if (item.problem) throw kindError('unsupported-model', `${item.name} cannot be used: ${item.problem}`);
    return item;
  };
  // A1111's hash for `kind` (model-hashes.ts) from the hashes the library stored when it scanned the file
  const hashOf = (item: LibraryItem, kind: ModelKind): Promise<string> =>
    metadataHash(kind, {
      lora: () => loraHash(item),
      legacy: () => String(item.details.legacyHash ?? '') || item.shortHash.slice(0, 8),
      short: () => item.shortHash,
    });
  return {
    async resolve(sel, kind, role): Promise<ModelRef> {
      const item = pick(sel, kind, role);
      return { id: item.id, name: item.name, hash: await hashOf(item, kind), path: item.path };
    },
    defaultVae: (checkpoint) => items.find((i) => i.id === checkpoint.id)?.defaultVaeId ?? null,
    // A1111 names a LoRA by its file stem (the library's item name); a unique case-insensitive match also serves
    loraNamed: (name) => {
      const loras = items.filter((i) => i.kind === 'lora');
      const exact = loras.find((i) => i.name === name);
      const loose = loras.filter((i) => i.name.toLowerCase() === name.toLowerCase());
      return exact?.id ?? (loose.length === 1 ? loose[0].id : null);
    },
    loraPlace: 'in the library (add its file to the library first)',
  };
}
