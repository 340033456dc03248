// Filtering, grouping and counting of library items for the Library view. Pure, tested in
// library-filter.test.ts.
import type { LibraryItem, ModelKind } from '../../../src-main/common/contract.ts';
import { kindOrder } from './kinds.ts';

/** 'all', one kind, or 'problems' (every file that cannot be used: unsupported, unknown, broken). */
export type KindFilter = 'all' | 'problems' | ModelKind;

export interface LibraryQuery {
  kind: KindFilter;
  /** Free text; every word must match the name, path, layout, family, trigger words or hash. */
  text: string;
}

export interface KindGroup {
  kind: string;
  items: LibraryItem[];
}

/** A file has a problem when it cannot be used: the detector's problem text, or an unusable kind. */
export function hasProblem(item: LibraryItem): boolean {
  return item.problem.length > 0 || item.kind === 'unsupported' || item.kind === 'unknown';
}

function haystack(item: LibraryItem): string {
  return [item.name, item.path, item.kind, item.layout, item.family, item.shortHash, item.sha256, ...item.triggerWords]
    .join('\n')
    .toLowerCase();
}

export function matchesQuery(item: LibraryItem, query: LibraryQuery): boolean {
  if (query.kind === 'problems') {
    if (!hasProblem(item)) return false;
  } else if (query.kind !== 'all' && item.kind !== query.kind) {
    return false;
  }
  const words = query.text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) return true;
  const text = haystack(item);
  return words.every((w) => text.includes(w));
}

/** Name order as people expect it: case-insensitive, digits by value ("v2" before "v10"). */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function compareItems(a: LibraryItem, b: LibraryItem): number {
  return collator.compare(a.name, b.name) || collator.compare(a.path, b.path) || a.id - b.id;
}

export function filterItems(items: readonly LibraryItem[], query: LibraryQuery): LibraryItem[] {
  return items.filter((item) => matchesQuery(item, query)).sort(compareItems);
}

/** Groups items by kind in display order (kinds.ts); groups are never empty. */
export function groupByKind(items: readonly LibraryItem[]): KindGroup[] {
  const groups = new Map<string, LibraryItem[]>();
  for (const item of items) {
    let list = groups.get(item.kind);
    if (!list) groups.set(item.kind, (list = []));
    list.push(item);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => kindOrder(a) - kindOrder(b) || a.localeCompare(b))
    .map(([kind, list]) => ({ kind, items: list.sort(compareItems) }));
}

/** How many items each kind has, plus 'all' and 'problems', for the filter chips. */
export function countByKind(items: readonly LibraryItem[]): Map<KindFilter, number> {
  const counts = new Map<KindFilter, number>([
    ['all', items.length],
    ['problems', 0],
  ]);
  for (const item of items) {
    counts.set(item.kind, (counts.get(item.kind) ?? 0) + 1);
    if (hasProblem(item)) counts.set('problems', (counts.get('problems') ?? 0) + 1);
  }
  return counts;
}

/** Total size of the items in bytes. */
export function totalBytes(items: readonly LibraryItem[]): number {
  return items.reduce((sum, item) => sum + (Number.isFinite(item.sizeBytes) ? item.sizeBytes : 0), 0);
}
