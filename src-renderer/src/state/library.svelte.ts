// The model library as the renderer holds it: the list from `library.list`, its folders, the filter the
// user set, the selection, and the scan jobs started from here. Reloaded on `library.changed` and when a
// scan finishes.
import type { LibraryItem, LibraryRoot } from '../../../src-main/common/contract.ts';
import { errorText } from '../transport/client.ts';
import { countByKind, filterItems, groupByKind, totalBytes, type KindGroup, type LibraryQuery } from '../lib/library-filter.ts';
import { isActiveJob } from '../lib/status.ts';
import type { Session } from './session.svelte.ts';

const CHECKPOINT_KEY = 'hintbrush.checkpoint';

export class Library {
  private readonly session: Session;
  items = $state<LibraryItem[]>([]);
  roots = $state<LibraryRoot[]>([]);
  loaded = $state(false);
  loadError = $state('');
  query = $state<LibraryQuery>({ kind: 'all', text: '' });
  selectedId = $state<number | null>(null);
  /** SHA-256 of the checkpoint the user picked; survives re-scans that renumber ids. */
  checkpointSha = $state<string | null>(readStored(CHECKPOINT_KEY));

  readonly visible = $derived(filterItems(this.items, this.query));
  readonly groups: KindGroup[] = $derived(
    this.query.kind === 'all' || this.query.kind === 'problems'
      ? groupByKind(this.visible)
      : this.visible.length > 0
        ? [{ kind: this.query.kind, items: this.visible }]
        : [],
  );
  readonly counts = $derived(countByKind(this.items));
  readonly totalBytes = $derived(totalBytes(this.items));
  readonly selected = $derived(this.items.find((i) => i.id === this.selectedId) ?? null);
  readonly checkpoints = $derived(this.items.filter((i) => i.kind === 'checkpoint' && i.problem === ''));
  readonly checkpoint = $derived(
    this.checkpoints.find((c) => c.sha256 === this.checkpointSha) ?? this.checkpoints[0] ?? null,
  );
  // .by: the closure reads this.session lazily, after the constructor set it
  readonly scanJob = $derived.by(() => this.session.jobs.find((j) => j.kind === 'scan' && isActiveJob(j)) ?? null);

  private reloading: Promise<void> | null = null;
  private again = false;
  private debounce: ReturnType<typeof setTimeout> | null = null;

  constructor(session: Session) {
    this.session = session;
  }

  start(): () => void {
    const offs = [
      this.session.onOpen(() => void this.reload()),
      this.session.client.on('library.changed', () => this.reloadSoon()),
      this.session.onJob((job, previous) => {
        if (job.kind !== 'scan' || isActiveJob(job) || (previous && !isActiveJob(previous))) return;
        void this.reload();
        if (job.state === 'failed') this.session.notify('error', `Scan failed: ${job.error?.message ?? 'unknown error'}`);
      }),
    ];
    return () => {
      offs.forEach((off) => off());
      if (this.debounce) clearTimeout(this.debounce);
    };
  }

  /** Coalesces bursts of `library.changed` (one per file during a scan) into one reload. */
  reloadSoon(ms = 250): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.reload();
    }, ms);
  }

  /** Loads list and folders; a call made while one is running reloads once more afterwards. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        try {
          const [items, roots] = await Promise.all([
            this.session.client.call('library.list', {}),
            this.session.client.call('library.roots', {}),
          ]);
          this.items = items;
          this.roots = roots;
          this.loadError = '';
          if (this.selectedId !== null && !items.some((i) => i.id === this.selectedId)) this.selectedId = null;
        } catch (err) {
          this.loadError = errorText(err);
        }
        this.loaded = true;
      } while (this.again);
    })().finally(() => (this.reloading = null));
    return this.reloading;
  }

  /** Adds folders or files on main's machine and starts their scan. Returns false when main refused. */
  async add(paths: string[]): Promise<boolean> {
    try {
      await this.session.client.call('library.add', { paths });
      void this.reload(); // shows the new folder at once; the scan's progress shows from its job events
      return true;
    } catch (err) {
      this.session.notify('error', `Could not add ${paths.join(', ')}: ${errorText(err)}`);
      return false;
    }
  }

  async rescan(): Promise<void> {
    try {
      await this.session.client.call('library.rescan', {});
    } catch (err) {
      this.session.notify('error', `Could not start a re-scan: ${errorText(err)}`);
    }
  }

  async remove(item: LibraryItem): Promise<void> {
    try {
      await this.session.client.call('library.remove', { id: item.id });
      if (this.selectedId === item.id) this.selectedId = null;
      await this.reload();
    } catch (err) {
      this.session.notify('error', `Could not remove ${item.name}: ${errorText(err)}`);
    }
  }

  /** Makes `vaeId` (null: the checkpoint's own) the VAE `checkpoint` uses when a generation names none. */
  async setDefaultVae(checkpoint: LibraryItem, vaeId: number | null): Promise<void> {
    try {
      await this.session.client.call('library.setDefaultVae', { checkpointId: checkpoint.id, vaeId });
      await this.reload();
    } catch (err) {
      this.session.notify('error', `Could not set the default VAE of ${checkpoint.name}: ${errorText(err)}`);
    }
  }

  pickCheckpoint(item: LibraryItem): void {
    this.checkpointSha = item.sha256;
    writeStored(CHECKPOINT_KEY, item.sha256);
  }
}

function readStored(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null; // storage can be disabled (private windows, file:// policies)
  }
}

function writeStored(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // not persisted; the choice still holds for this session
  }
}
