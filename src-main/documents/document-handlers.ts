// The `documents.*` contract methods over main's document storage; bootstrap spreads these into its handler
// table. Inputs arrive already validated by the contract (documents-contract.ts); errors carry a `kind`
// ('not-found', 'bad-raster', 'corrupt-document') that crosses the boundary as is.
import type { MethodInput, MethodOutput } from '../common/contract.ts';
import type { DocumentStorage } from './document-store.ts';

type DocumentMethod = 'documents.list' | 'documents.open' | 'documents.create' | 'documents.save' | 'documents.delete';

export type DocumentHandlers = {
  [M in DocumentMethod]: (input: MethodInput<M>) => MethodOutput<M>;
};

export function documentHandlers(storage: DocumentStorage): DocumentHandlers {
  return {
    'documents.list': () => storage.list(),
    'documents.open': ({ id }) => storage.open(id),
    'documents.create': (input) => storage.create(input),
    'documents.save': (input) => storage.save(input),
    'documents.delete': ({ id }) => {
      if (!storage.delete(id)) throw Object.assign(new Error(`There is no document ${id}.`), { kind: 'not-found' });
      return { ok: true as const };
    },
  };
}
