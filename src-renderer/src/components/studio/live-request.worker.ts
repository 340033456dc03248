// Builds a live request off the main thread: the hint images (document/control-images.ts), their PNG encoding
// and base64, which take tens of milliseconds per picture and would otherwise land in the middle of a stroke's
// frames. The page sends the document record and the pixels of the rasters the request reads (transferred,
// not copied); the answer is the same BuiltRequest buildGenerateInput gives on the main thread.
import type { LibraryItem } from '../../../../src-main/common/contract.ts';
import type { DocumentRecord } from '../../../../src-main/common/document/model.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import { buildGenerateInput } from './generate-request.ts';

export interface LiveRequestJob {
  seq: number;
  doc: DocumentRecord;
  rasters: [string, RgbaImage][];
  composite: RgbaImage | null;
  library: LibraryItem[];
  checkpointId: number | null;
  width: number;
  height: number;
  denoise: number;
}

const scope = self as unknown as { onmessage: ((e: MessageEvent<LiveRequestJob>) => void) | null; postMessage(m: unknown): void };

scope.onmessage = async (e) => {
  const job = e.data;
  try {
    const rasters = new Map(job.rasters);
    const built = await buildGenerateInput({
      doc: job.doc,
      pixels: (id) => rasters.get(id) ?? null,
      composite: () => job.composite ?? { width: job.doc.width, height: job.doc.height, data: new Uint8ClampedArray(job.doc.width * job.doc.height * 4).fill(255) },
      library: job.library,
      checkpointId: job.checkpointId,
      width: job.width,
      height: job.height,
      denoise: job.denoise,
    });
    scope.postMessage({ seq: job.seq, built });
  } catch (err) {
    scope.postMessage({ seq: job.seq, error: { message: (err as Error)?.message ?? String(err), kind: (err as { kind?: string })?.kind } });
  }
};
