// Main's side of the studio's autosave: documents and their layer rasters in the library database (tables
// `documents` and `document_rasters`, migration 0003). A save writes the record and the changed rasters in one
// transaction, and only when its revision is above the stored one, so an older save arriving late (another
// window, a retry) can never overwrite newer work. With WAL and synchronous=NORMAL a committed save survives a
// crash of the app; a power loss may lose the last commits, never corrupt the file.
import type { Database } from 'better-sqlite3';
import { checkDocumentRecord } from '../common/document-record-check.ts';
import type {
  DocumentCreateInput,
  DocumentSaveInput,
  DocumentSaveResult,
  DocumentSummary,
  OpenedDocument,
} from '../common/documents-contract.ts';
import { createDocumentRecord } from '../common/document/layers.ts';
import type { DocumentRecord } from '../common/document/model.ts';

/** The documents service as bootstrap and the tests see it. One instance per open database. */
export interface DocumentStorage {
  list(): DocumentSummary[];
  /** The document with its stored rasters; marks it as the last opened. Throws kind 'not-found'. */
  open(id: string): OpenedDocument;
  create(input: DocumentCreateInput): OpenedDocument;
  /** Writes a save (creating the row when the document is unknown); refuses stale revisions. */
  save(input: DocumentSaveInput): DocumentSaveResult;
  /** False when there was no such document. */
  delete(id: string): boolean;
}

export class DocumentStoreError extends Error {
  constructor(
    readonly kind: 'not-found' | 'bad-raster' | 'corrupt-document',
    message: string,
  ) {
    super(message);
    this.name = 'DocumentStoreError';
  }
}

interface DocumentRow {
  id: string;
  name: string;
  width: number;
  height: number;
  revision: number;
  record_json: string;
  created_at: string;
  updated_at: string;
  opened_at: string | null;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk; throws DocumentStoreError for anything that is not a PNG. */
export function pngSize(png: Buffer, what: string): { width: number; height: number } {
  if (png.length < 33 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new DocumentStoreError('bad-raster', `${what} is not a PNG`);
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export class SqliteDocumentStore implements DocumentStorage {
  private readonly now: () => string;

  constructor(
    private readonly db: Database,
    options: { now?: () => string } = {},
  ) {
    this.now = options.now ?? (() => new Date().toISOString());
  }

  list(): DocumentSummary[] {
    const rows = this.db
      .prepare(
        `SELECT id, name, width, height, revision, created_at, updated_at, opened_at,
                json_array_length(record_json, '$.layers') AS layer_count
         FROM documents ORDER BY opened_at IS NULL, opened_at DESC, updated_at DESC`,
      )
      .all() as (Omit<DocumentRow, 'record_json'> & { layer_count: number })[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      width: r.width,
      height: r.height,
      revision: r.revision,
      layerCount: r.layer_count,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      openedAt: r.opened_at,
    }));
  }

  open(id: string): OpenedDocument {
    return this.db.transaction(() => {
      const row = this.row(id);
      if (!row) throw new DocumentStoreError('not-found', `There is no document ${id}.`);
      const record = this.parse(row);
      this.db.prepare('UPDATE documents SET opened_at = ? WHERE id = ?').run(this.now(), id);
      const wanted = new Set(record.layers.map((l) => l.rasterId));
      const rasters = (this.db.prepare('SELECT raster_id, png FROM document_rasters WHERE document_id = ?').all(id) as { raster_id: string; png: Buffer }[])
        .filter((r) => wanted.has(r.raster_id))
        .map((r) => ({ id: r.raster_id, pngBase64: r.png.toString('base64') }));
      return { record, revision: row.revision, rasters };
    })();
  }

  create(input: DocumentCreateInput): OpenedDocument {
    const now = this.now();
    const record = createDocumentRecord({ name: input.name, width: input.width, height: input.height, now });
    this.db
      .prepare(
        `INSERT INTO documents (id, name, width, height, revision, record_json, created_at, updated_at, opened_at)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)`,
      )
      .run(record.id, record.name, record.width, record.height, JSON.stringify(record), now, now, now);
    return { record, revision: 1, rasters: [] };
  }

  save(input: DocumentSaveInput): DocumentSaveResult {
    const { record } = input;
    // Decode outside the transaction: a bad raster refuses the whole save before anything is written.
    const rasters = input.rasters.map((r) => {
      const png = Buffer.from(r.pngBase64, 'base64');
      const size = pngSize(png, `raster ${r.id}`);
      if (size.width !== record.width || size.height !== record.height) {
        throw new DocumentStoreError(
          'bad-raster',
          `raster ${r.id} is ${size.width}x${size.height}; the document is ${record.width}x${record.height}`,
        );
      }
      return { id: r.id, png };
    });
    return this.db.transaction((): DocumentSaveResult => {
      const stored = this.db.prepare('SELECT revision FROM documents WHERE id = ?').get(input.id) as { revision: number } | undefined;
      if (stored && stored.revision >= input.revision) return { accepted: false, revision: stored.revision };
      const now = this.now();
      if (stored) {
        this.db
          .prepare('UPDATE documents SET name = ?, width = ?, height = ?, revision = ?, record_json = ?, updated_at = ? WHERE id = ?')
          .run(record.name, record.width, record.height, input.revision, JSON.stringify(record), now, input.id);
      } else {
        // A document main does not know (deleted elsewhere, or a database restored from a backup): keep the work.
        this.db
          .prepare(
            `INSERT INTO documents (id, name, width, height, revision, record_json, created_at, updated_at, opened_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(input.id, record.name, record.width, record.height, input.revision, JSON.stringify(record), now, now, now);
      }
      const put = this.db.prepare(
        `INSERT INTO document_rasters (document_id, raster_id, png, width, height, revision) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (document_id, raster_id) DO UPDATE SET png = excluded.png, width = excluded.width,
           height = excluded.height, revision = excluded.revision`,
      );
      for (const r of rasters) put.run(input.id, r.id, r.png, record.width, record.height, input.revision);
      // Rasters no layer names any more (a deleted layer); an undo in the renderer sends them again.
      const keep = JSON.stringify(record.layers.map((l) => l.rasterId));
      this.db
        .prepare('DELETE FROM document_rasters WHERE document_id = ? AND raster_id NOT IN (SELECT value FROM json_each(?))')
        .run(input.id, keep);
      return { accepted: true, revision: input.revision };
    })();
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM documents WHERE id = ?').run(id).changes > 0;
  }

  /** Raster ids stored for a document (tests, diagnostics). */
  storedRasters(id: string): string[] {
    return (this.db.prepare('SELECT raster_id FROM document_rasters WHERE document_id = ? ORDER BY raster_id').all(id) as { raster_id: string }[]).map(
      (r) => r.raster_id,
    );
  }

  private row(id: string): DocumentRow | undefined {
    return this.db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as DocumentRow | undefined;
  }

  private parse(row: DocumentRow): DocumentRecord {
    try {
      return checkDocumentRecord(JSON.parse(row.record_json), `document ${row.id}`);
    } catch (error) {
      throw new DocumentStoreError('corrupt-document', `The saved document ${row.id} cannot be read: ${(error as Error).message}`);
    }
  }
}
