// The A1111 round trip, end to end: `hintbrush generate` (the real CLI, engine in a child process) makes a PNG
// with a textual-inversion embedding named in the negative prompt, a standalone VAE file and hires fix (latent
// upscale); its `parameters` text is A1111's (A1111's own parser, the Python port in test/support, reads it
// back). That PNG is dropped on the studio's history in Chromium, "Use these settings" puts the prompts, seed,
// sampler, CFG, steps, size, VAE and hires controls back, and Generate makes the same picture, compared pixel by
// pixel with the CLI's; the new history entry records the embedding (TI hashes) and the VAE.
// The VAE is the tiny checkpoint's own with decoder.conv_out.bias shifted, so a picture decoded with the
// checkpoint's VAE instead would differ by about 10/255; two more CLI runs, without the VAE and without the
// embeddings folder, check that each of them changes the picture. Screenshots: test-results/a1111-roundtrip-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ldmVaeTensors, writeVaeSafetensors } from '../../src-main/engine/models/vae-file.test-support.ts';
import { tokenRows, writeA1111Pt } from '../../src-main/engine/pipeline/textual-inversion.test-support.ts';
import { fixture, fixtureFile } from '../../src-main/engine/goldens.test-support.ts';
import { decodePng } from '../../src-main/formats/png.ts';
import { getClipTokenizer } from '../../src-main/generation/tokenizer.ts';
import { main } from '../../src-main/cli/hintbrush.ts';
import type { CliIo } from '../../src-main/cli/command.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addModelFolder, generateAndWait, openStudio } from './studio-support.ts';
import { a1111Read, hasA1111Reader } from '../../src-main/generation/a1111-reader.test-support.ts';

const PROMPT = 'a lighthouse on a cliff at dusk, (stormy sky:1.2)';
const NEGATIVE = 'tinyneg, (blurry:1.1)';
const DELTA = [0.08, -0.06, 0.05]; // added to the VAE decoder's last bias, per RGB channel

const session = e2eSession();
let folder: string;
let embedding: string;
let vae: string;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

before(async () => {
  folder = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-e2e-a1111-'));
  copyFileSync(fixture('tiny-sd15.safetensors'), path.join(folder, 'tiny-sd15.safetensors'));
  const ckpt = fixtureFile('tiny-sd15.safetensors');
  // an embedding of 4 vectors: the token rows of some words, as a trained negative embedding would hold
  const ids = getClipTokenizer().encode('ugly low quality jpeg');
  const { vectors, width } = tokenRows(ckpt, ids);
  mkdirSync(path.join(folder, 'embeddings'));
  embedding = path.join(folder, 'embeddings', 'tinyneg.pt');
  writeA1111Pt(embedding, vectors, ids.length, width, 'tinyneg');
  vae = path.join(folder, 'shifted-vae.safetensors');
  writeVaeSafetensors(vae, ldmVaeTensors(ckpt).map((t) => (t.name === 'decoder.conv_out.bias' ? { ...t, data: t.data.map((v, c) => v + DELTA[c]) } : t)));
});

after(async () => {
  rmSync(folder, { recursive: true, force: true });
});

/** `hintbrush generate` as a user runs it: the A1111 PNG the studio is given (or, leaving out the embeddings
 *  folder or the VAE, the pictures that show each of them matters). */
async function generateWithCli(out: string, leaveOut: readonly string[] = []): Promise<void> {
  const io: CliIo & { stderr: string } = { stderr: '', isTty: false, out: () => {}, err: (t: string) => void (io.stderr += t) };
  const code = await main(
    [
      'generate', '--checkpoint', path.join(folder, 'tiny-sd15.safetensors'), '--prompt', PROMPT, '--negative', NEGATIVE,
      ...(leaveOut.includes('embeddings') ? [] : ['--embeddings', path.join(folder, 'embeddings')]),
      ...(leaveOut.includes('vae') ? [] : ['--vae', vae]),
      '--width', '64', '--height', '64', '--steps', '4', '--cfg', '6.5', '--seed', '1234567', '--sampler', 'euler_a',
      '--hires-scale', '2', '--hires-steps', '3', '--hires-denoise', '0.6', '--hires-upscaler', 'latent',
      '--provider', 'cpu', '--out', out,
    ],
    io,
  );
  assert.equal(code, 0, io.stderr);
}

