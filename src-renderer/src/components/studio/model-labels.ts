// Menu labels for library models that share a name: `tiny-controlnet` as a `.ckpt` and as a `.safetensors`, or
// the same file name in two folders, would otherwise read the same in a menu. Each such label adds only what
// differs within its group of namesakes: the extension, the folder (as few trailing folder names as tell them
// apart), the short hash. A name no other model in the list has stays as it is. Pure module.
import type { LibraryItem } from '../../../../src-main/common/contract.ts';

type Labelled = Pick<LibraryItem, 'id' | 'name' | 'path' | 'shortHash' | 'sha256'>;

function splitPath(path: string): { folders: string[]; extension: string } {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  const file = parts.pop() ?? '';
  const dot = file.lastIndexOf('.');
  return { folders: parts, extension: dot > 0 ? file.slice(dot) : '' };
}

const distinct = (values: readonly string[]) => new Set(values).size > 1;

/** The fewest trailing folder names that tell every folder of the group apart (each folder's own name at least). */
function folderLabels(folders: readonly string[][]): string[] {
  const longest = Math.max(...folders.map((f) => f.length));
  for (let k = 1; k <= longest; k++) {
    const tails = folders.map((f) => f.slice(-k).join('/'));
    if (new Set(tails).size === new Set(folders.map((f) => f.join('/'))).size) return tails;
  }
  return folders.map((f) => f.join('/'));
}

/** Each model's menu label by id: its name, plus what tells it apart from models of the same name. */
export function modelMenuLabels(items: readonly Labelled[]): Map<number, string> {
  const labels = new Map<number, string>();
  const byName = new Map<string, Labelled[]>();
  for (const item of items) byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
  for (const [name, group] of byName) {
    if (group.length === 1) {
      labels.set(group[0].id, name);
      continue;
    }
    const paths = group.map((g) => splitPath(g.path));
    const hashes = group.map((g) => g.shortHash || g.sha256.slice(0, 10));
    const extensions = paths.map((p) => p.extension);
    const folders = paths.map((p) => p.folders.join('/'));
    const folderTails = distinct(folders) ? folderLabels(paths.map((p) => p.folders)) : null;
    group.forEach((g, i) => {
      const parts = [name];
      if (distinct(extensions)) parts.push(extensions[i] || '(no extension)');
      if (folderTails) parts.push(`in ${folderTails[i] || '/'}`);
      if (distinct(hashes)) parts.push(hashes[i]);
      labels.set(g.id, parts.join(' · '));
    });
  }
  return labels;
}
