// The documents part of the contract (contract.ts lists the methods): the studio's documents are autosaved to
// the library database as a JSON record plus one PNG per layer raster. Saves carry a revision number that the
// renderer raises with every save; main keeps the highest (last write wins by revision), and answers a stale
// save with the revision it holds so the renderer can tell the document changed elsewhere.
// Rasters travel as base64 PNG in both modes (Electron IPC and the browser-mode WebSocket).
// Pure module: no Node, Electron or DOM imports.
import type { DocumentRecord } from './document/model.ts';
import { ContractError } from './errors.ts';
import { checkDocumentRecord, checkSide, MAX_LAYERS } from './document-record-check.ts';
import { base64Bytes, fields, ID_PATTERN, idText, isBase64, object } from './field-validators.ts';

export { MAX_LAYERS, MAX_SIDE, MIN_SIDE } from './document-record-check.ts';

/** Largest PNG of one raster, in bytes: a 2048x2048 RGBA of noise does not compress below ~16.8 MB. */
export const MAX_RASTER_PNG_BYTES = 20 * 1024 * 1024;
/** Largest total of base64 PNG text in one save; the renderer splits bigger saves into several. */
export const MAX_SAVE_PNG_CHARS = 48 * 1024 * 1024;
/** base64 of the 8-byte PNG signature. */
export const PNG_BASE64_PREFIX = 'iVBORw0KGgo';

export interface DocumentSummary {
  id: string;
  name: string;
  width: number;
  height: number;
  revision: number;
  layerCount: number;
  createdAt: string;
  updatedAt: string;
  /** When it was last opened; the newest is reopened at start. Null for one never opened. */
  openedAt: string | null;
}

/** One layer's pixels: the raster id its layer names, and a PNG of the document's size. */
export interface RasterPng {
  id: string;
  pngBase64: string;
}

export interface OpenedDocument {
  record: DocumentRecord;
  revision: number;
  /** Every stored raster of the record's layers; a layer whose raster is missing starts transparent. */
  rasters: RasterPng[];
}

export interface DocumentSaveInput {
  id: string;
  /** Higher than every revision saved before; the record (and these rasters) win over older saves. */
  revision: number;
  record: DocumentRecord;
  /** Rasters that changed since the last save; the others stay as stored. */
  rasters: RasterPng[];
}

export interface DocumentSaveResult {
  /** False for a stale save (its revision was not above the stored one): nothing was written. */
  accepted: boolean;
  /** The revision stored now. */
  revision: number;
}

export interface DocumentCreateInput {
  width: number;
  height: number;
  name: string;
}

function rasterPng(v: unknown, where: string): RasterPng {
  const r = object(v, where);
  const id = idText(r.id, `${where}.id`);
  const png = r.pngBase64;
  if (typeof png !== 'string' || !png.startsWith(PNG_BASE64_PREFIX) || !isBase64(png)) {
    throw new ContractError(`${where}.pngBase64 must be a PNG in base64`);
  }
  if (base64Bytes(png) > MAX_RASTER_PNG_BYTES) {
    throw new ContractError(`${where}.pngBase64 is larger than ${MAX_RASTER_PNG_BYTES >> 20} MiB`);
  }
  return { id, pngBase64: png };
}

export function validateDocumentId(method: string): (v: unknown) => { id: string } {
  return (v) => {
    const r = fields(v, method, ['id']);
    return { id: idText(r.id, `${method}: id`) };
  };
}

export function validateDocumentCreate(v: unknown): DocumentCreateInput {
  const r = fields(v, 'documents.create', ['width', 'height', 'name']);
  const name = typeof r.name === 'string' ? r.name.trim() : r.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || name.includes('\0')) {
    throw new ContractError('documents.create: name must be a string of 1 to 200 characters');
  }
  return { width: checkSide(r.width, 'documents.create: width'), height: checkSide(r.height, 'documents.create: height'), name };
}

export function validateDocumentSave(v: unknown): DocumentSaveInput {
  const method = 'documents.save';
  const r = fields(v, method, ['id', 'revision', 'record', 'rasters']);
  const id = idText(r.id, `${method}: id`);
  if (!Number.isSafeInteger(r.revision) || (r.revision as number) < 1) {
    throw new ContractError(`${method}: revision must be a positive integer`);
  }
  const record = checkDocumentRecord(r.record, `${method}: record`);
  if (record.id !== id) throw new ContractError(`${method}: record.id ${record.id} is not the document ${id}`);
  if (!Array.isArray(r.rasters) || r.rasters.length > MAX_LAYERS) {
    throw new ContractError(`${method}: rasters must be a list of at most ${MAX_LAYERS}`);
  }
  const rasters = r.rasters.map((x, i) => rasterPng(x, `${method}: rasters[${i}]`));
  const owned = new Set(record.layers.map((l) => l.rasterId));
  const seen = new Set<string>();
  let chars = 0;
  for (const raster of rasters) {
    if (!owned.has(raster.id)) throw new ContractError(`${method}: raster ${raster.id} belongs to no layer of the record`);
    if (seen.has(raster.id)) throw new ContractError(`${method}: raster ${raster.id} is sent twice`);
    seen.add(raster.id);
    chars += raster.pngBase64.length;
  }
  if (chars > MAX_SAVE_PNG_CHARS) throw new ContractError(`${method}: more than ${MAX_SAVE_PNG_CHARS >> 20} MiB of PNG text in one save`);
  return { id, revision: r.revision as number, record, rasters };
}

export const isDocumentId = (v: unknown): v is string => typeof v === 'string' && ID_PATTERN.test(v);
