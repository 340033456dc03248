/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countOf,
  fileExtension,
  formatBytes,
  formatInteger,
  formatPercent,
  formatRelativeTime,
  humanizeKey,
  progressFraction,
  shortenPath,
  visibleText,
} from './format.ts';

test('formatBytes uses binary steps and at most three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1 KB');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(173568), '170 KB'); // tiny-lora.safetensors
  assert.equal(formatBytes(3516888), '3.35 MB'); // tiny-controlnet.safetensors
  assert.equal(formatBytes(25052372), '23.9 MB'); // tiny-sd15.safetensors
  assert.equal(formatBytes(2132625894), '1.99 GB'); // a pruned fp16 SD1.5 checkpoint
  assert.equal(formatBytes(4265380512), '3.97 GB');
});

test('formatBytes moves to the next unit instead of printing 1024', () => {
  assert.equal(formatBytes(1024 * 1024 - 1), '1 MB');
  assert.equal(formatBytes(1024 ** 3 - 10), '1 GB');
});

test('formatBytes refuses values that are not sizes', () => {
  assert.equal(formatBytes(-1), '—');
  assert.equal(formatBytes(Number.NaN), '—');
  assert.equal(formatBytes(Number.POSITIVE_INFINITY), '—');
});

test('countOf picks singular or plural', () => {
  assert.equal(countOf(0, 'model'), '0 models');
  assert.equal(countOf(1, 'model'), '1 model');
  assert.equal(countOf(1200, 'file'), '1,200 files');
  assert.equal(countOf(2, 'LoRA', 'LoRAs'), '2 LoRAs');
});

test('formatInteger groups thousands', () => {
  assert.equal(formatInteger(859520964), '859,520,964');
  assert.equal(formatInteger(Number.NaN), '—');
});

test('formatRelativeTime reads like a person', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  assert.equal(formatRelativeTime(null, now), 'never');
  assert.equal(formatRelativeTime('2025-06-01T11:59:30Z', now), 'just now');
  assert.equal(formatRelativeTime('2025-06-01T11:55:00Z', now), '5 min ago');
  assert.equal(formatRelativeTime('2025-06-01T09:00:00Z', now), '3 h ago');
  assert.equal(formatRelativeTime('2025-05-31T12:00:00Z', now), 'yesterday');
  assert.equal(formatRelativeTime('2025-05-20T12:00:00Z', now), '12 days ago');
  assert.equal(formatRelativeTime('2024-01-02T00:00:00Z', now), '2024-01-02');
  assert.equal(formatRelativeTime('not a date', now), 'not a date');
});

test('progressFraction is null while the total is unknown and clamped otherwise', () => {
  assert.equal(progressFraction(0, 0), null);
  assert.equal(progressFraction(3, Number.NaN), null);
  assert.equal(progressFraction(5, 20), 0.25);
  assert.equal(progressFraction(30, 20), 1);
  assert.equal(progressFraction(-1, 20), 0);
  assert.equal(formatPercent(0.256), '26%');
});

test('shortenPath keeps the last segments with the path’s own separator', () => {
  assert.equal(shortenPath('/home/ann/models/lora/style.safetensors'), '…/lora/style.safetensors');
  assert.equal(shortenPath('C:\\models\\cn\\canny.pth'), '…\\cn\\canny.pth');
  assert.equal(shortenPath('x.ckpt'), 'x.ckpt');
});

test('fileExtension is lower case without the dot', () => {
  assert.equal(fileExtension('/a/b/Model.SafeTensors'), 'safetensors');
  assert.equal(fileExtension('/a/b.c/README'), '');
  assert.equal(fileExtension('/a/.hidden'), '');
});

test('humanizeKey turns detector keys into labels', () => {
  assert.equal(humanizeKey('contextWidth'), 'Context width');
  assert.equal(humanizeKey('unetDType'), 'UNet dtype');
  assert.equal(humanizeKey('textEncoderModules'), 'Text encoder modules');
  assert.equal(humanizeKey('unet_dtype'), 'UNet dtype');
  assert.equal(humanizeKey('legacyHash'), 'Legacy hash');
  assert.equal(humanizeKey('VAE'), 'VAE');
  assert.equal(humanizeKey('parseVAEKeys'), 'Parse VAE keys');
  assert.equal(humanizeKey('rank'), 'Rank');
  assert.equal(humanizeKey('___'), '___');
});

test('visibleText shows bidi overrides, zero-width and control characters as their code; other scripts stay', () => {
  assert.equal(visibleText('evil\u202Egnp.safetensors'), 'evil[U+202E]gnp.safetensors');
  assert.equal(visibleText('a\u200Bb\u2066c\u2069\rd\u0000'), 'a[U+200B]b[U+2066]c[U+2069][U+000D]d[U+0000]');
  assert.equal(visibleText('דגם שמן_v2 ✓ 模型 modèle'), 'דגם שמן_v2 ✓ 模型 modèle');
});

