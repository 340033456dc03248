// Checks a DocumentRecord that crossed a process boundary or came out of the database, bounding every field,
// and returns a clean copy holding only the fields the model defines (unknown ones are dropped). Used by the
// `documents.save` validator in main and by the renderer when it opens a record. Pure module; the field checks
// are field-validators.ts'.
import type { ControlBinding, DocumentRecord, GenerationSettings, HintKind, Layer, PoseKeypoint, PosePerson } from './document/model.ts';
import { ContractError } from './errors.ts';
import { bool, idText, int, list, nullableRowId, num, object, rowId, text } from './field-validators.ts';
import { MAX_FEATHER } from './regions-contract.ts';

export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;
export const MAX_LAYERS = 64;
export const MAX_PEOPLE = 32;
export const MAX_LORAS = 32;
export const MAX_PROMPT_CHARS = 20_000;

const HINT_KINDS: readonly HintKind[] = ['scribble', 'lineart', 'softedge', 'canny', 'depth', 'pose', 'segmentation', 'normal', 'condition'];
const FAMILIES: readonly ControlBinding['family'][] = ['controlnet', 'ctrlora', 'cnxs'];

const fail = (where: string, problem: string): never => {
  throw new ContractError(`${where} ${problem}`);
};

/** Text of `min` to `max` characters without NUL. */
function textOf(v: unknown, where: string, max: number, min = 0): string {
  const t = text(v, where, max);
  if (t.length < min) fail(where, `must be text of ${min} to ${max} characters`);
  return t;
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
  return { id: idText(p.id, `${where}.id`), keypoints: keypoints.map((k, i) => keypoint(k, `${where}.keypoints[${i}]`, w, h)) };
}

function layer(v: unknown, where: string, w: number, h: number): Layer {
  const l = object(v, where);
  const common = {
    id: idText(l.id, `${where}.id`),
    name: text(l.name, `${where}.name`, 200),
    visible: bool(l.visible, `${where}.visible`),
    opacity: num(l.opacity, `${where}.opacity`, 0, 1),
    locked: bool(l.locked, `${where}.locked`),
  };
  const rasterId = idText(l.rasterId, `${where}.rasterId`);
  switch (l.type) {
    case 'image':
      return { ...common, type: 'image', rasterId, historyId: nullableRowId(l.historyId, `${where}.historyId`) };
    case 'mask':
      return { ...common, type: 'mask', rasterId };
    case 'region':
      return {
        ...common,
        type: 'region',
        rasterId,
        prompt: text(l.prompt, `${where}.prompt`, MAX_PROMPT_CHARS),
        appendMain: bool(l.appendMain, `${where}.appendMain`),
        feather: num(l.feather, `${where}.feather`, 0, MAX_FEATHER),
        enabled: bool(l.enabled, `${where}.enabled`),
      };
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
          sourceLayerId: k.sourceLayerId === null ? null : idText(k.sourceLayerId, `${where}.canny.sourceLayerId`),
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
          modelId: nullableRowId(c.modelId, `${where}.control.modelId`),
          baseId: nullableRowId(c.baseId, `${where}.control.baseId`),
        },
        weight: num(l.weight, `${where}.weight`, 0, 2),
        start,
        end,
        enabled: bool(l.enabled, `${where}.enabled`),
        rasterId,
        people: list(l.people, `${where}.people`, MAX_PEOPLE).map((p, i) => person(p, `${where}.people[${i}]`, w, h)),
        canny,
        // absent in documents saved before hints could be tied to a region: the whole picture
        regionLayerId: l.regionLayerId === undefined || l.regionLayerId === null ? null : idText(l.regionLayerId, `${where}.regionLayerId`),
      };
    }
    default:
      return fail(`${where}.type`, 'must be image, hint, mask or region');
  }
}

function settings(v: unknown, where: string): GenerationSettings {
  const s = object(v, where);
  return {
    checkpointId: nullableRowId(s.checkpointId, `${where}.checkpointId`),
    prompt: text(s.prompt, `${where}.prompt`, MAX_PROMPT_CHARS),
    negative: text(s.negative, `${where}.negative`, MAX_PROMPT_CHARS),
    sampler: textOf(s.sampler, `${where}.sampler`, 40, 1),
    steps: int(s.steps, `${where}.steps`, 1, 150),
    cfg: num(s.cfg, `${where}.cfg`, 0, 30),
    seed: int(s.seed, `${where}.seed`, -1, 2 ** 32 - 1),
    seedLocked: bool(s.seedLocked, `${where}.seedLocked`),
    batchSize: int(s.batchSize, `${where}.batchSize`, 1, 8),
    batchCount: int(s.batchCount, `${where}.batchCount`, 1, 100),
    loras: list(s.loras, `${where}.loras`, MAX_LORAS).map((x, i) => {
      const lora = object(x, `${where}.loras[${i}]`);
      return {
        modelId: rowId(lora.modelId, `${where}.loras[${i}].modelId`),
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
  const active = r.activeLayerId === null ? null : idText(r.activeLayerId, `${where}.activeLayerId`);
  return {
    id: idText(r.id, `${where}.id`),
    name: text(r.name, `${where}.name`, 200),
    width,
    height,
    layers,
    activeLayerId: active !== null && ids.has(active) ? active : null,
    settings: settings(r.settings, `${where}.settings`),
    updatedAt: text(r.updatedAt, `${where}.updatedAt`, 40),
  };
}
