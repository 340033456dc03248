// Condition pictures made from a dataset's targets, for a new CtrLoRA condition the artist has no pairs for:
// canny edges in TypeScript (the studio's own canny, cv2.Canny's arithmetic), or depth and pose through the
// annotator models of the library (one engine 'annotate' job per picture, queued like any other). Each is a PNG
// written into the dataset's data folder; the item then names it as `generated:<file>`.

import fs from 'node:fs';
import path from 'node:path';
import type { LibraryItem } from '../common/contract.ts';
import { canny } from '../common/hints/canny.ts';
import { renderPose } from '../common/hints/pose.ts';
import { encodePng, readPngInfo } from '../formats/png.ts';
import { decodePngWithin } from '../formats/png-scaled.ts';
import { toRgb } from '../generation/image-resize.ts';
import { planAnnotateJob } from '../app/annotate-service.ts';
import type { AnnotateTaskResult } from '../engine/tasks/annotate-payload.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { kindError } from '../common/errors.ts';

export const GENERATED_PREFIX = 'generated:';

/**
 * The size conditions are made at: training fits pictures to buckets of at most 1024 pixels a side, so edges or
 * depth found on a larger picture would be averaged away; a picture larger than this is shrunk while decoding
 * (decodePngWithin), which keeps an 8192x8192 picture from costing main (or the engine) gigabytes.
 */
const CONDITION_COVER = 1024;

/** Edges of a picture as ControlNet's canny annotator makes them: white on black, grey PNG. */
export async function cannyConditionPng(pictureFile: string, low = 100, high = 200): Promise<Buffer> {
  const bytes = await fs.promises.readFile(pictureFile);
  const rgb = toRgb(await decodePngWithin(bytes, { source: pictureFile, within: { width: CONDITION_COVER, height: CONDITION_COVER } }));
  const edges = canny({ width: rgb.width, height: rgb.height, data: rgb.data }, { low, high });
  return encodePng({ width: edges.width, height: edges.height, channels: 1, data: edges.data });
}

/** Depth or pose of a picture through the library's annotators (an engine job): a PNG of the picture's size, or of its 1024-pixel cover when it is larger. */
export async function annotatedConditionPng(queue: JobQueue, library: readonly LibraryItem[], kind: 'depth' | 'pose', pictureFile: string, signal?: AbortSignal): Promise<Buffer> {
  const bytes = await coverPng(pictureFile);
  const tool = kind === 'depth' ? 'depth' : library.some((i) => i.kind === 'annotator' && i.layout === 'dwpose-pose') ? 'dwpose' : 'openpose';
  const { title, payload } = planAnnotateJob({ tool, imagePngBase64: bytes.toString('base64') }, library);
  const job = queue.enqueueEngine({ kind: 'annotate', title: `${title} (training dataset)`, task: 'annotate', payload });
  const cancel = () => queue.cancel(job.id);
  signal?.addEventListener('abort', cancel, { once: true });
  const { job: done, result } = await queue.wait(job.id).finally(() => signal?.removeEventListener('abort', cancel));
  if (done.state !== 'done') throw kindError(done.error?.kind ?? 'cancelled', done.error?.message ?? `The ${kind} annotator did not finish.`);
  const r = result as AnnotateTaskResult;
  if (r.png) return Buffer.from(r.png);
  const people = (r.people ?? []).map((p, i) => ({ id: String(i), keypoints: p.keypoints.map((k) => ({ x: k.x, y: k.y, visible: k.visible })) }));
  const image = renderPose(people, r.width, r.height);
  return encodePng({ width: image.width, height: image.height, channels: 3, data: image.data });
}

/** The picture's PNG, or, when it is at least twice the condition size, a PNG of it shrunk while decoding. */
async function coverPng(pictureFile: string): Promise<Buffer> {
  const bytes = await fs.promises.readFile(pictureFile);
  const { width, height } = readPngInfo(bytes, { source: pictureFile });
  if (Math.min(width, height) < 2 * CONDITION_COVER) return bytes;
  return encodePng(await decodePngWithin(bytes, { source: pictureFile, within: { width: CONDITION_COVER, height: CONDITION_COVER } }));
}

/** Where a generated condition lives: `<datasetDir>/conditions/<itemId>.png`. */
export function generatedConditionFile(datasetDir: string, itemId: number): { file: string; ref: string } {
  return { file: path.join(datasetDir, 'conditions', `${itemId}.png`), ref: `${GENERATED_PREFIX}conditions/${itemId}.png` };
}

/** The absolute path of an item's condition picture. */
export function conditionPath(datasetFolder: string, datasetDir: string, conditionFile: string): string {
  return conditionFile.startsWith(GENERATED_PREFIX) ? path.join(datasetDir, conditionFile.slice(GENERATED_PREFIX.length)) : path.join(datasetFolder, conditionFile);
}
