// The studio's open document in the app: a DocumentStore whose state is Svelte $state (views read
// `studio.store.state.doc`) and whose rasters are canvases, autosaved through the contract. At start (and when
// the link first opens) the last opened document is reopened, or a new one is made. Closing the window loses
// nothing: pending edits are flushed on beforeunload and when the page is hidden; in Electron the first close
// is held until the flush is stored, then the window closes itself (no question asked).
import type { DocumentSummary } from '../../../src-main/common/documents-contract.ts';
import type { Session } from '../state/session.svelte.ts';
import { errorText } from '../transport/client.ts';
import { DocumentAutosave, type SaveStatus } from './autosave.ts';
import { canvasPngCodec, canvasSurfaces, type CanvasSurface } from './raster-canvas.ts';
import type { RasterSurface } from './raster-store.ts';
import { loadOpened } from './serialise.ts';
import { DocumentStore } from './store.ts';

/** The size of a new document when nothing else is asked (SD 1.5's native size). */
export const DEFAULT_DOCUMENT = { width: 512, height: 512, name: 'Untitled' } as const;

/** A DocumentStore whose state is reactive and whose rasters are OffscreenCanvases. */
export function createDocumentStore(): DocumentStore<CanvasSurface> {
  return new DocumentStore<CanvasSurface>({
    surfaces: canvasSurfaces,
    reactive: <T extends object>(value: T): T => {
      const state = $state(value);
      return state;
    },
  });
}

export class StudioDocument {
  readonly store: DocumentStore<CanvasSurface>;
  readonly autosave: DocumentAutosave;
  /** Autosave's state for the status bar: 'saved', 'pending', 'saving', 'error', 'conflict'. */
  saveStatus = $state<SaveStatus>('saved');
  saveMessage = $state('');
  documents = $state<DocumentSummary[]>([]);
  /** An open/create in progress. */
  busy = $state(false);
  private readonly session: Session;
  private closing = false;

  constructor(session: Session, store: DocumentStore<CanvasSurface> = createDocumentStore()) {
    this.session = session;
    this.store = store;
    this.autosave = new DocumentAutosave({
      store: store as unknown as DocumentStore<RasterSurface>,
      save: (input) => session.client.call('documents.save', input),
      encodePng: canvasPngCodec.encode,
      onStatus: (status, message) => {
        this.saveStatus = status;
        this.saveMessage = message;
        if (status === 'conflict') session.notify('error', message);
      },
    });
  }

  /** Reopens the last document once the link is up, and flushes on close; returns the teardown. */
  start(): () => void {
    const offOpen = this.session.onOpen(() => {
      if (!this.store.state.doc && !this.busy) void this.reopenLast();
    });
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (this.closing || !this.autosave.dirty) return;
      const electron = this.session.client.mode === 'electron';
      void this.autosave.flush().finally(() => {
        if (!electron) return;
        this.closing = true;
        window.close();
      });
      // Electron cancels a close whose beforeunload is prevented, without a dialog; the window closes
      // itself once the save is stored. A browser would ask the user instead: there the flush runs as the
      // page goes (and every change was already on its way within half a second).
      if (electron) {
        e.preventDefault();
        e.returnValue = '';
      }
    };
    const onHidden = () => {
      if (document.visibilityState === 'hidden') void this.autosave.flush();
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    document.addEventListener('visibilitychange', onHidden);
    return () => {
      offOpen();
      window.removeEventListener('beforeunload', onBeforeUnload);
      document.removeEventListener('visibilitychange', onHidden);
      void this.autosave.flush().finally(() => this.autosave.dispose());
    };
  }

  async refreshList(): Promise<void> {
    try {
      this.documents = await this.session.client.call('documents.list', {});
    } catch (err) {
      this.session.notify('error', `Could not list the documents: ${errorText(err)}`);
    }
  }

  /** The last opened document, or a new one when there is none. */
  async reopenLast(): Promise<void> {
    await this.refreshList();
    const last = this.documents.find((d) => d.openedAt !== null) ?? this.documents[0];
    if (last) await this.open(last.id);
    else await this.create(DEFAULT_DOCUMENT);
  }

  /** Saves the current document, then opens another. */
  async open(id: string): Promise<void> {
    await this.withBusy('open the document', async () => {
      await this.autosave.flush();
      const opened = await this.session.client.call('documents.open', { id });
      const stored = await loadOpened(this.store as unknown as DocumentStore<RasterSurface>, opened, canvasPngCodec);
      this.autosave.track(opened.record.id, opened.revision, stored);
    });
  }

  async create(init: { width: number; height: number; name: string }): Promise<void> {
    await this.withBusy('create a document', async () => {
      await this.autosave.flush();
      const opened = await this.session.client.call('documents.create', { ...init });
      const stored = await loadOpened(this.store as unknown as DocumentStore<RasterSurface>, opened, canvasPngCodec);
      this.autosave.track(opened.record.id, opened.revision, stored);
      void this.refreshList();
    });
  }

  /** Deletes a document; deleting the open one opens the last other one (or a new one). */
  async remove(id: string): Promise<void> {
    await this.withBusy('delete the document', async () => {
      const open = this.store.state.doc?.id === id;
      if (open) {
        this.autosave.track('', 0, []);
        this.store.unload();
      }
      await this.session.client.call('documents.delete', { id });
      if (open) this.busy = false;
      if (open) await this.reopenLast();
      else await this.refreshList();
    });
  }

  /** After a conflict: keep this window's version. */
  overwrite(): Promise<void> {
    return this.autosave.overwrite();
  }

  flush(): Promise<void> {
    return this.autosave.flush();
  }

  private async withBusy(what: string, run: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await run();
    } catch (err) {
      this.session.notify('error', `Could not ${what}: ${errorText(err)}`);
    } finally {
      this.busy = false;
    }
  }
}

const studios = new WeakMap<Session, StudioDocument>();

/**
 * The app's one StudioDocument, created and started on first use (it then lives as long as the page: the
 * last document reopens as soon as the link is up, and every edit is autosaved until the window closes).
 */
export function studioDocumentFor(session: Session): StudioDocument {
  const known = studios.get(session);
  if (known) return known;
  let studio: StudioDocument | undefined;
  // Its own effect root: its deriveds must not belong to (and die with) the view that asked first.
  $effect.root(() => {
    studio = new StudioDocument(session);
  });
  studios.set(session, studio!);
  studio!.start();
  return studio!;
}
