// The library's side of embeddings and VAE files: embeddings are listed with their vector count, and each
// checkpoint can have a default VAE, remembered by hash (migration 0005) so it outlives removing and adding
// the files again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ldmVaeTensors, writeVaeSafetensors } from '../engine/models/vae-file.test-support.ts';
import { writeA1111Pt } from '../engine/pipeline/textual-inversion.test-support.ts';
import { fixture, fixtureFile } from '../engine/goldens.test-support.ts';
import { openLibraryDatabase } from './database.ts';
import { LibraryError, LibraryService } from './library-service.ts';

test('embeddings are listed with their vector count; a checkpoint keeps its default VAE by hash', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-vae-defaults-'));
  try {
    const models = path.join(dir, 'models');
    fs.mkdirSync(models);
    fs.copyFileSync(fixture('tiny-sd15.safetensors'), path.join(models, 'tiny-sd15.safetensors'));
    fs.copyFileSync(fixture('tiny-lora.safetensors'), path.join(models, 'tiny-lora.safetensors'));
    writeVaeSafetensors(path.join(models, 'my-vae.safetensors'), ldmVaeTensors(fixtureFile('tiny-sd15.safetensors')));
    writeA1111Pt(path.join(models, 'EasyNegative.pt'), new Float32Array(8 * 32), 8, 32, 'EasyNegative');
    const db = openLibraryDatabase(path.join(dir, 'library.db'));
    const service = new LibraryService(db);
    await service.add([models]);

    const byName = (name: string) => service.list().find((i) => i.name === name)!;
    const embedding = byName('EasyNegative');
    assert.deepEqual([embedding.kind, embedding.problem, embedding.details.vectors, embedding.details.width], ['embedding', '', 8, 32]);
    const checkpoint = byName('tiny-sd15');
    const vae = byName('my-vae');
    assert.equal(vae.kind, 'vae');
    assert.equal(checkpoint.defaultVaeId, null);
    assert.equal(byName('tiny-lora').defaultVaeId, undefined); // only checkpoints carry one

    service.setDefaultVae(checkpoint.id, vae.id);
    assert.equal(byName('tiny-sd15').defaultVaeId, vae.id);
    assert.equal(service.defaultVae(checkpoint.id)?.path, vae.path);
    const row = db.prepare('SELECT checkpoint_sha256, vae_sha256 FROM checkpoint_vae_defaults').get() as Record<string, string>;
    assert.deepEqual(row, { checkpoint_sha256: checkpoint.sha256, vae_sha256: vae.sha256 });

    // removed and added again, the VAE gets a new id and is still the default
    assert.ok(service.remove(vae.id));
    assert.equal(byName('tiny-sd15').defaultVaeId, null);
    await service.add([vae.path]);
    const again = byName('my-vae');
    assert.notEqual(again.id, vae.id);
    assert.equal(byName('tiny-sd15').defaultVaeId, again.id);

    assert.throws(() => service.setDefaultVae(checkpoint.id, byName('tiny-lora').id), (e: unknown) => e instanceof LibraryError && /no VAE with this id/.test(e.message));
    assert.throws(() => service.setDefaultVae(byName('tiny-lora').id, again.id), /no checkpoint with this id/);
    service.setDefaultVae(checkpoint.id, null);
    assert.equal(byName('tiny-sd15').defaultVaeId, null);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
