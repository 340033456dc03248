// Main's side of the annotators: which library models can run each tool ('annotators.list'), the engine job
// that runs one ('annotate.start'), and its result as the contract's AnnotateResult ('annotate.result').
// bootstrap.ts calls these; the work itself happens in the engine's 'annotate' task.

import path from 'node:path';
import type {
  AnnotateInput,
  AnnotateResult,
  AnnotatorLayout,
  AnnotatorStatus,
  JobInfo,
  LibraryItem,
} from '../common/contract.ts';
import { ANNOTATOR_TOOLS } from '../common/contract.ts';
import { ANNOTATOR_MODELS, ANNOTATOR_TOOLS_GUIDE, missingModelsText } from '../common/annotator-guide.ts';
import type { AnnotatePayload, AnnotateTaskResult } from '../engine/tasks/annotate-payload.ts';

/** An Error with the contract's `kind`. */
function kindError(kind: string, message: string): Error & { kind: string } {
  return Object.assign(new Error(message), { kind });
}

/** Usable annotator models of one layout, by name (the default first). */
function modelsOf(items: readonly LibraryItem[], layout: AnnotatorLayout): LibraryItem[] {
  return items
    .filter((i) => i.kind === 'annotator' && i.layout === layout && !i.problem)
    .sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
}

export function annotatorStatuses(items: readonly LibraryItem[]): AnnotatorStatus[] {
  return ANNOTATOR_TOOLS.map((tool) => {
    const roles = ANNOTATOR_TOOLS_GUIDE[tool].needs.map((layout) => ({
      layout,
      models: modelsOf(items, layout).map((m) => ({ id: m.id, name: m.name })),
    }));
    return { tool, roles, ready: roles.every((r) => r.models.length > 0) };
  });
}

export interface AnnotateJobPlan {
  title: string;
  payload: AnnotatePayload;
}

/** The engine job for one request: picks the models (asked for, else the defaults) and decodes the picture. */
export function planAnnotateJob(input: AnnotateInput, items: readonly LibraryItem[]): AnnotateJobPlan {
  const guide = ANNOTATOR_TOOLS_GUIDE[input.tool];
  const chosen = new Map<AnnotatorLayout, LibraryItem>();
  for (const id of input.modelIds ?? []) {
    const item = items.find((i) => i.id === id);
    if (!item) throw kindError('not-found', `There is no model ${id} in the library.`);
    const layout = item.layout as AnnotatorLayout;
    if (item.kind !== 'annotator' || !guide.needs.includes(layout)) {
      const wanted = guide.needs.map((l) => ANNOTATOR_MODELS[l].label).join(' or ');
      throw kindError('wrong-model', `${item.name} is not a ${wanted}, so it cannot run ${guide.title}.`);
    }
    if (item.problem) throw kindError('unusable-model', `${item.name} cannot be used: ${item.problem}`);
    if (chosen.has(layout)) throw kindError('bad-request', `Two ${ANNOTATOR_MODELS[layout].label}s were given for ${guide.title}.`);
    chosen.set(layout, item);
  }
  for (const layout of guide.needs) {
    if (!chosen.has(layout)) {
      const fallback = modelsOf(items, layout)[0];
      if (fallback) chosen.set(layout, fallback);
    }
  }
  if (chosen.size < guide.needs.length) {
    throw kindError('model-missing', `${guide.title} needs more models. ${missingModelsText(input.tool, new Set(chosen.keys()))}`);
  }
  const picture: AnnotatePayload['picture'] = input.imagePngBase64
    ? { kind: 'png', bytes: new Uint8Array(Buffer.from(input.imagePngBase64, 'base64')) }
    : {
        kind: 'rgba',
        bytes: new Uint8Array(Buffer.from(input.rgbaBase64 ?? '', 'base64')),
        width: input.imageWidth ?? 0,
        height: input.imageHeight ?? 0,
      };
  const models = guide.needs.map((layout) => ({ layout, path: chosen.get(layout)!.path }));
  const names = guide.needs.map((l) => path.basename(chosen.get(l)!.path));
  return {
    title: `${guide.title}: ${names.join(' + ')}`,
    payload: {
      tool: input.tool,
      models,
      picture,
      size: input.width && input.height ? { width: input.width, height: input.height } : null,
    },
  };
}

/** What main's job queue offers this module. */
export interface AnnotateJobs {
  get(id: string): JobInfo | undefined;
  wait(id: string): Promise<{ job: JobInfo; result: unknown }>;
}

/** Waits for annotate job `jobId`; its hint, or its failure as an error with the job's kind. */
export async function annotateResult(jobs: AnnotateJobs, jobId: string): Promise<AnnotateResult> {
  const job = jobs.get(jobId);
  if (!job || job.kind !== 'annotate') throw kindError('not-found', `There is no annotate job ${jobId}.`);
  const { job: done, result } = await jobs.wait(jobId);
  if (done.state === 'cancelled') throw kindError('cancelled', 'The annotator was cancelled.');
  if (done.state !== 'done') throw kindError(done.error?.kind ?? 'engine-error', done.error?.message ?? 'The annotator failed.');
  const r = result as AnnotateTaskResult | undefined;
  if (!r || typeof r !== 'object') {
    throw kindError('not-found', 'The hint of this annotate job is no longer kept (Hintbrush restarted since); run the annotator again.');
  }
  return {
    tool: r.tool,
    hint: r.hint,
    width: r.width,
    height: r.height,
    pngBase64: r.png ? Buffer.from(r.png).toString('base64') : null,
    people: r.people,
  };
}
