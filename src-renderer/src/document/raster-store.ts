// Pixel buffers of the document's layers, kept out of reactive state. A layer record names its raster by id;
// the RasterStore owns one RasterSurface per id. In the browser a surface is an OffscreenCanvas (raster-canvas.ts)
// so tools can draw with the 2D context and Konva can show it; under node it is a plain RGBA array
// (PixelSurface), which keeps the store, the undo history and the hint processing testable without a DOM.
// Every raster of a document has the document's size. Pure module.

/** An integer pixel rectangle; w and h are > 0 for a non-empty one. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** 8-bit RGBA pixels, row-major, straight (not premultiplied) alpha, as ImageData holds them. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray; // [H, W, 4]
}

/** Storage of one raster's pixels. Implementations: PixelSurface (arrays), CanvasSurface (OffscreenCanvas). */
export interface RasterSurface {
  readonly width: number;
  readonly height: number;
  /** A copy of the pixels of `rect` (which lies inside the surface): w*h*4 bytes. */
  read(rect: Rect): Uint8ClampedArray;
  /** Replaces the pixels of `rect` with `pixels` (w*h*4 bytes). */
  write(rect: Rect, pixels: Uint8ClampedArray): void;
}

export type SurfaceFactory<S extends RasterSurface> = (width: number, height: number) => S;

export function fullRect(width: number, height: number): Rect {
  return { x: 0, y: 0, w: width, h: height };
}

export function isEmptyRect(r: Rect): boolean {
  return r.w <= 0 || r.h <= 0;
}

/** The integer rectangle covering `r`, clipped to a width x height surface (possibly empty). */
export function clipRect(r: Rect, width: number, height: number): Rect {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(width, Math.ceil(r.x + r.w));
  const y1 = Math.min(height, Math.ceil(r.y + r.h));
  return { x: x0, y: y0, w: Math.max(0, x1 - x0), h: Math.max(0, y1 - y0) };
}

export function unionRect(a: Rect, b: Rect): Rect {
  if (isEmptyRect(a)) return { ...b };
  if (isEmptyRect(b)) return { ...a };
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

/** Copies the rows of `src` (a w x h block) into `dst` (a dw-wide block) at (dx, dy). */
export function blit(src: Uint8ClampedArray, w: number, h: number, dst: Uint8ClampedArray, dw: number, dx: number, dy: number): void {
  for (let row = 0; row < h; row++) {
    const from = row * w * 4;
    dst.set(src.subarray(from, from + w * 4), ((dy + row) * dw + dx) * 4);
  }
}

/** Copies the w x h block at (sx, sy) out of `src` (an sw-wide block). */
export function crop(src: Uint8ClampedArray, sw: number, sx: number, sy: number, w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  for (let row = 0; row < h; row++) {
    const from = ((sy + row) * sw + sx) * 4;
    out.set(src.subarray(from, from + w * 4), row * w * 4);
  }
  return out;
}

/** A surface over a plain RGBA array: the node implementation, and the reference for CanvasSurface. */
export class PixelSurface implements RasterSurface {
  readonly data: Uint8ClampedArray; // [H, W, 4]

  constructor(
    readonly width: number,
    readonly height: number,
    data?: Uint8ClampedArray,
  ) {
    if (data && data.length !== width * height * 4) {
      throw new RangeError(`PixelSurface: ${data.length} bytes do not make a ${width}x${height} RGBA image`);
    }
    this.data = data ?? new Uint8ClampedArray(width * height * 4);
  }

  read(rect: Rect): Uint8ClampedArray {
    return crop(this.data, this.width, rect.x, rect.y, rect.w, rect.h);
  }

  write(rect: Rect, pixels: Uint8ClampedArray): void {
    blit(pixels, rect.w, rect.h, this.data, this.width, rect.x, rect.y);
  }
}

export const pixelSurfaces: SurfaceFactory<PixelSurface> = (w, h) => new PixelSurface(w, h);

/** Whole-raster pixels of any surface. */
export function readImage(surface: RasterSurface): RgbaImage {
  return { width: surface.width, height: surface.height, data: surface.read(fullRect(surface.width, surface.height)) };
}

export type RasterListener = (rasterId: string, rect: Rect) => void;

/**
 * The rasters of the open document by id. Owned by the DocumentStore, which is the only writer: every change
 * goes through it so that it can be undone. Rasters of removed layers stay here while an undo step may bring
 * the layer back; `retain` drops the rest.
 */
export class RasterStore<S extends RasterSurface = RasterSurface> {
  private readonly surfaces = new Map<string, S>();
  private readonly listeners = new Set<RasterListener>();

  constructor(private readonly create: SurfaceFactory<S>) {}

  has(id: string): boolean {
    return this.surfaces.has(id);
  }

  /** The surface of `id`; throws when there is none (a layer naming an unknown raster is a bug). */
  get(id: string): S {
    const surface = this.surfaces.get(id);
    if (!surface) throw new Error(`RasterStore: there is no raster ${id}`);
    return surface;
  }

  ids(): string[] {
    return [...this.surfaces.keys()];
  }

  /** A new transparent raster (or the one already there). */
  ensure(id: string, width: number, height: number): S {
    let surface = this.surfaces.get(id);
    if (!surface) {
      surface = this.create(width, height);
      this.surfaces.set(id, surface);
    }
    return surface;
  }

  /** Sets a raster's whole content (loading, importing an image). */
  put(id: string, image: RgbaImage): S {
    const surface = this.ensure(id, image.width, image.height);
    if (surface.width !== image.width || surface.height !== image.height) {
      throw new RangeError(`RasterStore: raster ${id} is ${surface.width}x${surface.height}, not ${image.width}x${image.height}`);
    }
    const rect = fullRect(image.width, image.height);
    surface.write(rect, image.data);
    this.changed(id, rect);
    return surface;
  }

  /** Keeps only the rasters in `keep`. */
  retain(keep: Iterable<string>): void {
    const wanted = new Set(keep);
    for (const id of [...this.surfaces.keys()]) if (!wanted.has(id)) this.surfaces.delete(id);
  }

  clear(): void {
    this.surfaces.clear();
  }

  /** Tells views a raster's pixels changed in `rect` (the canvas redraws its node). */
  onChange(listener: RasterListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(id: string, rect: Rect): void {
    for (const listener of [...this.listeners]) listener(id, rect);
  }
}
