// Colour picker: click (or drag) to take the colour under the pointer into the brush. On a depth layer the
// picked colour becomes a grey level (its luminance); on a segmentation layer the class colour of that layer
// itself (the composite would blend classes with what lies below). Alt with the brush picks too.
import type { Layer } from '../../../../src-main/common/document/model.ts';
import type { ToolSettings } from '../tool-settings.svelte.ts';
import type { Point } from '../viewport.ts';
import type { Ctx2D, Tool, ToolContext, ToolPointer } from './tool.ts';

/** The colour of one raster's pixel as #rrggbb, or null where it is transparent or off the raster. */
export function rasterColor(g: Ctx2D, width: number, height: number, p: Point): string | null {
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  const d = g.getImageData(x, y, 1, 1).data;
  if (d[3] < 128) return null;
  return `#${[d[0], d[1], d[2]].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export function applyPicked(settings: ToolSettings, layer: Layer | null, hex: string): void {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  if (layer?.type === 'hint' && layer.hint === 'depth') settings.depth = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  else if (layer?.type === 'hint' && layer.hint === 'segmentation') settings.segColor = hex;
  else settings.color = hex;
}

export class PickerTool implements Tool {
  readonly id = 'picker' as const;
  readonly cursor = 'crosshair';
  state: 'idle' | 'picking' = 'idle';

  down(e: ToolPointer, ctx: ToolContext): void {
    if (e.button !== 0) return;
    this.state = 'picking';
    this.pick(e, ctx);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state === 'picking') this.pick(e, ctx);
  }

  up(): void {
    this.state = 'idle';
  }

  cancel(): void {
    this.state = 'idle';
  }

  private pick(e: ToolPointer, ctx: ToolContext): void {
    const layer = ctx.active;
    let hex: string | null;
    if (layer?.type === 'hint' && layer.hint === 'segmentation') {
      const t = ctx.paintTarget();
      hex = t.ok ? rasterColor(t.context, t.width, t.height, e.doc) : null;
    } else {
      hex = ctx.sampleColor(e.doc);
    }
    if (hex) applyPicked(ctx.settings, layer, hex);
  }
}
