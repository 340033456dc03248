// The gallery's state: pages of history entries matching the search words and the model filter, the entry
// opened in the side panel, and the settings read from a PNG dropped in from another A1111-compatible tool.
// Reloaded when a generation finishes. One per Studio.
import type { HistoryEntry, PngParameters } from '../../../../src-main/common/generation-contract.ts';
import type { AppContext } from '../../state/context.ts';
import { errorText } from '../../transport/client.ts';
import { fileToBase64 } from './image-io.ts';

const PAGE = 48;

export interface DroppedPicture {
  name: string;
  url: string; // object URL of the file, for the preview
  read: PngParameters;
}

export class HistoryBrowser {
  items = $state<HistoryEntry[]>([]);
  total = $state(0);
  query = $state('');
  /** Checkpoint id to filter by, or null for all. */
  modelId = $state<number | null>(null);
  loading = $state(false);
  loaded = $state(false);
  error = $state('');
  selectedId = $state<number | null>(null);
  /** The full record of the selected entry (history.get). */
  selected = $state<HistoryEntry | null>(null);
  dropped = $state<DroppedPicture | null>(null);
  private generation = 0;
  private debounce: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly app: AppContext) {}

  start(): () => void {
    const { client } = this.app.session;
    const offs = [client.on('generate.finished', () => void this.reload()), this.app.session.onOpen(() => void this.reload())];
    return () => offs.forEach((off) => off());
  }

  /** Search words changed: reload after the typing pauses. */
  search(query: string): void {
    this.query = query;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), 200);
  }

  filter(modelId: number | null): void {
    this.modelId = modelId;
    void this.reload();
  }

  async reload(): Promise<void> {
    await this.load(0);
  }

  async more(): Promise<void> {
    if (this.items.length < this.total) await this.load(this.items.length);
  }

  private async load(offset: number): Promise<void> {
    const run = ++this.generation;
    this.loading = true;
    try {
      const page = await this.app.session.client.call('history.list', {
        limit: PAGE,
        offset,
        ...(this.query.trim() ? { query: this.query.trim() } : {}),
        ...(this.modelId !== null ? { modelId: this.modelId } : {}),
      });
      if (run !== this.generation) return; // a newer search answered first
      this.items = offset === 0 ? page.items : [...this.items, ...page.items];
      this.total = page.total;
      this.error = '';
    } catch (err) {
      if (run === this.generation) this.error = errorText(err);
    } finally {
      if (run === this.generation) {
        this.loading = false;
        this.loaded = true;
      }
    }
  }

  async open(id: number): Promise<void> {
    this.selectedId = id;
    this.dropped = null;
    this.selected = this.items.find((i) => i.id === id) ?? null;
    try {
      const entry = await this.app.session.client.call('history.get', { id });
      if (this.selectedId === id) this.selected = entry;
    } catch (err) {
      this.app.session.notify('error', `Could not open picture #${id}: ${errorText(err)}`);
    }
  }

  async remove(id: number): Promise<void> {
    try {
      await this.app.session.client.call('history.delete', { id });
      if (this.selectedId === id) {
        this.selectedId = null;
        this.selected = null;
      }
      await this.reload();
    } catch (err) {
      this.app.session.notify('error', `Could not delete picture #${id}: ${errorText(err)}`);
    }
  }

  /** A PNG dropped on the gallery: its A1111 settings, read by main. */
  async readDropped(file: File): Promise<void> {
    if (!/\.png$/i.test(file.name) && file.type !== 'image/png') {
      this.app.session.notify('error', `${file.name} is not a PNG: only PNG files carry A1111 settings`);
      return;
    }
    try {
      const read = await this.app.session.client.call('png.readParameters', { pngBase64: await fileToBase64(file) });
      if (this.dropped) URL.revokeObjectURL(this.dropped.url);
      this.dropped = { name: file.name, url: URL.createObjectURL(file), read };
      this.selectedId = null;
      this.selected = null;
      if (!read.settings) this.app.session.notify('info', `${file.name} has no generation settings in it`);
    } catch (err) {
      this.app.session.notify('error', `Could not read ${file.name}: ${errorText(err)}`);
    }
  }
}
