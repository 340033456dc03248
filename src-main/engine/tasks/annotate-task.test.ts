// The 'annotate' engine task as main calls it: a payload with model paths and a picture (PNG or RGBA), an
// answer with a grey PNG or people at the hint size, progress, cancel, and named errors for bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodePng, encodePng } from '../../formats/png.ts';
import type { AnnotatePayload, AnnotateTaskResult } from './annotate-payload.ts';
import { fakeDepthModel, fakeDetectorModel, fakeLineartModel, fakePoseModel, writeModel } from '../annotators/synthetic-annotators.test-support.ts';
import { errorInfoOf, type TaskContext, type TaskProgress } from '../protocol.ts';
import { annotateTask, releaseAnnotatorSessions } from './annotate-task.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-annotate-task-'));
test.after(async () => {
  await releaseAnnotatorSessions();
  fs.rmSync(dir, { recursive: true, force: true });
});

const depthFile = writeModel(path.join(dir, 'depth.onnx'), fakeDepthModel({ width: 42, height: 28 }));
const lineartFile = writeModel(path.join(dir, 'lineart.onnx'), fakeLineartModel({ width: 4, height: 2 }, 'sigmoid'));

function context(signal = new AbortController().signal): TaskContext & { steps: TaskProgress[] } {
  const steps: TaskProgress[] = [];
  return { jobId: 'job-1', signal, provider: 'cpu', resourcesDir: dir, dataDir: dir, progress: (p) => steps.push(p), steps };
}

/** The 42 x 28 R ramp of the depth tests, as a PNG. */
function rampPng(): Uint8Array {
  const data = new Uint8Array(42 * 28 * 3);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 42; x++) data.set([6 * x, 255 - 6 * x, 128], (y * 42 + x) * 3);
  return encodePng({ width: 42, height: 28, channels: 3, data });
}

async function errorOf(run: Promise<unknown>, signal?: AbortSignal) {
  try {
    await run;
  } catch (err) {
    return errorInfoOf(err, signal);
  }
  assert.fail('expected the task to fail');
}

test('depth from a PNG: a grey PNG hint at the picture size, with progress', async () => {
  const ctx = context();
  const payload: AnnotatePayload = { tool: 'depth', models: [{ layout: 'depth-anything', path: depthFile }], picture: { kind: 'png', bytes: rampPng() }, size: null };
  const result = (await annotateTask(payload, ctx)) as AnnotateTaskResult;
  assert.deepEqual([result.tool, result.hint, result.width, result.height, result.people], ['depth', 'depth', 42, 28, null]);
  const png = decodePng(result.png!);
  assert.deepEqual([png.width, png.height, png.channels], [42, 28, 1]);
  for (let x = 0; x < 42; x++) assert.equal(png.data[5 * 42 + x], Math.round((255 * x) / 41));
  assert.deepEqual(
    ctx.steps.map((s) => s.message),
    ['Reading the picture', 'Loading the annotator', 'Running depth.onnx', 'Making the hint'],
  );
  // the session is kept: a second job on the same file reuses it and answers the same
  const again = (await annotateTask(payload, context())) as AnnotateTaskResult;
  assert.deepEqual(again.png, result.png);
});

test('lineart from RGBA pixels: transparent pixels count as white, as ControlNet composites them', async () => {
  // 4 x 2: opaque black, transparent black, opaque white, half-transparent black; a white row below
  const rgba = Uint8Array.from([0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, ...new Array(16).fill(255)]);
  const payload: AnnotatePayload = { tool: 'lineart', models: [{ layout: 'lineart', path: lineartFile }], picture: { kind: 'rgba', bytes: rgba, width: 4, height: 2 }, size: null };
  const result = (await annotateTask(payload, context())) as AnnotateTaskResult;
  const grey = decodePng(result.png!).data;
  // black: 255 - floor(sigmoid(-5) * 255) = 254; white: 255 - floor(sigmoid(5) * 255) = 2;
  // half-transparent black over white is 127 grey: sigmoid(10 * (127/255 - 0.5)) * 255 = 126.25 -> 126 -> 129
  assert.deepEqual([...grey.subarray(0, 4)], [254, 2, 2, 129]);
});

test('DWPose: people in hint pixels when the hint is larger than the picture', async () => {
  const detector = writeModel(path.join(dir, 'yolox.onnx'), fakeDetectorModel({ cx: 320, cy: 640 / 3, w: 160, h: 320, score: 0.9 }));
  const pose = writeModel(path.join(dir, 'dw.onnx'), fakePoseModel({ width: 192, height: 256 }, [{ index: 0, x: 96, y: 40, score: 0.9 }]));
  const data = new Uint8Array(480 * 320 * 3).fill(90);
  const payload: AnnotatePayload = {
    tool: 'dwpose',
    models: [
      { layout: 'dwpose-pose', path: pose },
      { layout: 'dwpose-detector', path: detector },
    ],
    picture: { kind: 'png', bytes: encodePng({ width: 480, height: 320, channels: 3, data }) },
    size: { width: 960, height: 640 },
  };
  const result = (await annotateTask(payload, context())) as AnnotateTaskResult;
  assert.deepEqual([result.hint, result.png, result.people?.length], ['pose', null, 1]);
  const nose = result.people![0].keypoints[0];
  // picture (127.5 + 96 * 225/192, 10 + 40 * 300/256) = (240, 56.875), doubled
  assert.ok(Math.abs(nose.x - 480) < 0.02 && Math.abs(nose.y - 113.75) < 0.02, `${nose.x}, ${nose.y}`);
});

test('a cancel stops the job at the next step, as kind cancelled', async () => {
  const abort = new AbortController();
  const ctx = context(abort.signal);
  ctx.progress = (p) => {
    if (p.message === 'Loading the annotator') abort.abort(new Error('cancelled by the test'));
  };
  const payload: AnnotatePayload = { tool: 'depth', models: [{ layout: 'depth-anything', path: depthFile }], picture: { kind: 'png', bytes: rampPng() }, size: null };
  assert.equal((await errorOf(annotateTask(payload, ctx), abort.signal)).kind, 'cancelled');
});

test('bad payloads, files that are not the model main said, and broken files fail with their kind', async () => {
  const png = { kind: 'png' as const, bytes: rampPng() };
  const depth = (file: string): AnnotatePayload => ({ tool: 'depth', models: [{ layout: 'depth-anything', path: file }], picture: png, size: null });
  assert.deepEqual(await errorOf(annotateTask({ tool: 'depth', models: [], picture: png }, context())), {
    kind: 'bad-request',
    message: 'annotate: depth needs 1 model(s)',
  });
  const wrong = await errorOf(annotateTask(depth(lineartFile), context()));
  assert.equal(wrong.kind, 'wrong-model');
  assert.match(wrong.message, /lineart\.onnx: expected a depth-anything model, but the file is a lineart model/);
  const broken = path.join(dir, 'broken.onnx');
  fs.writeFileSync(broken, Buffer.from('not protobuf at all'));
  const corrupt = await errorOf(annotateTask(depth(broken), context()));
  assert.equal(corrupt.kind, 'corrupt');
  assert.match(corrupt.message, /broken\.onnx: not a valid ONNX file/);
  const notPng = await errorOf(annotateTask({ ...depth(depthFile), picture: { kind: 'png', bytes: Uint8Array.of(1, 2, 3) } }, context()));
  assert.equal(notPng.kind, 'bad-png');
});
