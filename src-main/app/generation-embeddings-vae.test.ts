// Embeddings and VAE files through main's services, the engine in a child process as in the app: every
// library embedding may be named in a prompt, a checkpoint's default VAE applies when a generation names none
// (null asks for the checkpoint's own), the history and the PNG record both, and a dropped PNG finds them in
// the library again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Events, LibraryItem } from '../common/contract.ts';
import type { GenerateInput } from '../common/generation-contract.ts';
import { ldmVaeTensors, writeVaeSafetensors } from '../engine/models/vae-file.test-support.ts';
import { writeA1111Pt, writeA1111Safetensors } from '../engine/pipeline/textual-inversion.test-support.ts';
import { fixtureFile } from '../engine/goldens.test-support.ts';
import { startAppServices, type AppServices } from './app-services.test-support.ts';
import type { Services } from './bootstrap.ts';

describe('embeddings and VAE files in the app', () => {
  let app: AppServices;
  let services: Services;
  let items: LibraryItem[];
  const finished: Events['generate.finished'][] = [];
  const byName = (name: string) => items.find((i) => i.name === name)!;
  const input = (extra: Partial<GenerateInput> = {}): Partial<GenerateInput> => ({
    checkpoint: byName('tiny-sd15').id,
    prompt: 'a fox, sdtwoemb',
    negative: '(badthing:1.2), blurry',
    width: 64,
    height: 64,
    steps: 2,
    seed: 3,
    sampler: 'ddim',
    ...extra,
  });
  const run = async (extra: Partial<GenerateInput> = {}) => {
    const { jobId } = await services.call('generate.start', input(extra));
    const { job, result } = await services.queue.wait(jobId);
    assert.equal(job.state, 'done', job.error?.message);
    const [id] = (result as { historyIds: number[] }).historyIds;
    return { entry: await services.call('history.get', { id }), event: finished.find((f) => f.jobId === jobId)! };
  };

  before(async () => {
    app = await startAppServices({
      name: 'ti-vae-app',
      fixtures: ['tiny-sd15.safetensors'],
      writeModels: (models) => {
        writeVaeSafetensors(path.join(models, 'my-vae.safetensors'), ldmVaeTensors(fixtureFile('tiny-sd15.safetensors')));
        writeA1111Pt(path.join(models, 'badthing.pt'), Float32Array.from({ length: 2 * 32 }, (_, i) => Math.sin(i) * 0.02), 2, 32, 'badthing');
        writeA1111Safetensors(path.join(models, 'sdtwoemb.safetensors'), new Float32Array(1024), 1, 1024);
      },
      listen: (s) => s.events.on('generate.finished', (e) => finished.push(e)),
    });
    ({ services, items } = app);
  });
  after(() => app.dispose());

  it('the default VAE and a library embedding are used, recorded, written as A1111 does and found again', async () => {
    assert.equal(byName('sdtwoemb').kind, 'unsupported'); // an SD2 embedding: named, not offered
    assert.deepEqual(await services.call('library.setDefaultVae', { checkpointId: byName('tiny-sd15').id, vaeId: byName('my-vae').id }), { ok: true });
    items = await services.call('library.list', {});
    assert.equal(byName('tiny-sd15').defaultVaeId, byName('my-vae').id);

    const { entry } = await run();
    const vae = byName('my-vae');
    const emb = byName('badthing');
    assert.deepEqual(entry.settings.vae, { id: vae.id, name: 'my-vae', hash: vae.shortHash, path: vae.path });
    assert.deepEqual(entry.settings.embeddings, [{ id: emb.id, name: 'badthing', hash: emb.sha256.slice(0, 12), path: emb.path }]);
    assert.match(entry.parameters, new RegExp(`VAE hash: ${vae.shortHash}, VAE: my-vae\\.safetensors`));
    assert.match(entry.parameters, new RegExp(`TI hashes: "badthing: ${emb.sha256.slice(0, 12)}"`));

    const read = await services.call('png.readParameters', { pngBase64: readFileSync(services.imageFile(entry.id)!).toString('base64') });
    assert.deepEqual(read.settings?.vae, { name: 'my-vae', hash: vae.shortHash, id: vae.id });
    assert.deepEqual(read.settings?.embeddings, [{ name: 'badthing', hash: emb.sha256.slice(0, 12), id: emb.id }]);
  });

  it('vae: null uses the checkpoint own VAE and records none', async () => {
    const { entry } = await run({ vae: null });
    assert.equal(entry.settings.vae, undefined);
    assert.doesNotMatch(entry.parameters, /VAE/);
  });
});