function compare(a: Uint8Array, b: Uint8Array): { worst: number; differing: number } {
  assert.equal(a.length, b.length);
  let worst = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, d);
    if (d > 0) differing++;
  }
  return { worst, differing };
}

async function dropPng(page: Page, bytes: Uint8Array, name: string): Promise<void> {
  await page.getByTestId('history').evaluate((el, { base64, name }) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], name, { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, { base64: Buffer.from(bytes).toString('base64'), name });
}

test('an A1111 PNG with an embedding, a VAE and hires fix, dropped and reused, gives the CLI picture again', { timeout: 600_000 }, async () => {
  const cliPng = path.join(folder, 'from-cli.png');
  await generateWithCli(cliPng);
  const cliBytes = new Uint8Array(readFileSync(cliPng));
  const cli = decodePng(cliBytes);
  assert.deepEqual([cli.width, cli.height], [128, 128]);
  const parameters = cli.text.parameters ?? '';
  // without the VAE file, or with "tinyneg" read as words, the picture is another one: both must be restored
  for (const part of ['vae', 'embeddings']) {
    const other = path.join(folder, `without-${part}.png`);
    await generateWithCli(other, [part]);
    const { worst } = compare(cli.data, decodePng(new Uint8Array(readFileSync(other))).data);
    console.log(`CLI picture without the ${part}: largest difference ${worst}/255`);
    assert.ok(worst > 8, `leaving out the ${part} changes the picture by only ${worst}/255`);
  }
  assert.match(parameters, /Negative prompt: tinyneg, \(blurry:1\.1\)\n/);
  assert.match(parameters, /Steps: 4, Sampler: Euler a, .*CFG scale: 6\.5, Seed: 1234567, Size: 64x64, /);
  assert.match(parameters, /, Denoising strength: 0\.6, .*VAE: shifted-vae\.safetensors, TI hashes: "tinyneg: [0-9a-f]{12}", Hires upscale: 2, Hires steps: 3, Hires upscaler: Latent, /);
  if (hasA1111Reader) {
    const { params } = a1111Read(parameters);
    assert.deepEqual(
      [params.Prompt, params['Negative prompt'], params.Sampler, params['CFG scale'], params.Seed, params['Size-1'], params['Hires upscale'], params['Hires steps'], params['Hires upscaler'], params['Denoising strength']],
      [PROMPT, NEGATIVE, 'Euler a', '6.5', '1234567', '64', '2', '3', 'Latent', '0.6'],
    );
    assert.equal(params['TI hashes'], `tinyneg: ${sha256(embedding).slice(0, 12)}`);
    assert.deepEqual([params.VAE, params['VAE hash']], ['shifted-vae.safetensors', sha256(vae).slice(0, 10)]);
  }

  const { server, page, problems } = await session.open();
  await addModelFolder(page, folder, ['tiny-sd15', 'shifted-vae', 'tinyneg']);
  const api = await connect(server);
  const library = await api.call('library.list', {});
  const byName = (n: string) => library.find((i) => i.name === n)!;
  await openStudio(page);
  await page.getByTestId('tab-generate').click();
  const before = { prompt: await page.getByTestId('prompt').inputValue(), vae: await page.getByTestId('vae').inputValue(), hires: await page.getByTestId('hires-enable').isChecked() };
  assert.deepEqual(before, { prompt: before.prompt, vae: 'auto', hires: false }, 'the studio starts without the VAE and hires fix');
  assert.notEqual(before.prompt, PROMPT);

  await page.locator('nav button[title^="History"]').click();
  await dropPng(page, cliBytes, 'from-cli.png');
  await page.locator('[data-testid="history-details"] .source').waitFor();
  await page.mouse.move(0, 0);
  await screenshot(page, 'a1111-roundtrip-dropped');
  await page.getByTestId('use-settings').click();
  // the studio found the checkpoint, the VAE and the embedding in the library (else it names what it lacks)
  await page.getByText('Settings copied to the studio', { exact: true }).waitFor({ timeout: 10_000 });
  await page.locator('nav button[title^="Studio"]').click();
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('hires-enable').waitFor();

  // everything the picture was made with is back in the generate panel
  assert.equal(await page.getByTestId('prompt').inputValue(), PROMPT);
  assert.equal(await page.getByTestId('negative-prompt').inputValue(), NEGATIVE);
  assert.equal(await page.getByTestId('generate-checkpoint').inputValue(), String(byName('tiny-sd15').id));
  assert.equal(await page.getByTestId('vae').inputValue(), String(byName('shifted-vae').id));
  assert.equal(await page.getByTestId('sampler').inputValue(), 'euler_a');
  assert.equal(await page.getByTestId('steps').inputValue(), '4');
  assert.equal(Number(await page.getByTestId('cfg').inputValue()), 6.5);
  assert.equal(await page.getByTestId('seed').inputValue(), '1234567');
  assert.deepEqual([await page.getByTestId('gen-width').inputValue(), await page.getByTestId('gen-height').inputValue()], ['64', '64']);
  assert.equal(await page.getByTestId('hires-enable').isChecked(), true);
  assert.equal(await page.getByTestId('hires-upscaler').inputValue(), 'Latent');
  assert.deepEqual(
    [await page.getByTestId('hires-scale').inputValue(), await page.getByTestId('hires-steps').inputValue(), await page.getByTestId('hires-denoise').inputValue()],
    ['2', '3', '0.6'],
  );
  assert.match((await page.getByTestId('hires-target').textContent()) ?? '', /64×64 → 128×128/);
  await page.getByTestId('hires-target').scrollIntoViewIfNeeded();
  await page.mouse.move(0, 0);
  await screenshot(page, 'a1111-roundtrip-reused');

  await generateAndWait(page, 300_000);
  await page.mouse.move(0, 0);
  await screenshot(page, 'a1111-roundtrip-result');

  const { items } = await api.call('history.list', { limit: 5, offset: 0 });
  api.close();
  assert.equal(items.length, 1);
  const s = items[0].settings;
  assert.deepEqual([s.vae?.name, s.vae?.hash], ['shifted-vae', byName('shifted-vae').shortHash]);
  assert.deepEqual(s.embeddings?.map((e) => [e.name, e.id]), [['tinyneg', byName('tinyneg').id]]);
  assert.match(items[0].parameters, new RegExp(`TI hashes: "?tinyneg: ${sha256(embedding).slice(0, 12)}`));
  const studioBytes = new Uint8Array(await (await fetch(`${server.origin}${items[0].imageUrl}?token=${server.token}`)).arrayBuffer());
  const studio = decodePng(studioBytes);
  assert.deepEqual([studio.width, studio.height], [128, 128]);
  const { worst, differing } = compare(cli.data, studio.data);
  console.log(`studio vs CLI picture: ${differing} of ${cli.data.length} values differ, largest difference ${worst}/255`);
  assert.ok(worst <= 2, `the studio's picture differs from the CLI's by up to ${worst}/255 (${differing} values differ)`);
  // the same settings line, but for what only the studio adds
  const settingsLine = (text: string) => text.split('\n').at(-1)!;
  assert.equal(settingsLine(items[0].parameters).replace(/, Version: .*$/, ''), settingsLine(parameters).replace(/, Version: .*$/, ''));

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  assert.match((await page.getByTestId('details-vae-embeddings').textContent()) ?? '', /VAE shifted-vae.*tinyneg/s);
  await page.mouse.move(0, 0);
  await screenshot(page, 'a1111-roundtrip-history');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
