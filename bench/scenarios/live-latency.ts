// Live mode's latency from the end of a stroke to its picture, through the path the studio uses: main's services
// ('live.start', 'live.result') and the engine in its own process, a 256x256 picture with 4 LCM steps, CFG 1.5,
// a fixed seed, steered by one ControlNet whose scribble hint gains a stroke before each picture. The studio
// asks after a pause in painting (LIVE_PAUSE_MS, its default), so that pause is part of the latency.
//   idle:  nothing running when the stroke ends: pause + request + job + picture;
//   busy:  a live picture of the previous stroke is being made when the stroke ends: it is cancelled (it stops
//          within one step), then the same as idle; the difference is what the cancel costs.
// The first picture (building the sessions) is reported on its own.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices } from '../../src-main/app/bootstrap.ts';
import type { GenerateInput } from '../../src-main/common/generation-contract.ts';
import { encodePng } from '../../src-main/formats/png.ts';
import { nodeEngineLauncher } from '../../src-main/jobs/engine-launcher.ts';
import { median, now, type Scenario } from '../scenario.ts';

const SIZE = 256;
const STEPS = 4;
/** The studio's default pause after an edit (live.svelte.ts LIVE_DEFAULTS.delayMs). */
const LIVE_PAUSE_MS = 300;
const here = path.dirname(fileURLToPath(import.meta.url));

/** A scribble hint at the canvas size (512): white strokes on black, one more for each picture. */
function scribble(strokes: number): string {
  const side = 512;
  const data = new Uint8Array(side * side * 3);
  for (let s = 0; s < strokes; s++) {
    const y = 24 + ((s * 37) % 460);
    for (let x = 40; x < 470; x++) for (let dy = 0; dy < 6; dy++) data.fill(255, ((y + dy) * side + x) * 3, ((y + dy) * side + x) * 3 + 3);
  }
  return encodePng({ width: side, height: side, channels: 3, data }).toString('base64');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const liveLatency: Scenario = {
  name: 'live-latency',
  title: `Live mode: stroke end to picture, ${SIZE}x${SIZE}, ${STEPS} LCM steps, one ControlNet`,
  headline: 'latency_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-bench-live-'));
    const env: Record<string, string> = { HINTBRUSH_ENGINE_SKIP_PROBE: '1', HINTBRUSH_PROVIDER: opts.provider };
    if (opts.foldWeights) env.HINTBRUSH_CPU_WEIGHTS = 'fold';
    const resourcesDir = path.resolve(here, '../../resources');
    const services = createServices({
      dataDir: tmp,
      resourcesDir,
      engineLauncher: nodeEngineLauncher({ dataDir: tmp, resourcesDir, env }),
      supervisor: { hangMs: 120_000 },
    });
    const steps = new Map<string, number>();
    services.events.on('generate.progress', (e) => steps.set(e.jobId, Math.max(steps.get(e.jobId) ?? 0, e.step)));
    try {
      const { jobId: scan } = await services.call('library.add', { paths: [model.checkpoint, model.controlNet] });
      await services.queue.wait(scan);
      const items = await services.call('library.list', {});
      const id = (file: string) => items.find((i) => i.path === path.resolve(file))!.id;
      let strokes = 0;
      const request = (): GenerateInput => ({
        checkpoint: id(model.checkpoint),
        prompt: 'a lighthouse on a cliff at dusk, oil painting',
        negative: '',
        width: SIZE,
        height: SIZE,
        steps: STEPS,
        cfg: 1.5,
        seed: 1234,
        sampler: 'lcm',
        clipSkip: 1,
        controls: [{ kind: 'controlnet', model: id(model.controlNet), imagePngBase64: scribble(++strokes), weight: 1, start: 0, end: 1, resizeMode: 'just-resize' }],
        loras: [],
        init: null,
        mask: null,
        batchSize: 1,
        batchCount: 1,
      });
      const picture = async (): Promise<number> => {
        const t0 = now();
        const { jobId } = await services.call('live.start', request());
        await services.call('live.result', { jobId });
        return now() - t0;
      };

      const firstMs = await picture();
      const runs = model.name === 'full' ? opts.fullRuns : opts.runs;
      const idle: number[] = [];
      const busy: number[] = [];
      const cancels: number[] = [];
      for (let r = 0; r < Math.max(1, runs); r++) {
        // idle: the stroke ends, the pause passes, the picture is asked for
        const strokeEnd = now();
        await sleep(LIVE_PAUSE_MS);
        await picture();
        idle.push(now() - strokeEnd);

        // busy: the previous stroke's picture is at its first step when this stroke ends
        const stale = await services.call('live.start', request());
        while ((steps.get(stale.jobId) ?? 0) < 1) await sleep(5);
        const end = now();
        await services.call('jobs.cancel', { id: stale.jobId }); // the stroke's first edit cancels it
        const cancelled = services.queue.wait(stale.jobId).then(() => cancels.push(now() - end));
        await sleep(LIVE_PAUSE_MS);
        await cancelled; // the studio starts the next live job only once the stale one has ended
        await picture();
        busy.push(now() - end);
      }
      return {
        metrics: {
          latency_ms: median(idle),
          latency_busy_ms: median(busy),
          cancel_ms: median(cancels),
          first_picture_ms: firstMs,
        },
        detail:
          `stroke end -> live picture received by the studio's client, ${SIZE}x${SIZE}, ${STEPS} LCM steps, CFG 1.5 (batch 2), one ControlNet ` +
          `(a new stroke in its hint each time), through main's services and the engine process (${opts.provider}; the engine's compute: fp32 on the CPU, fp16 on a GPU; below normal priority, as live mode runs it), ` +
          `including the studio's ${LIVE_PAUSE_MS} ms pause; busy = a stale live picture at its first step is cancelled first (cancel_ms: until it ended); ` +
          `median of ${Math.max(1, runs)}; first_picture = the first live picture, building the sessions`,
      };
    } finally {
      await services.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};
