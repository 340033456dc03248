// End to end: a library folder holding the tiny checkpoint, a textual-inversion embedding and a standalone VAE
// (both made from the checkpoint's own weights). The prompt box suggests the embedding's name while typing,
// the VAE is picked for the generation and made the checkpoint's default, and the picture's history record,
// its PNG metadata (TI hashes, VAE, VAE hash) and the history details name both.
// Screenshots: test-results/studio-embeddings-vae-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ldmVaeTensors, writeVaeSafetensors } from '../../src-main/engine/models/vae-file.test-support.ts';
import { tokenRows, writeA1111Pt } from '../../src-main/engine/pipeline/textual-inversion.test-support.ts';
import { fixture, fixtureFile } from '../../src-main/engine/goldens.test-support.ts';
import { parseParameters } from '../../src-main/generation/a1111-parameters.ts';
import { readPngText } from '../../src-main/formats/png.ts';
import { getClipTokenizer } from '../../src-main/generation/tokenizer.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addModelFolder, generateAndWait, openStudio, setGenerationSize } from './studio-support.ts';

const session = e2eSession();
let folder: string;

before(async () => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-e2e-ti-vae-'));
  copyFileSync(fixture('tiny-sd15.safetensors'), path.join(folder, 'tiny-sd15.safetensors'));
  const ckpt = fixtureFile('tiny-sd15.safetensors');
  writeVaeSafetensors(path.join(folder, 'my-vae.safetensors'), ldmVaeTensors(ckpt));
  const ids = getClipTokenizer().encode('a photo of a cat');
  const { vectors, width } = tokenRows(ckpt, ids);
  writeA1111Pt(path.join(folder, 'catphrase.pt'), vectors, ids.length, width, 'catphrase');
});

after(async () => {
  rmSync(folder, { recursive: true, force: true });
});

test('an embedding suggested in the prompt and a chosen VAE end up in the picture and its history', { timeout: 300_000 }, async () => {
  const { server, page } = await session.open();
  await addModelFolder(page, folder, ['tiny-sd15', 'my-vae', 'catphrase']);
  // the library lists the embedding with its vector count
  const row = page.locator('[data-testid="library-row"][data-name="catphrase"]');
  assert.match((await row.textContent()) ?? '', /Embedding.*5 vectors/s);
  await openStudio(page);
  await page.getByTestId('tab-generate').click();

  // Typing the start of the name offers it; Tab takes it.
  const prompt = page.getByTestId('prompt');
  await prompt.fill('');
  await prompt.click();
  await page.keyboard.type('CATph');
  await page.getByTestId('prompt-suggestions').waitFor();
  assert.equal(await page.getByTestId('prompt-suggestions').getByRole('option').first().textContent(), 'catphrase');
  await screenshot(page, 'studio-embeddings-vae-suggest');
  await page.keyboard.press('Tab');
  await page.keyboard.type(', sunset');
  assert.equal(await prompt.inputValue(), 'catphrase, sunset');

  // The VAE for this generation, then made the checkpoint's default.
  await page.getByTestId('vae').selectOption({ label: 'my-vae' });
  await page.getByTestId('vae-default').click();
  await page.waitForFunction(() => /Automatic \(my-vae\)/.test(document.querySelector('[data-testid="vae"]')?.textContent ?? ''), null, { timeout: 10_000 });
  await setGenerationSize(page, { side: 64, steps: 2 });
  await generateAndWait(page, 180_000);

  const api = await connect(server);
  const { items } = await api.call('history.list', { limit: 5, offset: 0 });
  const library = await api.call('library.list', {});
  api.close();
  const byName = (n: string) => library.find((i) => i.name === n)!;
  assert.equal(byName('tiny-sd15').defaultVaeId, byName('my-vae').id);
  assert.equal(items.length, 1);
  const s = items[0].settings;
  assert.deepEqual([s.vae?.name, s.vae?.hash], ['my-vae', byName('my-vae').shortHash]);
  assert.deepEqual(s.embeddings?.map((e) => [e.name, e.id]), [['catphrase', byName('catphrase').id]]);
  const png = new Uint8Array(await (await fetch(`${server.origin}${items[0].imageUrl}?token=${server.token}`)).arrayBuffer());
  const settings = parseParameters(readPngText(png).parameters ?? '').settings;
  assert.equal(settings.get('VAE'), 'my-vae.safetensors');
  assert.equal(settings.get('VAE hash'), byName('my-vae').shortHash);
  assert.equal(settings.get('TI hashes'), `catphrase: ${byName('catphrase').sha256.slice(0, 12)}`);

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  const details = page.getByTestId('details-vae-embeddings');
  await details.waitFor({ timeout: 10_000 });
  assert.match((await details.textContent()) ?? '', /VAE my-vae.*catphrase/s);
  await screenshot(page, 'studio-embeddings-vae-history');
});
