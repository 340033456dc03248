// Main's side of the annotators: the contract's input checks, which library models a request runs, and the
// whole path from 'annotate.start' through the engine process to 'annotate.result'.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateRequest, type LibraryItem } from '../common/contract.ts';
import { ANNOTATOR_TOOLS_GUIDE } from '../common/annotator-guide.ts';
import { createServices, type Services } from './bootstrap.ts';
import { toErrorInfo } from '../common/errors.ts';
import { decodePng, encodePng } from '../formats/png.ts';
import { nodeEngineLauncher } from '../jobs/engine-launcher.ts';
import { annotatorStatuses, planAnnotateJob } from './annotate-service.ts';
import { fakeDepthModel, fakeDetectorModel, fakePoseModel, writeModel } from '../engine/annotators/synthetic-annotators.test-support.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function kindOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    return toErrorInfo(err).kind;
  }
  return 'no error';
}

test('annotate.start input: one picture, well-formed base64, sizes that match, nothing else', async () => {
  const png = Buffer.from('png bytes!').toString('base64');
  assert.deepEqual(validateRequest('annotate.start', { tool: 'depth', imagePngBase64: png }), { tool: 'depth', imagePngBase64: png });
  const rgba = Buffer.alloc(8 * 8 * 4).toString('base64');
  assert.deepEqual(validateRequest('annotate.start', { tool: 'dwpose', modelIds: [3, 4], rgbaBase64: rgba, imageWidth: 8, imageHeight: 8, width: 16, height: 16 }), {
    tool: 'dwpose',
    modelIds: [3, 4],
    rgbaBase64: rgba,
    imageWidth: 8,
    imageHeight: 8,
    width: 16,
    height: 16,
  });
  const bad = [
    { tool: 'canny', imagePngBase64: png },
    { tool: 'depth' },
    { tool: 'depth', imagePngBase64: png, rgbaBase64: rgba, imageWidth: 8, imageHeight: 8 },
    { tool: 'depth', imagePngBase64: 'not base64!' },
    { tool: 'depth', rgbaBase64: rgba, imageWidth: 8, imageHeight: 9 },
    { tool: 'depth', imagePngBase64: png, width: 64 },
    { tool: 'depth', imagePngBase64: png, modelIds: [1, 2, 3] },
    { tool: 'depth', imagePngBase64: png, modelIds: [-1] },
    { tool: 'depth', imagePngBase64: png, path: '/etc/passwd' },
  ];
  for (const input of bad) assert.equal(await kindOf(() => validateRequest('annotate.start', input)), 'bad-request', JSON.stringify(input));
});

function item(id: number, name: string, layout: string, extra: Partial<LibraryItem> = {}): LibraryItem {
  return {
    id,
    path: `/models/${name}.onnx`,
    name,
    kind: 'annotator',
    layout,
    family: '',
    problem: '',
    sizeBytes: 1,
    sha256: '',
    shortHash: '',
    metadata: {},
    triggerWords: [],
    details: {},
    addedAt: '',
    ...extra,
  };
}

const library = [
  item(1, 'yolox_l', 'dwpose-detector'),
  item(2, 'dw-ll_ucoco_384', 'dwpose-pose'),
  item(3, 'b-depth', 'depth-anything'),
  item(4, 'a-depth', 'depth-anything'),
  item(5, 'broken-depth', 'depth-anything', { problem: 'corrupt file: ...' }),
  item(6, 'sd15', 'original', { kind: 'checkpoint' }),
];

test('annotators.list: each tool with its usable models by role, the default first', () => {
  const statuses = annotatorStatuses(library);
  assert.deepEqual(statuses.map((s) => [s.tool, s.ready]), [['depth', true], ['dwpose', true], ['openpose', false], ['lineart', false], ['softedge', false]]);
  assert.deepEqual(statuses[0].roles, [{ layout: 'depth-anything', models: [{ id: 4, name: 'a-depth' }, { id: 3, name: 'b-depth' }] }]);
  assert.deepEqual(statuses[1].roles.map((r) => r.layout), ANNOTATOR_TOOLS_GUIDE.dwpose.needs);
});

