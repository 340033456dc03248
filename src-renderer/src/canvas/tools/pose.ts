// Pose editing on the active pose layer: drag a joint to move it; Alt-drag a joint to move the whole person;
// Shift-click a joint to hide or show it (hidden joints are not drawn for the model, as when OpenPose finds no
// such point). idle -> dragging-joint | dragging-person -> idle; each drag is one undo step.
import type { HintLayer, PosePerson } from '../../../../src-main/common/document/model.ts';
import { KEYPOINT_NAMES } from '../../../../src-main/common/hints/pose.ts';
import { hitJoint } from '../pose-skeleton.ts';
import type { Point } from '../viewport.ts';
import type { Tool, ToolContext, ToolPointer } from './tool.ts';

export class PoseTool implements Tool {
  readonly id = 'pose' as const;
  state: 'idle' | 'dragging-joint' | 'dragging-person' = 'idle';
  private hit: [number, number] | null = null;
  private start: Point = { x: 0, y: 0 };
  private people: PosePerson[] = [];

  get cursor(): string {
    return this.state === 'idle' ? 'default' : 'grabbing';
  }

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0) return;
    const layer = this.poseLayer(ctx);
    if (!layer) return;
    const hit = hitJoint(layer.people, e.doc, 12 / ctx.viewport.scale);
    if (!hit) {
      if (layer.people.length === 0) ctx.say('Add a person from the layer inspector, then drag its joints');
      return;
    }
    this.people = JSON.parse(JSON.stringify(layer.people)) as PosePerson[]; // plain copy of the store's records
    this.hit = hit;
    this.start = e.doc;
    if (e.shift) {
      const k = this.people[hit[0]].keypoints[hit[1]];
      ctx.begin(k.visible ? 'Hide joint' : 'Show joint');
      k.visible = !k.visible;
      ctx.updateLayer(layer.id, { people: this.people }, 'Toggle joint');
      ctx.commit();
      return;
    }
    this.state = e.alt ? 'dragging-person' : 'dragging-joint';
    ctx.begin(e.alt ? 'Move person' : `Move ${KEYPOINT_NAMES[hit[1]]}`);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    const layer = this.poseLayer(ctx, true);
    if (this.state === 'idle' || !this.hit || !layer) return;
    const dx = e.doc.x - this.start.x;
    const dy = e.doc.y - this.start.y;
    const [pi, ki] = this.hit;
    const people = this.people.map((person, i) => {
      if (i !== pi) return person;
      const keypoints = person.keypoints.map((k, j) =>
        this.state === 'dragging-person' || j === ki ? { ...k, x: clamp(k.x + dx, ctx.doc.width), y: clamp(k.y + dy, ctx.doc.height) } : k,
      );
      return { ...person, keypoints };
    });
    ctx.updateLayer(layer.id, { people }, 'Move joint');
  }

  up(_e: ToolPointer, ctx: ToolContext): void {
    if (this.state === 'idle') return;
    this.state = 'idle';
    this.hit = null;
    ctx.commit();
  }

  cancel(ctx: ToolContext): void {
    if (this.state === 'idle') return;
    this.state = 'idle';
    this.hit = null;
    ctx.bail();
  }

  private poseLayer(ctx: ToolContext, quiet = false): HintLayer | null {
    const layer = ctx.active;
    if (layer?.type === 'hint' && layer.hint === 'pose') {
      if (layer.locked) {
        if (!quiet) ctx.say(`${layer.name} is locked`);
        return null;
      }
      return layer;
    }
    if (!quiet) ctx.say('Select a pose layer to edit skeletons');
    return null;
  }
}

function clamp(v: number, max: number): number {
  return Math.min(max, Math.max(0, v));
}
