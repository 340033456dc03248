// What a drop onto the data step imports. training.importDataset reads one folder, so a dropped folder is
// imported as it is and dropped pictures import the folder they share. Electron gives dropped files their
// path only through the preload (webUtils.getPathForFile); a browser never does, and browser mode asks for a
// path on the server instead. Pure but for `droppedPaths`, which reads a DataTransfer.

export interface DroppedEntry {
  path: string;
  isFolder: boolean;
}

export type DropVerdict = { ok: true; folder: string; note: string } | { ok: false; reason: string };

function parentOf(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (i <= 0) return path.slice(0, i + 1) || path;
  // "C:\x.png" -> "C:\", "/x.png" -> "/"
  return /^[A-Za-z]:$/.test(path.slice(0, i)) ? path.slice(0, i + 1) : path.slice(0, i);
}

/** The folder to import for what was dropped, with one line saying what it means. */
export function folderForDrop(entries: readonly DroppedEntry[]): DropVerdict {
  const known = entries.filter((e) => e.path.length > 0);
  if (known.length === 0) {
    return { ok: false, reason: 'This window cannot see where the dropped files are; type the folder path instead.' };
  }
  const folders = known.filter((e) => e.isFolder);
  if (folders.length > 1 || (folders.length === 1 && known.length > 1)) {
    return { ok: false, reason: 'Drop one folder (or pictures from one folder) at a time.' };
  }
  if (folders.length === 1) return { ok: true, folder: folders[0].path, note: '' };
  const parents = new Set(known.map((e) => parentOf(e.path)));
  if (parents.size > 1) return { ok: false, reason: 'The dropped pictures are in different folders; put them in one folder.' };
  const folder = [...parents][0];
  return { ok: true, folder, note: `Imports every picture of ${folder}, the folder the dropped files are in.` };
}

interface PathBridge {
  pathForFile?: (file: File) => string;
}

/** The dropped items with their paths on this machine (empty paths where the window cannot know them). */
export function droppedPaths(transfer: DataTransfer): DroppedEntry[] {
  const bridge = (globalThis as { hintbrush?: PathBridge }).hintbrush;
  const out: DroppedEntry[] = [];
  const items = Array.from(transfer.items).filter((i) => i.kind === 'file');
  for (const item of items) {
    const file = item.getAsFile();
    if (!file) continue;
    const entry = item.webkitGetAsEntry?.();
    let path = '';
    try {
      // Electron 32+ only answers through the preload; older ones still set File.path.
      path = bridge?.pathForFile?.(file) ?? (file as File & { path?: string }).path ?? '';
    } catch {
      path = '';
    }
    out.push({ path, isFolder: entry?.isDirectory ?? false });
  }
  return out;
}
