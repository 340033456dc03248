// A document between the DocumentStore and main: opening (`documents.open` / `documents.create` answers are
// checked, their PNG rasters decoded and loaded into the store) and the JSON form of a record. Saving is
// autosave.ts's; both use the PNG codec handed in (canvas-based in the app, node's in tests).
import { checkDocumentRecord } from '../../../src-main/common/document-record-check.ts';
import type { OpenedDocument } from '../../../src-main/common/documents-contract.ts';
import type { DocumentRecord } from '../../../src-main/common/document/model.ts';
import type { RasterSurface, RgbaImage } from './raster-store.ts';
import type { DocumentStore } from './store.ts';

export interface PngCodec {
  /** base64 PNG of straight-alpha RGBA pixels. */
  encode(image: RgbaImage): Promise<string>;
  /** Straight-alpha RGBA pixels of a base64 PNG. */
  decode(pngBase64: string): Promise<RgbaImage>;
}

/** The record as saved: JSON of the plain record (reactive proxies are read through). */
export function serialiseRecord(record: DocumentRecord): string {
  return JSON.stringify(record);
}

/** A record from JSON, checked and cleaned (unknown fields dropped); throws naming the first bad field. */
export function parseRecord(json: string): DocumentRecord {
  return checkDocumentRecord(JSON.parse(json));
}

/**
 * Decodes an opened document's rasters and loads it into the store (forgetting the undo history). Rasters of
 * another size than the document are left out (their layers start transparent) rather than failing the open.
 * Returns the raster ids that were loaded: main has them as they are.
 */
export async function loadOpened(store: DocumentStore<RasterSurface>, opened: OpenedDocument, codec: PngCodec): Promise<string[]> {
  const record = checkDocumentRecord(opened.record);
  const images = new Map<string, RgbaImage>();
  for (const raster of opened.rasters) {
    const image = await codec.decode(raster.pngBase64);
    if (image.width === record.width && image.height === record.height) images.set(raster.id, image);
  }
  store.load(record, images);
  return [...images.keys()];
}
