// Reads a dataset folder: the pictures, their captions and, for condition training, their condition pictures.
// Layouts understood:
//   folder/name.png (+ name.txt)                       plain pictures with captions
//   folder/name.png + folder/name.cond.png             pairs by file name (also name_cond.png, name-cond.png)
//   folder/target/name.png + folder/condition/name.png pairs by folder (target|targets|image|images and
//                                                      condition|conditions|control|hint|hints)
// Every picture is checked without decoding its pixels (readPngInfo: structure, CRCs, size), and read
// asynchronously one at a time, so a folder of 1000 large pictures costs main neither gigabytes nor a frozen
// event loop; the engine decodes them when it trains. What cannot be used is reported (unreadable, too small,
// unpaired, a pair whose shapes differ, a format Hintbrush does not decode) and left out: importing never stops
// at a bad file. Captions: the `.txt` beside the target (UTF-8, trimmed), empty when there is none.

import fs from 'node:fs';
import path from 'node:path';
import type { DatasetProblem } from '../common/training-contract.ts';
import { readPngInfo } from '../formats/png.ts';
import { MIN_IMAGE_SIDE } from '../engine/training/buckets.ts';

export interface FoundItem {
  /** Relative to the dataset folder, with forward slashes. */
  file: string;
  conditionFile: string | null;
  width: number;
  height: number;
  caption: string;
}

export interface FolderScan {
  items: FoundItem[];
  problems: DatasetProblem[];
  /** Some pairs were found (by file name or by folder). */
  paired: boolean;
}

const PICTURE = /\.(png|jpe?g|webp|bmp|gif|tiff?)$/i;
const COND_SUFFIX = /[._-]cond$/i;
const TARGET_DIRS = ['target', 'targets', 'image', 'images'];
const CONDITION_DIRS = ['condition', 'conditions', 'control', 'hint', 'hints'];
/** Largest picture accepted (the engine decodes it in memory when it trains). */
const MAX_PIXELS = 8192 * 8192;

const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');
const stem = (file: string) => path.basename(file).replace(/\.[^.]+$/, '');

function listPictures(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => PICTURE.test(n) && !n.startsWith('.'))
    .map((n) => path.join(dir, n))
    .filter((f) => fs.statSync(f).isFile())
    .sort();
}

function findDir(root: string, names: readonly string[]): string | null {
  for (const n of fs.readdirSync(root)) {
    const full = path.join(root, n);
    if (names.includes(n.toLowerCase()) && fs.statSync(full).isDirectory()) return full;
  }
  return null;
}

/** Size of a picture, or the problem that keeps it out. */
async function inspect(root: string, file: string): Promise<{ width: number; height: number } | DatasetProblem> {
  const name = rel(root, file);
  if (!/\.png$/i.test(file)) {
    return { file: name, kind: 'unsupported', message: `${name}: only PNG pictures are read for training for now; save it as PNG` };
  }
  try {
    const png = readPngInfo(await fs.promises.readFile(file), { source: name, maxPixels: MAX_PIXELS });
    if (Math.min(png.width, png.height) < MIN_IMAGE_SIDE) {
      return { file: name, kind: 'too-small', message: `${name}: ${png.width}x${png.height} is too small (the shorter side needs ${MIN_IMAGE_SIDE} pixels or more)` };
    }
    return { width: png.width, height: png.height };
  } catch (err) {
    return { file: name, kind: 'unreadable', message: `${name}: cannot be read (${(err as Error).message})` };
  }
}

function captionOf(root: string, picture: string, problems: DatasetProblem[]): string {
  const txt = picture.replace(/\.[^.]+$/, '.txt');
  if (!fs.existsSync(txt)) return '';
  try {
    return fs.readFileSync(txt, 'utf8').replace(/^\uFEFF/, '').trim();
  } catch (err) {
    problems.push({ file: rel(root, txt), kind: 'caption-unreadable', message: `${rel(root, txt)}: cannot be read (${(err as Error).message}); the caption is left empty` });
    return '';
  }
}

/** Pairs (target, condition) by folder or by file name, and the pictures that found no partner. */
function pairUp(root: string): { pairs: [string, string | null][]; unpaired: string[]; paired: boolean } {
  const targetDir = findDir(root, TARGET_DIRS);
  const conditionDir = findDir(root, CONDITION_DIRS);
  if (targetDir && conditionDir) {
    const conditions = new Map(listPictures(conditionDir).map((f) => [stem(f), f]));
    const pairs: [string, string | null][] = [];
    const unpaired: string[] = [];
    for (const t of listPictures(targetDir)) {
      const c = conditions.get(stem(t));
      if (c) {
        pairs.push([t, c]);
        conditions.delete(stem(t));
      } else unpaired.push(t);
    }
    return { pairs, unpaired: [...unpaired, ...conditions.values()], paired: true };
  }
  const all = listPictures(root);
  const conditions = new Map<string, string>();
  for (const f of all) if (COND_SUFFIX.test(stem(f))) conditions.set(stem(f).replace(COND_SUFFIX, ''), f);
  const pairs: [string, string | null][] = [];
  for (const f of all) {
    if (COND_SUFFIX.test(stem(f))) continue;
    const c = conditions.get(stem(f)) ?? null;
    if (c) conditions.delete(stem(f));
    pairs.push([f, c]);
  }
  const paired = pairs.some(([, c]) => c !== null);
  if (!paired) return { pairs, unpaired: [...conditions.values()], paired: false };
  // In a paired folder a picture without a condition is as unusable as a condition without a picture.
  return { pairs: pairs.filter(([, c]) => c !== null), unpaired: [...pairs.filter(([, c]) => c === null).map(([t]) => t), ...conditions.values()], paired: true };
}

/** Reads `root`; throws only when the folder itself cannot be read. */
export async function scanDatasetFolder(root: string): Promise<FolderScan> {
  const stat = fs.statSync(root, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw Object.assign(new Error(`${root}: not a folder`), { kind: 'not-found' });
  const { pairs, unpaired, paired } = pairUp(root);
  const problems: DatasetProblem[] = unpaired.map((f) => ({ file: rel(root, f), kind: 'unpaired', message: `${rel(root, f)}: has no partner (a target needs a condition picture of the same name, and the other way round)` }));
  const items: FoundItem[] = [];
  for (const [target, condition] of pairs) {
    const t = await inspect(root, target);
    if ('kind' in t) {
      problems.push(t);
      continue;
    }
    if (condition) {
      const c = await inspect(root, condition);
      if ('kind' in c) {
        problems.push(c);
        continue;
      }
      if (Math.abs(c.width / c.height - t.width / t.height) > 0.01) {
        problems.push({ file: rel(root, condition), kind: 'size-mismatch', message: `${rel(root, condition)}: ${c.width}x${c.height} does not have the shape of its target ${rel(root, target)} (${t.width}x${t.height})` });
        continue;
      }
    }
    items.push({ file: rel(root, target), conditionFile: condition ? rel(root, condition) : null, width: t.width, height: t.height, caption: captionOf(root, target, problems) });
  }
  return { items, problems, paired };
}
