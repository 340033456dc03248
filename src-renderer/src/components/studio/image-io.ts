// Pictures in and out of the studio: hint images and layer pixels to base64 PNG for the contract, history
// pictures and dropped files back to pixels at the canvas size. Browser-only (canvases, Image, FileReader).
import type { RgbImage } from '../../../../src-main/common/hints/images.ts';
import type { RgbaImage } from '../../document/raster-store.ts';

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** RGBA pixels (straight alpha) as a base64 PNG. */
export async function rgbaToPngBase64(image: { width: number; height: number; data: Uint8ClampedArray }): Promise<string> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  const g = canvas.getContext('2d')!;
  g.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return toBase64(new Uint8Array(await blob.arrayBuffer()));
}

/** An opaque RGB picture (a control image) as a base64 PNG. */
export function rgbToPngBase64(image: RgbImage): Promise<string> {
  const data = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0, o = 0; i < image.data.length; i += 3, o += 4) {
    data[o] = image.data[i];
    data[o + 1] = image.data[i + 1];
    data[o + 2] = image.data[i + 2];
    data[o + 3] = 255;
  }
  return rgbaToPngBase64({ width: image.width, height: image.height, data });
}

/** Loads a picture by URL (history images, object URLs) as an element ready to draw. */
export function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    // History pictures come from hintbrush-image:// in Electron (CORS-enabled): read back untainted.
    img.crossOrigin = 'anonymous';
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load the picture ${url.slice(0, 80)}`));
    img.src = url;
  });
}

/** A picture's pixels at the canvas size: 'fit' keeps its aspect ratio (centred), 'stretch' fills the canvas. */
export function pixelsAt(img: CanvasImageSource & { width: number; height: number }, width: number, height: number, mode: 'fit' | 'stretch' = 'stretch'): RgbaImage {
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  g.imageSmoothingQuality = 'high';
  if (mode === 'stretch') g.drawImage(img, 0, 0, width, height);
  else {
    const k = Math.min(width / img.width, height / img.height);
    const w = img.width * k;
    const h = img.height * k;
    g.drawImage(img, (width - w) / 2, (height - h) / 2, w, h);
  }
  return { width, height, data: g.getImageData(0, 0, width, height).data };
}

/** A dropped or chosen file's bytes as base64 (for png.readParameters). */
export async function fileToBase64(file: Blob): Promise<string> {
  return toBase64(new Uint8Array(await file.arrayBuffer()));
}

/** A data URL for a base64 PNG (progress previews). */
export function pngDataUrl(base64: string): string {
  return `data:image/png;base64,${base64}`;
}
