// The engine's 'annotate' task: turns a picture into a hint with the annotator models the user added to the
// library (the annotator code is in engine/annotators/). Each model file's signature is read again and checked against the role main
// says it plays before a session is made from it; sessions of the last models used are kept for the next job
// (an artist often annotates several pictures in a row) and released when other models are asked for.
// Progress is reported between steps; a cancel stops at the next one.

import fs from 'node:fs';
import path from 'node:path';
import { rgbFromPng, rgbFromRgba, type RgbImage } from '../annotators/image.ts';
import { checkAnnotator } from '../annotators/model.ts';
import { readOnnxSignature } from '../../formats/onnx-reader.ts';
import { checkAnnotatePayload, type AnnotateTaskResult } from './annotate-payload.ts';
import { runAnnotator, type AnnotatorModels } from '../annotators/run.ts';
import type { TaskContext, TaskHandler } from '../protocol.ts';
import { ModelSession, type ProviderName } from '../runtime/session.ts';

/** Largest picture the task decodes (a 8192 x 8192 PNG would need 200 MB as RGB). */
const MAX_PICTURE_PIXELS = 4096 * 4096;

interface KeptSession {
  /** Path, size, mtime and provider: a changed file or provider gets a fresh session. */
  key: string;
  session: Promise<ModelSession>;
}

let kept: KeptSession[] = [];

function fileKey(file: string, provider: string): string {
  const stat = fs.statSync(file);
  return `${file}|${stat.size}|${stat.mtimeMs}|${provider}`;
}

/** Sessions for `files` (in order), reusing kept ones; kept sessions of other files are released. */
async function sessionsFor(files: string[], provider: string): Promise<ModelSession[]> {
  const providers: ProviderName[] = provider === 'cpu' ? ['cpu'] : [provider as ProviderName, 'cpu'];
  const wanted = files.map((f) => fileKey(f, provider));
  const stale = kept.filter((k) => !wanted.includes(k.key));
  kept = kept.filter((k) => wanted.includes(k.key));
  for (const s of stale) await s.session.then((x) => x.release()).catch(() => undefined);
  return Promise.all(
    files.map((file, i) => {
      let entry = kept.find((k) => k.key === wanted[i]);
      if (!entry) {
        entry = { key: wanted[i], session: ModelSession.fromFile(file, { providers }) };
        const made = entry;
        made.session.catch(() => (kept = kept.filter((k) => k !== made)));
        kept.push(made);
      }
      return entry.session;
    }),
  );
}

/** Releases every kept session (tests; an engine about to exit). */
export async function releaseAnnotatorSessions(): Promise<void> {
  const all = kept;
  kept = [];
  for (const s of all) await s.session.then((x) => x.release()).catch(() => undefined);
}

function decodePicture(picture: ReturnType<typeof checkAnnotatePayload>['picture']): RgbImage {
  if (picture.kind === 'png') return rgbFromPng(picture.bytes, MAX_PICTURE_PIXELS);
  return rgbFromRgba(picture.bytes, picture.width, picture.height);
}

export const annotateTask: TaskHandler = async (payload: unknown, ctx: TaskContext): Promise<AnnotateTaskResult> => {
  const request = checkAnnotatePayload(payload);
  const step = (n: number, total: number, message: string) => {
    ctx.signal.throwIfAborted();
    ctx.progress({ step: n, total, message });
  };
  step(0, 1, 'Reading the picture');
  const picture = decodePicture(request.picture);
  const size = request.size ?? { width: picture.width, height: picture.height };

  step(0, 1, 'Loading the annotator');
  // Every file is what main says it is before any session is made from it.
  const checked = request.models.map((m) => {
    const name = path.basename(m.path);
    const sig = readOnnxSignature(m.path);
    return { ...m, name, sig, info: checkAnnotator(name, sig, m.layout) };
  });
  const sessions = await sessionsFor(checked.map((m) => m.path), ctx.provider);
  const models: AnnotatorModels = {};
  checked.forEach((m, i) => (models[m.layout] = { name: m.name, sig: m.sig, info: m.info, runner: sessions[i] }));
  ctx.signal.throwIfAborted();

  const result = await runAnnotator(request.tool, models, picture, size, step);
  ctx.signal.throwIfAborted();
  return result;
};
