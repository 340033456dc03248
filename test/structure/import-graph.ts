// Reads the static imports of every source file in the project (TypeScript and Svelte) and resolves the
// relative ones to files, so tests can check which folders may import which and that no files form a cycle.
// Every import in this project is relative with its extension ('./model.ts', '../ui/Icon.svelte'), so a
// resolver needs no tsconfig paths; bare specifiers ('node:fs', 'svelte') are kept as packages.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** One import statement: the importing file, what it names, and the project file it resolves to (if any). */
export interface ImportEdge {
  readonly from: string; // repository-relative, forward slashes
  readonly specifier: string;
  readonly to: string | null; // repository-relative file, or null for a package ('node:fs', 'svelte')
  readonly typeOnly: boolean;
}

const SOURCE = /\.(ts|svelte)$/;

// `import x from '…'`, `import type { X } from '…'`, `export { x } from '…'`, `export * from '…'`,
// `import '…'` and `import('…')` / `typeof import('…')`. Multi-line import lists are matched by [^;]*.
const STATIC = /(?:^|[\s;])(import|export)(\s+type)?\s+(?:[^;'"]*?\s+from\s+)?['"]([^'"\n]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

export function listSourceFiles(root: string, folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  for (const folder of folders) walk(path.join(root, folder));
  return out.sort();
}

/** The import statements of one file's text (comments stripped first so examples in comments don't count). */
export function parseImports(text: string): { specifier: string; typeOnly: boolean }[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of code.matchAll(STATIC)) found.push({ specifier: m[3], typeOnly: m[2] !== undefined });
  for (const m of code.matchAll(DYNAMIC)) found.push({ specifier: m[1], typeOnly: /typeof\s*$/.test(code.slice(0, m.index)) });
  return found;
}

export function readImportGraph(root: string, folders: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of listSourceFiles(root, folders)) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const { specifier, typeOnly } of parseImports(text)) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      const to = relative ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : null;
      edges.push({ from: file, specifier, to, typeOnly });
    }
  }
  return edges;
}

/** Every import cycle among files, each as the list of files in one strongly connected component (Tarjan). */
export function findCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.to === null) continue;
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)!.add(e.to);
    if (!next.has(e.to)) next.set(e.to, new Set());
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.has(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}
