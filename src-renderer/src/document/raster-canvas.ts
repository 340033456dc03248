// Browser rasters: each layer's pixels live in an OffscreenCanvas (an HTML canvas where OffscreenCanvas is
// missing) with a 2D context created with willReadFrequently, since undo reads the dirty rectangle before and
// after every stroke segment. Konva draws `surface.canvas`; tools paint into `surface.context` inside
// DocumentStore.paint. Also the PNG codec of the autosave (canvas encoder, createImageBitmap decoder).
// Browser only: never imported by node tests.
import type { RasterSurface, Rect, RgbaImage, SurfaceFactory } from './raster-store.ts';
import type { PngCodec } from './serialise.ts';

type Canvas = OffscreenCanvas | HTMLCanvasElement;
type Context = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

function makeCanvas(width: number, height: number): Canvas {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function context2d(canvas: Canvas): Context {
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as Context | null;
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  return ctx;
}

/** ImageData wants its own ArrayBuffer-backed array of exactly w*h*4 bytes. */
function imageData(pixels: Uint8ClampedArray, w: number, h: number): ImageData {
  const own = pixels.byteOffset === 0 && pixels.buffer instanceof ArrayBuffer && pixels.buffer.byteLength === w * h * 4;
  const data = (own ? pixels : new Uint8ClampedArray(pixels)) as Uint8ClampedArray<ArrayBuffer>;
  return new ImageData(data, w, h);
}

export class CanvasSurface implements RasterSurface {
  readonly canvas: Canvas;
  readonly context: Context;
  readonly width: number;
  readonly height: number;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.canvas = makeCanvas(width, height);
    this.context = context2d(this.canvas);
  }

  read(rect: Rect): Uint8ClampedArray {
    return this.context.getImageData(rect.x, rect.y, rect.w, rect.h).data;
  }

  write(rect: Rect, pixels: Uint8ClampedArray): void {
    this.context.putImageData(imageData(pixels, rect.w, rect.h), rect.x, rect.y);
  }
}

export const canvasSurfaces: SurfaceFactory<CanvasSurface> = (w, h) => new CanvasSurface(w, h);

function bytesToBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

async function canvasToPng(canvas: Canvas): Promise<Blob> {
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type: 'image/png' });
  return new Promise((resolve, reject) =>
    (canvas as HTMLCanvasElement).toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas made no PNG'))), 'image/png'),
  );
}

/** PNG through the browser's own encoder and decoder (straight alpha in, straight alpha out). */
export const canvasPngCodec: PngCodec = {
  async encode(image: RgbaImage): Promise<string> {
    const canvas = makeCanvas(image.width, image.height);
    context2d(canvas).putImageData(imageData(image.data, image.width, image.height), 0, 0);
    return bytesToBase64(new Uint8Array(await (await canvasToPng(canvas)).arrayBuffer()));
  },
  async decode(pngBase64: string): Promise<RgbaImage> {
    const blob = new Blob([base64ToBytes(pngBase64)], { type: 'image/png' });
    // No colour-space conversion or premultiplication: the pixels are data (hints), not a photo to display.
    const bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    try {
      const canvas = makeCanvas(bitmap.width, bitmap.height);
      const ctx = context2d(canvas);
      ctx.drawImage(bitmap, 0, 0);
      return { width: bitmap.width, height: bitmap.height, data: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data };
    } finally {
      bitmap.close();
    }
  },
};
