// Hand: drag to pan the view (also held with Space, or the middle mouse button from any tool).
// idle -> panning; moves the viewport only, so nothing to undo.
import { panBy } from '../viewport.ts';
import type { Tool, ToolContext, ToolPointer } from './tool.ts';

export class HandTool implements Tool {
  readonly id = 'hand' as const;
  state: 'idle' | 'panning' = 'idle';
  private last = { x: 0, y: 0 };

  get cursor(): string {
    return this.state === 'panning' ? 'grabbing' : 'grab';
  }

  down(e: ToolPointer): void {
    this.state = 'panning';
    this.last = e.screen;
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'panning') return;
    ctx.setViewport(panBy(ctx.viewport, e.screen.x - this.last.x, e.screen.y - this.last.y));
    this.last = e.screen;
  }

  up(): void {
    this.state = 'idle';
  }

  cancel(): void {
    this.state = 'idle';
  }
}
