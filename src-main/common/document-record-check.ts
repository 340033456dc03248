// Checks a DocumentRecord that crossed a process boundary or came out of the database, bounding every field,
// and returns a clean copy holding only the fields the model defines (unknown ones are dropped). Used by the
// `documents.save` validator in main and by the renderer when it opens a record. Pure module.
//
// The model itself lives with the renderer that edits it (src-renderer/src/document/model.ts, pure too).
import type {
  ControlBinding,
  DocumentRecord,
  GenerationSettings,
  HintKind,
  Layer,
  PoseKeypoint,
  PosePerson,
} from './document/model.ts';
import { ContractError } from './contract.ts';

export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;
export const MAX_LAYERS = 64;
export const MAX_PEOPLE = 32;
export const MAX_LORAS = 32;
export const MAX_PROMPT_CHARS = 20_000;
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const HINT_KINDS: readonly HintKind[] = ['scribble', 'lineart', 'softedge', 'canny', 'depth', 'pose', 'segmentation', 'normal', 'condition'];
const FAMILIES: readonly ControlBinding['family'][] = ['controlnet', 'ctrlora', 'cnxs'];

const fail = (where: string, problem: string): never => {
  throw new ContractError(`${where} ${problem}`);
};

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  return v as Record<string, unknown>;
}

function list(v: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) fail(where, `must be a list of at most ${max} items`);
  return v as unknown[];
}

export function checkId(v: unknown, where: string): string {
  if (typeof v !== 'string' || !ID_PATTERN.test(v)) fail(where, 'must be an id of 1 to 64 letters, digits, _ or -');
  return v as string;
}

function text(v: unknown, where: string, max: number, min = 0): string {
  if (typeof v !== 'string' || v.length < min || v.length > max || v.includes('\0')) {
    fail(where, `must be a string of ${min} to ${max} characters`);
  }
  return v as string;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'must be true or false');
  return v as boolean;
}

function num(v: unknown, where: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) fail(where, `must be a number in ${lo}..${hi}`);
  return v as number;
}

function int(v: unknown, where: string, lo: number, hi: number): number {
  if (!Number.isSafeInteger(v)) fail(where, 'must be an integer');
  return num(v, where, lo, hi);
}

function nullableId(v: unknown, where: string): number | null {
  return v === null ? null : int(v, where, 0, Number.MAX_SAFE_INTEGER);
}

/** A canvas side: a multiple of 8 in 64..2048. */
export function checkSide(v: unknown, where: string): number {
  const side = int(v, where, MIN_SIDE, MAX_SIDE);
  if (side % 8 !== 0) fail(where, 'must be a multiple of 8');
  return side;
}

function keypoint(v: unknown, where: string, w: number, h: number): PoseKeypoint {
  const k = object(v, where);
  // Joints may be dragged past the edge; far outside the canvas is a bug.
  return { x: num(k.x, `${where}.x`, -4 * w, 5 * w), y: num(k.y, `${where}.y`, -4 * h, 5 * h), visible: bool(k.visible, `${where}.visible`) };
}

function person(v: unknown, where: string, w: number, h: number): PosePerson {
  const p = object(v, where);
  const keypoints = list(p.keypoints, `${where}.keypoints`, 18);
  if (keypoints.length !== 18) fail(`${where}.keypoints`, 'must hold the 18 OpenPose keypoints');
  return { id: checkId(p.id, `${where}.id`), keypoints: keypoints.map((k, i) => keypoint(k, `${where}.keypoints[${i}]`, w, h)) };
}

