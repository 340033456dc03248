// Which folders the library walks, and how: every folder is known by its real path (symlinks resolved), so a
// folder reached twice (a link, an overlapping root, a parent added after its child) is walked once and its
// files keep their rows. Pseudo filesystems (/proc, /sys, /dev and the like) are never walked: their links
// (/proc/<pid>/cwd, /proc/<pid>/root) lead back into the whole disk. The root of a filesystem is refused as a
// library folder: walking the whole disk is never what the artist meant.
import fs from 'node:fs';
import path from 'node:path';
import { isUnder } from './model-store.ts';

/** Mount types whose files are the kernel's, not files on a disk. */
const PSEUDO_TYPES = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'pstore', 'bpf',
  'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'binfmt_misc', 'efivarfs', 'autofs', 'rpc_pipefs', 'nsfs', 'selinuxfs',
]);
/** Always treated as pseudo on these systems, even where the mount table cannot be read. */
const ALWAYS_PSEUDO: Partial<Record<NodeJS.Platform, readonly string[]>> = { linux: ['/proc', '/sys', '/dev'], darwin: ['/dev'] };

let pseudoMounts: readonly string[] | null = null;

/** Mount points of pseudo filesystems (read once per process from /proc/self/mounts on Linux). */
export function pseudoFilesystems(): readonly string[] {
  if (pseudoMounts) return pseudoMounts;
  const found = new Set(ALWAYS_PSEUDO[process.platform] ?? []);
  if (process.platform === 'linux') {
    try {
      for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
        const [, mountPoint, type] = line.split(' ');
        // the mount table escapes spaces and the like as octal: \040
        if (mountPoint && PSEUDO_TYPES.has(type)) found.add(mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
      }
    } catch {
      // no mount table (a sandbox): the fixed list above still holds
    }
  }
  pseudoMounts = [...found];
  return pseudoMounts;
}

/** Why a folder (its real path) is not walked as a library folder, or null when it may be. */
export function refusedFolderReason(real: string): string | null {
  if (path.parse(real).root === real) {
    return 'is the root of the file system; walking the whole disk is refused. Add the folders that hold your models instead.';
  }
  const pseudo = pseudoFilesystems().find((p) => isUnder(real, p));
  if (pseudo) return `is inside ${pseudo}, a system folder whose files are not models on a disk.`;
  return null;
}

/**
 * The real path of `file`, or of its nearest existing folder joined with the rest when `file` itself is gone
 * (a deleted file, a dangling link): what the file's real path was, as far as can still be known.
 */
export async function bestRealPath(file: string): Promise<string> {
  const absolute = path.resolve(file);
  let dir = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.promises.realpath(dir), ...rest);
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return absolute;
      rest.unshift(path.basename(dir));
      dir = parent;
    }
  }
}

export interface WalkedFile {
  /** The path it was reached by (below the root as given). */
  file: string;
  real: string;
  stat: fs.Stats;
}

export interface FolderWalk {
  files: WalkedFile[];
  /** Real paths of every folder walked: a row below one of them that was not found has vanished. */
  visited: Set<string>;
  /** Folders that could not be read: their rows are kept. */
  unreadable: string[];
}

/** Every regular file below `root` (symlinks followed, each real folder once, pseudo filesystems never), sorted. */
export async function walkFolder(root: string, signal?: AbortSignal, visited: Set<string> = new Set()): Promise<FolderWalk> {
  const walk: FolderWalk = { files: [], visited, unreadable: [] };
  const visit = async (dir: string): Promise<void> => {
    signal?.throwIfAborted();
    let names: string[];
    let realDir: string;
    try {
      realDir = await fs.promises.realpath(dir);
      if (visited.has(realDir)) return; // a link back to a folder already walked
      if (refusedFolderReason(realDir)) return; // a link into /proc or to / is not followed
      visited.add(realDir);
      names = (await fs.promises.readdir(dir)).sort();
    } catch {
      walk.unreadable.push(dir);
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const stat = await statOrNull(full); // follows links; a dangling link is skipped
      if (!stat) continue;
      if (stat.isDirectory()) await visit(full);
      else if (stat.isFile()) walk.files.push({ file: full, real: await fs.promises.realpath(full).catch(() => path.join(realDir, name)), stat });
    }
  };
  await visit(root);
  return walk;
}

export async function statOrNull(file: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(file);
  } catch {
    return null;
  }
}
