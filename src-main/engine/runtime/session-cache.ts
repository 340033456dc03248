// Sessions are expensive to create (graph optimisation, weight mapping) and cheap to reuse, so the engine keeps
// the recently used ones keyed by what shaped their graph (model files, sizes, LoRA files — not LoRA strengths
// or control weights, which are inputs). Least recently used sessions are released past a count limit.
//
// Ownership: the cache owns every session it created; callers borrow them and must not release them.

import type { Graph, Node } from '../graph/node.ts';
import { createFusedSession, type FusionFallback, type FusionOptions, type Fusions } from './fusions.ts';
import type { ModelSession, ProviderName } from './session.ts';

export interface BuiltGraph {
  graph: Graph;
  outputs: Record<string, Node>;
}

export class SessionCache {
  private readonly entries = new Map<string, Promise<ModelSession>>();
  /** Provider that the last created session ended up on, and the ones skipped on the way. */
  lastProvider: ProviderName | null = null;
  /** Fused graphs a provider refused, newest last (each also stays on its session). */
  readonly fallbacks: FusionFallback[] = [];

  constructor(
    private readonly limit = 12,
    private readonly options: FusionOptions = {},
  ) {}

  /**
   * Returns the cached session for `key`, building and creating it on first use. `build` is called with the
   * fused ops the chosen provider runs (and again without them if the provider refuses the fused graph).
   */
  async get(key: string, build: (fusions: Fusions) => BuiltGraph, overrides: Partial<FusionOptions> = {}): Promise<ModelSession> {
    const found = this.entries.get(key);
    if (found) {
      this.entries.delete(key);
      this.entries.set(key, found); // most recently used last
      return found;
    }
    const created = (async () => {
      const session = await createFusedSession((fusions) => build(fusions).outputs, key.slice(0, 80), { ...this.options, ...overrides });
      this.lastProvider = session.provider;
      this.fallbacks.push(...session.fallbacks);
      session.onFallback = (f) => {
        this.fallbacks.push(f);
        this.lastProvider = session.provider;
      };
      return session;
    })();
    this.entries.set(key, created);
    created.catch(() => this.entries.delete(key));
    await this.evict();
    return created;
  }

  private async evict(): Promise<void> {
    while (this.entries.size > this.limit) {
      const [oldest, session] = this.entries.entries().next().value as [string, Promise<ModelSession>];
      this.entries.delete(oldest);
      await session.then((s) => s.release()).catch(() => undefined);
    }
  }

  /** Releases sessions whose key contains `fragment` (e.g. a model file that changed). */
  async drop(fragment: string): Promise<void> {
    for (const [key, session] of [...this.entries]) {
      if (!key.includes(fragment)) continue;
      this.entries.delete(key);
      await session.then((s) => s.release()).catch(() => undefined);
    }
  }

  async clear(): Promise<void> {
    await this.drop('');
  }

  get size(): number {
    return this.entries.size;
  }
}
