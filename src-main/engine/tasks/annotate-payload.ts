// The 'annotate' engine task's payload and result, as main sends and receives them (structured-cloned, so the
// picture and the PNG travel as bytes). Each side checks what it receives: the engine re-checks the payload
// here before opening any file.

import type { AnnotatedPerson, AnnotateResult, AnnotatorLayout, AnnotatorTool } from '../../common/contract.ts';
import { ANNOTATOR_TOOLS } from '../../common/contract.ts';
import { ANNOTATOR_TOOLS_GUIDE } from '../../common/annotator-guide.ts';

export type AnnotatePicture =
  | { kind: 'png'; bytes: Uint8Array }
  | { kind: 'rgba'; bytes: Uint8Array; width: number; height: number };

export interface AnnotatePayload {
  tool: AnnotatorTool;
  /** One model per role of the tool (ANNOTATOR_TOOLS_GUIDE[tool].needs), absolute paths from the library. */
  models: { layout: AnnotatorLayout; path: string }[];
  picture: AnnotatePicture;
  /** Size of the hint to return; the picture's size when null. */
  size: { width: number; height: number } | null;
}

export interface AnnotateTaskResult {
  tool: AnnotatorTool;
  hint: AnnotateResult['hint'];
  width: number;
  height: number;
  /** 8-bit grey PNG bytes (depth, lineart, softedge). */
  png: Uint8Array | null;
  people: AnnotatedPerson[] | null;
}

export class AnnotatePayloadError extends Error {
  readonly kind = 'bad-request';
}

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 8192;

/** Checks a payload received by the engine; throws AnnotatePayloadError naming the problem. */
export function checkAnnotatePayload(value: unknown): AnnotatePayload {
  const fail = (problem: string): never => {
    throw new AnnotatePayloadError(`annotate: ${problem}`);
  };
  if (typeof value !== 'object' || value === null) fail('the payload must be an object');
  const p = value as Record<string, unknown>;
  if (typeof p.tool !== 'string' || !(ANNOTATOR_TOOLS as readonly string[]).includes(p.tool)) fail('unknown tool');
  const tool = p.tool as AnnotatorTool;
  const needs = ANNOTATOR_TOOLS_GUIDE[tool].needs;
  if (!Array.isArray(p.models) || p.models.length !== needs.length) fail(`${tool} needs ${needs.length} model(s)`);
  const models = (p.models as unknown[]).map((m) => {
    const r = (m ?? {}) as Record<string, unknown>;
    if (typeof r.path !== 'string' || r.path.length === 0 || r.path.length > 4096 || r.path.includes('\0')) fail('a model path is missing');
    if (typeof r.layout !== 'string' || !(needs as string[]).includes(r.layout)) fail(`a model of layout ${String(r.layout)} cannot run ${tool}`);
    return { layout: r.layout as AnnotatorLayout, path: r.path as string };
  });
  for (const layout of needs) if (!models.some((m) => m.layout === layout)) fail(`${tool} needs a ${layout} model`);
  const pic = (p.picture ?? {}) as Record<string, unknown>;
  if (!(pic.bytes instanceof Uint8Array) || pic.bytes.length === 0) fail('the picture has no bytes');
  let picture: AnnotatePicture;
  if (pic.kind === 'png') picture = { kind: 'png', bytes: pic.bytes as Uint8Array };
  else if (pic.kind === 'rgba') {
    if (!isSize(pic.width) || !isSize(pic.height)) fail('the picture size is missing');
    if ((pic.bytes as Uint8Array).length !== (pic.width as number) * (pic.height as number) * 4) fail('the RGBA picture does not match its size');
    picture = { kind: 'rgba', bytes: pic.bytes as Uint8Array, width: pic.width as number, height: pic.height as number };
  } else return fail('the picture must be a PNG or RGBA pixels');
  let size: AnnotatePayload['size'] = null;
  if (p.size !== null && p.size !== undefined) {
    const s = p.size as Record<string, unknown>;
    if (!isSize(s.width) || !isSize(s.height)) fail('the hint size must be two integers from 1 to 8192');
    size = { width: s.width as number, height: s.height as number };
  }
  return { tool, models, picture, size };
}
