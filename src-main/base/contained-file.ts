// Files served from a folder (the built renderer, history pictures, training samples) are checked by real path:
// a symlink inside the folder, or a picture replaced by a link, must not hand out a file elsewhere on the disk
// (/etc/passwd, the user's keys). Checking the path text is not enough, because opening follows links.
import fs from 'node:fs';
import path from 'node:path';

/** Whether the real path `real` is `realRoot` or below it. */
function inside(real: string, realRoot: string): boolean {
  const rel = path.relative(realRoot, real);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The real path of `file` when it is a regular file whose real path lies inside the real path of `root`; null
 * when it does not exist, is not a plain file, or leads outside (through a link anywhere on its way).
 */
export function containedFileSync(root: string, file: string): string | null {
  try {
    const real = fs.realpathSync(file);
    if (!inside(real, fs.realpathSync(root)) || !fs.statSync(real).isFile()) return null;
    return real;
  } catch {
    return null;
  }
}

/** containedFileSync without blocking the event loop (the HTTP server). Also answers the file's size. */
export async function containedFile(root: string, file: string): Promise<{ real: string; size: number } | null> {
  try {
    const [real, realRoot] = await Promise.all([fs.promises.realpath(file), fs.promises.realpath(root)]);
    if (!inside(real, realRoot)) return null;
    const stat = await fs.promises.stat(real);
    return stat.isFile() ? { real, size: stat.size } : null;
  } catch {
    return null;
  }
}
