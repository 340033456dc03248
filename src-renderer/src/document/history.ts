// Undo/redo as diffs between marks (tldraw's model). A mark opens an undo step; every Change recorded after it
// belongs to that step until the next mark. Undo applies the inverse of one step's changes, newest first;
// redo applies them again. `bail` rolls the open step back to its mark and forgets it (an abandoned gesture).
// Runs of changes of one continuing edit are folded as they arrive (slider drags), raster runs are squashed to
// one dirty-rectangle diff when the step closes (a stroke of many dabs). Pure module.
import { apply, changeBytes, fold, invert, squashRasterRun, type Change } from './changes.ts';
import type { DocumentRecord } from '../../../src-main/common/document/model.ts';
import type { RasterStore } from './raster-store.ts';

export interface UndoStep {
  id: string;
  label: string;
  changes: Change[];
}

export interface HistoryOptions {
  /** Oldest steps are dropped once the history keeps more pixel bytes than this (default 512 MiB). */
  maxBytes?: number;
  /** Most steps kept (default 500). */
  maxSteps?: number;
}

let nextMark = 1;

export class UndoHistory {
  private readonly undos: UndoStep[] = [];
  private redos: UndoStep[] = [];
  /** The step edits are recorded into; null until the first mark. */
  private open: UndoStep | null = null;
  private readonly maxBytes: number;
  private readonly maxSteps: number;

  constructor(
    private readonly target: () => { doc: DocumentRecord; rasters: RasterStore },
    options: HistoryOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    this.maxSteps = options.maxSteps ?? 500;
  }

  get canUndo(): boolean {
    return this.undos.length > 0 || (this.open !== null && this.open.changes.length > 0);
  }

  get canRedo(): boolean {
    return this.redos.length > 0;
  }

  /** Label of the step undo would revert ('' when none). */
  get undoLabel(): string {
    if (this.open && this.open.changes.length > 0) return this.open.label;
    return this.undos.at(-1)?.label ?? '';
  }

  get redoLabel(): string {
    return this.redos.at(-1)?.label ?? '';
  }

  /** True while a step is open and has nothing in it yet. */
  get openIsEmpty(): boolean {
    return this.open !== null && this.open.changes.length === 0;
  }

  /** Opens a new undo step; returns its id (for bailToMark). An empty open step is reused. */
  mark(label = ''): string {
    if (this.open && this.open.changes.length === 0) {
      this.open.label = label;
      return this.open.id;
    }
    this.close();
    this.open = { id: `mark-${nextMark++}`, label, changes: [] };
    return this.open.id;
  }

  /** Records a change already applied to the document. Opens a step when none is open. */
  record(change: Change): void {
    if (!this.open) this.mark();
    const changes = this.open!.changes;
    const folded = changes.length > 0 ? fold(changes[changes.length - 1], change) : null;
    if (folded) changes[changes.length - 1] = folded;
    else changes.push(change);
    this.redos = [];
  }

  /** Reverts the open step (or, when it is empty, the last closed one); it can be redone. */
  undo(): UndoStep | null {
    const step = this.takeLast();
    if (!step) return null;
    this.revert(step);
    this.redos.push(step);
    return step;
  }

  redo(): UndoStep | null {
    const step = this.redos.pop();
    if (!step) return null;
    this.close();
    const { doc, rasters } = this.target();
    for (const change of step.changes) apply(doc, rasters, change);
    this.undos.push(step);
    this.open = null;
    return step;
  }

  /** Rolls the open step back to its mark and forgets it; redo is not affected. Returns what it reverted. */
  bail(): Change[] {
    if (!this.open) return [];
    const reverted = this.open.changes;
    this.revert(this.open);
    this.open.changes = [];
    return reverted;
  }

  /** Rolls back every step down to and including the one opened by `markId`, forgetting them. */
  bailToMark(markId: string): Change[] {
    if (this.open?.id === markId) return this.bail();
    this.close();
    const at = this.undos.findIndex((s) => s.id === markId);
    if (at < 0) return [];
    const steps = this.undos.splice(at).reverse();
    for (const step of steps) this.revert(step);
    return steps.flatMap((s) => s.changes);
  }

  /** Forgets everything (a document was opened). */
  clear(): void {
    this.undos.length = 0;
    this.redos = [];
    this.open = null;
  }

  /** Closed steps, oldest first (for tests and a history panel). */
  steps(): readonly UndoStep[] {
    return this.open && this.open.changes.length > 0 ? [...this.undos, this.open] : [...this.undos];
  }

  private takeLast(): UndoStep | null {
    this.close();
    return this.undos.pop() ?? null;
  }

  private revert(step: UndoStep): void {
    const { doc, rasters } = this.target();
    for (let i = step.changes.length - 1; i >= 0; i--) apply(doc, rasters, invert(step.changes[i]));
  }

  /** Ends the open step: squashes its raster runs and pushes it, then trims the oldest steps. */
  private close(): void {
    const step = this.open;
    this.open = null;
    if (!step || step.changes.length === 0) return;
    step.changes = this.squash(step.changes);
    this.undos.push(step);
    this.trim();
  }

  private squash(changes: Change[]): Change[] {
    const { rasters } = this.target();
    const out: Change[] = [];
    for (let i = 0; i < changes.length; ) {
      const c = changes[i];
      let j = i + 1;
      if (c.type === 'raster') {
        while (j < changes.length && changes[j].type === 'raster' && (changes[j] as typeof c).rasterId === c.rasterId) j++;
        const run = changes.slice(i, j) as (typeof c)[];
        // The squash reads the raster as it is now: only valid for the last run on that raster.
        const later = changes.slice(j).some((d) => d.type === 'raster' && d.rasterId === c.rasterId);
        if (run.length > 1 && !later && rasters.has(c.rasterId)) out.push(squashRasterRun(run, rasters));
        else out.push(...run);
      } else {
        out.push(c);
      }
      i = j;
    }
    return out;
  }

  private trim(): void {
    let bytes = 0;
    for (const step of this.undos) for (const c of step.changes) bytes += changeBytes(c);
    while (this.undos.length > 1 && (bytes > this.maxBytes || this.undos.length > this.maxSteps)) {
      const dropped = this.undos.shift()!;
      for (const c of dropped.changes) bytes -= changeBytes(c);
    }
  }
}
