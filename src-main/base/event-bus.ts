// The contract's Events inside main: services emit, transports (Electron IPC, the WebSocket server)
// forward to every renderer. Plus the owner that tears services down in the reverse order of creation.

import type { EventName, Events } from '../common/contract.ts';

type AnyListener = (name: EventName, data: Events[EventName]) => void;

export class EventBus {
  private readonly named = new Map<EventName, Set<(data: never) => void>>();
  private readonly any = new Set<AnyListener>();

  on<E extends EventName>(name: E, listener: (data: Events[E]) => void): () => void {
    let set = this.named.get(name);
    if (!set) this.named.set(name, (set = new Set()));
    set.add(listener as (data: never) => void);
    return () => set.delete(listener as (data: never) => void);
  }

  /** Every event (transports forward them all). */
  onAny(listener: AnyListener): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  emit<E extends EventName>(name: E, data: Events[E]): void {
    for (const l of [...(this.named.get(name) ?? [])]) this.call(() => (l as (d: Events[E]) => void)(data), name);
    for (const l of [...this.any]) this.call(() => l(name, data), name);
  }

  // A broken listener (a renderer gone mid-send) must not stop the others from hearing the event.
  private call(fn: () => void, name: string): void {
    try {
      fn();
    } catch (err) {
      console.error(`[hintbrush] listener of ${name} failed:`, err);
    }
  }
}

/** Owns teardown steps; `dispose` runs them last-added first, each once, and never stops at a failure. */
export class DisposableOwner {
  private readonly steps: Array<{ what: string; run: () => unknown }> = [];
  private disposing: Promise<void> | null = null;

  add(what: string, run: () => unknown): void {
    if (this.disposing) throw new Error(`cannot add '${what}': already disposed`);
    this.steps.push({ what, run });
  }

  get disposed(): boolean {
    return this.disposing !== null;
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          console.error(`[hintbrush] teardown of ${step.what} failed:`, err);
        }
      }
    })();
    return this.disposing;
  }
}
