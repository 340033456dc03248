// The painter's current tool and its options, shared by the toolbar, the options bar and the tools. One
// instance per studio (created with the canvas view); reactive so the bars follow shortcut changes.

/** Every tool of the tool rail (tools/ has one file per tool). */
export type ToolId = 'brush' | 'eraser' | 'fill' | 'line' | 'shape' | 'gradient' | 'move' | 'picker' | 'pose' | 'hand';

export type ShapeKind = 'rect' | 'ellipse';
export type GradientKind = 'linear' | 'radial';

export const MIN_BRUSH = 1;
export const MAX_BRUSH = 500;

export class ToolSettings {
  tool = $state<ToolId>('brush');
  /** The tool to return to after a temporary one (Space for the hand). */
  previous = $state<ToolId | null>(null);
  size = $state(24); // document pixels
  hardness = $state(0.8); // 0 soft .. 1 hard edge
  /** Stylus pressure scales the size when the device reports it. */
  pressure = $state(true);
  /** Image layers: the brush colour. */
  color = $state('#e05a3a');
  /** Depth layers: grey level 0 (far, black) .. 255 (near, white). */
  depth = $state(200);
  /** Segmentation layers: the exact palette colour of the ADE20K class painted (sky). */
  segColor = $state('#06e6e6');
  shape = $state<ShapeKind>('rect');
  shapeFilled = $state(true);
  gradient = $state<GradientKind>('linear');
  /** Flood-fill colour distance, 0..255 per channel. */
  tolerance = $state(24);

  setSize(size: number): void {
    this.size = Math.round(Math.min(MAX_BRUSH, Math.max(MIN_BRUSH, size)));
  }

  /** `[` and `]`: steps that feel even at every size (about 10%, at least one pixel). */
  stepSize(dir: 1 | -1): void {
    const step = Math.max(1, Math.round(this.size * 0.1));
    this.setSize(this.size + dir * step);
  }

  select(tool: ToolId): void {
    this.previous = null;
    this.tool = tool;
  }

  /** Switches to `tool` until `release` (Space-drag pan). */
  hold(tool: ToolId): void {
    if (this.previous !== null || this.tool === tool) return;
    this.previous = this.tool;
    this.tool = tool;
  }

  release(): void {
    if (this.previous === null) return;
    this.tool = this.previous;
    this.previous = null;
  }
}
