// Runs one annotator tool on a picture and shapes its answer as the 'annotate' task's result: a grey PNG
// hint (depth, lineart, soft edge) or editable people (pose), both at the hint's size. Progress is reported
// between steps and `report` may throw to cancel (the engine task passes one that checks its AbortSignal);
// a model run itself cannot be interrupted.

import type { AnnotatedPerson, AnnotatorLayout, AnnotatorTool } from '../../common/contract.ts';
import { ANNOTATOR_TOOLS_GUIDE } from '../../common/annotator-guide.ts';
import { encodePng } from '../../formats/png.ts';
import { annotateDepth } from './depth.ts';
import { annotateDwpose } from './dwpose.ts';
import type { RgbImage } from './image.ts';
import { annotateHed, annotateLineart } from './lines.ts';
import { AnnotatorError, type AnnotatorModel } from './model.ts';
import { annotateOpenpose } from './openpose.ts';
import type { AnnotateTaskResult } from '../tasks/annotate-payload.ts';

export type AnnotatorModels = Partial<Record<AnnotatorLayout, AnnotatorModel>>;
export type Report = (step: number, total: number, message: string) => void;

function need(models: AnnotatorModels, layout: AnnotatorLayout): AnnotatorModel {
  const model = models[layout];
  if (!model) throw new AnnotatorError('wrong-model', `a ${layout} model is needed`);
  return model;
}

/** People in picture pixels -> hint pixels. */
function scalePeople(people: AnnotatedPerson[], picture: RgbImage, size: { width: number; height: number }): AnnotatedPerson[] {
  const sx = size.width / picture.width;
  const sy = size.height / picture.height;
  return people.map((p) => ({ ...p, keypoints: p.keypoints.map((k) => ({ ...k, x: k.x * sx, y: k.y * sy })) }));
}

export async function runAnnotator(
  tool: AnnotatorTool,
  models: AnnotatorModels,
  picture: RgbImage,
  size: { width: number; height: number },
  report: Report = () => {},
): Promise<AnnotateTaskResult> {
  const guide = ANNOTATOR_TOOLS_GUIDE[tool];
  const result = (png: Uint8Array | null, people: AnnotatedPerson[] | null): AnnotateTaskResult => ({
    tool,
    hint: guide.hint,
    width: size.width,
    height: size.height,
    png,
    people,
  });
  const grey = (data: Uint8Array) => new Uint8Array(encodePng({ width: size.width, height: size.height, channels: 1, data }));

  if (tool === 'dwpose') {
    const detector = need(models, 'dwpose-detector');
    const pose = need(models, 'dwpose-pose');
    report(1, 3, `Finding people (${detector.name})`);
    const people = await annotateDwpose(detector, pose, picture, (done, total) =>
      report(2 + done, 2 + total, `Placing the joints of person ${done + 1} of ${total} (${pose.name})`),
    );
    return result(null, scalePeople(people, picture, size));
  }
  if (tool === 'openpose') {
    const model = need(models, 'openpose-body');
    report(1, 3, `Running ${model.name}`);
    const people = await annotateOpenpose(model, picture, (message) => report(2, 3, message));
    return result(null, scalePeople(people, picture, size));
  }
  const model = need(models, guide.needs[0]);
  report(1, 2, `Running ${model.name}`);
  const run = tool === 'depth' ? annotateDepth : tool === 'lineart' ? annotateLineart : annotateHed;
  const data = await run(model, picture, size);
  report(2, 2, 'Making the hint');
  return result(grey(data), null);
}
