// The keys painters know (Photoshop/Krita conventions): tool letters, [ and ] for the brush size, Space held
// for the hand, Ctrl/Cmd+Z and Ctrl/Cmd+Shift+Z for undo and redo, Ctrl+0 to fit, Escape to abandon a stroke.
// Keys typed into a text field stay there. Installed on the window while the canvas view is shown.
import type { ToolId } from './tools/tool.ts';

export interface ShortcutTarget {
  selectTool(tool: ToolId): void;
  /** U pressed while the shape tool is active: switch rectangle/ellipse. */
  toggleShape(): void;
  stepSize(dir: 1 | -1): void;
  stepHardness(dir: 1 | -1): void;
  holdHand(): void;
  releaseHand(): void;
  undo(): void;
  redo(): void;
  fit(): void;
  actualSize(): void;
  zoomStep(dir: 1 | -1): void;
  cancel(): void;
  readonly tool: ToolId;
}

/** Tool letters, shown in the toolbar's tooltips. */
export const TOOL_KEYS: Partial<Record<ToolId, string>> = {
  brush: 'B',
  eraser: 'E',
  fill: 'G',
  gradient: 'Shift+G',
  line: 'L',
  shape: 'U',
  move: 'V',
  picker: 'I',
  pose: 'P',
  hand: 'H',
};

const LETTERS: Record<string, ToolId> = { b: 'brush', e: 'eraser', g: 'fill', l: 'line', u: 'shape', v: 'move', i: 'picker', p: 'pose', h: 'hand' };

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button', 'color'].includes(target.type);
  return false;
}

/** Handles one keydown; true when it was a studio shortcut (the caller prevents the default). */
export function handleKeyDown(e: KeyboardEvent, t: ShortcutTarget): boolean {
  if (e.key === 'Escape') {
    t.cancel();
    return false; // let dialogs and menus see Escape too
  }
  if (typing(e.target)) return false;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod) {
    if (key === 'z' && !e.altKey) {
      if (e.shiftKey) t.redo();
      else t.undo();
      return true;
    }
    if (key === 'y' && !e.shiftKey) return (t.redo(), true);
    if (key === '0') return (t.fit(), true);
    if (key === '1') return (t.actualSize(), true);
    if (key === '=' || key === '+') return (t.zoomStep(1), true);
    if (key === '-') return (t.zoomStep(-1), true);
    return false;
  }
  if (e.altKey) return false;
  if (e.code === 'Space') {
    if (!e.repeat) t.holdHand();
    return true;
  }
  if (e.key === '[' || e.key === '{') return (e.shiftKey ? t.stepHardness(-1) : t.stepSize(-1), true);
  if (e.key === ']' || e.key === '}') return (e.shiftKey ? t.stepHardness(1) : t.stepSize(1), true);
  if (key === 'g' && e.shiftKey) return (t.selectTool('gradient'), true);
  const tool = LETTERS[key];
  if (tool && !e.shiftKey) {
    if (tool === 'shape' && t.tool === 'shape') t.toggleShape();
    else t.selectTool(tool);
    return true;
  }
  return false;
}

export function handleKeyUp(e: KeyboardEvent, t: ShortcutTarget): void {
  if (e.code === 'Space') t.releaseHand();
}