test('annotate.start picks the asked models, else the defaults, and names what is missing or wrong', async () => {
  const png = Buffer.from('x').toString('base64');
  const plan = planAnnotateJob({ tool: 'dwpose', modelIds: [2], imagePngBase64: png }, library);
  assert.deepEqual(plan.payload.models, [
    { layout: 'dwpose-detector', path: '/models/yolox_l.onnx' },
    { layout: 'dwpose-pose', path: '/models/dw-ll_ucoco_384.onnx' },
  ]);
  assert.equal(plan.title, 'Pose (DWPose): yolox_l.onnx + dw-ll_ucoco_384.onnx');
  assert.deepEqual(plan.payload.picture, { kind: 'png', bytes: new Uint8Array(Buffer.from('x')) });
  assert.equal(planAnnotateJob({ tool: 'depth', imagePngBase64: png }, library).payload.models[0].path, '/models/a-depth.onnx');
  assert.equal(planAnnotateJob({ tool: 'depth', modelIds: [3], imagePngBase64: png }, library).payload.models[0].path, '/models/b-depth.onnx');
  const kinds = await Promise.all([
    kindOf(() => planAnnotateJob({ tool: 'depth', modelIds: [99], imagePngBase64: png }, library)),
    kindOf(() => planAnnotateJob({ tool: 'depth', modelIds: [1], imagePngBase64: png }, library)),
    kindOf(() => planAnnotateJob({ tool: 'depth', modelIds: [6], imagePngBase64: png }, library)),
    kindOf(() => planAnnotateJob({ tool: 'depth', modelIds: [5], imagePngBase64: png }, library)),
    kindOf(() => planAnnotateJob({ tool: 'lineart', imagePngBase64: png }, library)),
  ]);
  assert.deepEqual(kinds, ['not-found', 'wrong-model', 'wrong-model', 'unusable-model', 'model-missing']);
  assert.throws(() => planAnnotateJob({ tool: 'softedge', imagePngBase64: png }, library), {
    message: /Soft edge \(HED\) needs more models\. Add to the library: HED soft edge model: ControlNet's HED/,
  });
});

describe('annotate through main and the engine process', () => {
  let tmp: string;
  let services: Services;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-annotate-'));
    const models = path.join(tmp, 'models');
    fs.mkdirSync(models);
    writeModel(path.join(models, 'depth.onnx'), fakeDepthModel({ width: 42, height: 28 }));
    writeModel(path.join(models, 'yolox_l.onnx'), fakeDetectorModel({ cx: 320, cy: 640 / 3, w: 160, h: 320, score: 0.9 }));
    writeModel(path.join(models, 'dw-ll_ucoco_384.onnx'), fakePoseModel({ width: 192, height: 256 }, [{ index: 0, x: 96, y: 40, score: 0.9 }]));
    const dataDir = path.join(tmp, 'data');
    services = createServices({
      dataDir,
      resourcesDir: path.join(repo, 'resources'),
      engineLauncher: nodeEngineLauncher({ dataDir, resourcesDir: repo, env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1' } }),
      supervisor: { heartbeatMs: 200, hangMs: 10_000, backoffInitialMs: 50 },
    });
  });
  after(async () => {
    await services.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('scans the models, lists the ready tools, runs depth and DWPose, and answers their hints', async () => {
    const { jobId: scan } = await services.call('library.add', { paths: [path.join(tmp, 'models')] });
    assert.equal((await services.queue.wait(scan)).job.state, 'done');
    const statuses = await services.call('annotators.list', {});
    assert.deepEqual(statuses.filter((s) => s.ready).map((s) => s.tool), ['depth', 'dwpose']);

    const ramp = new Uint8Array(42 * 28 * 3);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 42; x++) ramp.set([6 * x, 0, 0], (y * 42 + x) * 3);
    const imagePngBase64 = encodePng({ width: 42, height: 28, channels: 3, data: ramp }).toString('base64');
    const { jobId } = await services.call('annotate.start', { tool: 'depth', imagePngBase64 });
    const depth = await services.call('annotate.result', { jobId });
    assert.deepEqual([depth.hint, depth.width, depth.height, depth.people], ['depth', 42, 28, null]);
    const grey = decodePng(Buffer.from(depth.pngBase64!, 'base64')).data;
    assert.deepEqual([grey[0], grey[41], grey[20]], [0, 255, Math.round((255 * 20) / 41)]);
    const job = services.queue.get(jobId)!;
    assert.deepEqual([job.kind, job.state, job.title], ['annotate', 'done', 'Depth (Depth Anything): depth.onnx']);

    const rgba = Buffer.alloc(480 * 320 * 4, 90).toString('base64');
    const pose = await services.call('annotate.result', {
      jobId: (await services.call('annotate.start', { tool: 'dwpose', rgbaBase64: rgba, imageWidth: 480, imageHeight: 320 })).jobId,
    });
    assert.equal(pose.people?.length, 1);
    const nose = pose.people![0].keypoints[0];
    assert.ok(nose.visible && Math.abs(nose.x - 240) < 0.02 && Math.abs(nose.y - 56.875) < 0.02, JSON.stringify(nose));

    assert.equal(await kindOf(() => services.call('annotate.result', { jobId: scan })), 'not-found');
    assert.equal(await kindOf(() => services.call('annotate.start', { tool: 'openpose', imagePngBase64 })), 'model-missing');
  });
});