function layer(v: unknown, where: string, w: number, h: number): Layer {
  const l = object(v, where);
  const common = {
    id: checkId(l.id, `${where}.id`),
    name: text(l.name, `${where}.name`, 200),
    visible: bool(l.visible, `${where}.visible`),
    opacity: num(l.opacity, `${where}.opacity`, 0, 1),
    locked: bool(l.locked, `${where}.locked`),
  };
  const rasterId = checkId(l.rasterId, `${where}.rasterId`);
  switch (l.type) {
    case 'image':
      return { ...common, type: 'image', rasterId, historyId: nullableId(l.historyId, `${where}.historyId`) };
    case 'mask':
      return { ...common, type: 'mask', rasterId };
    case 'hint': {
      if (!HINT_KINDS.includes(l.hint as HintKind)) fail(`${where}.hint`, `must be one of ${HINT_KINDS.join(', ')}`);
      const c = object(l.control, `${where}.control`);
      if (!FAMILIES.includes(c.family as ControlBinding['family'])) fail(`${where}.control.family`, `must be one of ${FAMILIES.join(', ')}`);
      const start = num(l.start, `${where}.start`, 0, 1);
      const end = num(l.end, `${where}.end`, 0, 1);
      if (start > end) fail(`${where}.start`, 'must not be after end');
      let canny: { sourceLayerId: string | null; low: number; high: number } | null = null;
      if (l.canny !== null) {
        const k = object(l.canny, `${where}.canny`);
        canny = {
          sourceLayerId: k.sourceLayerId === null ? null : checkId(k.sourceLayerId, `${where}.canny.sourceLayerId`),
          low: num(k.low, `${where}.canny.low`, 0, 1000),
          high: num(k.high, `${where}.canny.high`, 0, 1000),
        };
      }
      return {
        ...common,
        type: 'hint',
        hint: l.hint as HintKind,
        control: {
          family: c.family as ControlBinding['family'],
          modelId: nullableId(c.modelId, `${where}.control.modelId`),
          baseId: nullableId(c.baseId, `${where}.control.baseId`),
        },
        weight: num(l.weight, `${where}.weight`, 0, 2),
        start,
        end,
        enabled: bool(l.enabled, `${where}.enabled`),
        rasterId,
        people: list(l.people, `${where}.people`, MAX_PEOPLE).map((p, i) => person(p, `${where}.people[${i}]`, w, h)),
        canny,
      };
    }
    default:
      return fail(`${where}.type`, 'must be image, hint or mask');
  }
}

function settings(v: unknown, where: string): GenerationSettings {
  const s = object(v, where);
  return {
    checkpointId: nullableId(s.checkpointId, `${where}.checkpointId`),
    prompt: text(s.prompt, `${where}.prompt`, MAX_PROMPT_CHARS),
    negative: text(s.negative, `${where}.negative`, MAX_PROMPT_CHARS),
    sampler: text(s.sampler, `${where}.sampler`, 40, 1),
    steps: int(s.steps, `${where}.steps`, 1, 150),
    cfg: num(s.cfg, `${where}.cfg`, 0, 30),
    seed: int(s.seed, `${where}.seed`, -1, 2 ** 32 - 1),
    seedLocked: bool(s.seedLocked, `${where}.seedLocked`),
    batchSize: int(s.batchSize, `${where}.batchSize`, 1, 8),
    batchCount: int(s.batchCount, `${where}.batchCount`, 1, 100),
    loras: list(s.loras, `${where}.loras`, MAX_LORAS).map((x, i) => {
      const lora = object(x, `${where}.loras[${i}]`);
      return {
        modelId: int(lora.modelId, `${where}.loras[${i}].modelId`, 0, Number.MAX_SAFE_INTEGER),
        weight: num(lora.weight, `${where}.loras[${i}].weight`, -2, 2),
      };
    }),
  };
}

/** A clean, bounded copy of `value` as a DocumentRecord; throws ContractError naming the first bad field. */
export function checkDocumentRecord(value: unknown, where = 'record'): DocumentRecord {
  const r = object(value, where);
  const width = checkSide(r.width, `${where}.width`);
  const height = checkSide(r.height, `${where}.height`);
  const layers = list(r.layers, `${where}.layers`, MAX_LAYERS).map((l, i) => layer(l, `${where}.layers[${i}]`, width, height));
  const ids = new Set(layers.map((l) => l.id));
  if (ids.size !== layers.length) fail(`${where}.layers`, 'must not repeat a layer id');
  if (new Set(layers.map((l) => l.rasterId)).size !== layers.length) fail(`${where}.layers`, 'must not share a raster');
  const active = r.activeLayerId === null ? null : checkId(r.activeLayerId, `${where}.activeLayerId`);
  return {
    id: checkId(r.id, `${where}.id`),
    name: text(r.name, `${where}.name`, 200),
    width,
    height,
    layers,
    activeLayerId: active !== null && ids.has(active) ? active : null,
    settings: settings(r.settings, `${where}.settings`),
    updatedAt: text(r.updatedAt, `${where}.updatedAt`, 40),
  };
}
