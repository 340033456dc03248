// Live previews without the VAE: SD1.5's four latent channels map almost linearly onto RGB, so a fixed 4x3
// projection gives a recognisable picture at latent resolution for the cost of a few multiply-adds per pixel
// (the factors A1111 and ComfyUI use for their "approx cheap" previews of SD1.x latents).

const LATENT_RGB: readonly (readonly [number, number, number])[] = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
];

/** Latents [1, 4, h, w] -> RGB8 pixels [h, w, 3] (row-major, for PNG encoding). */
export function latentToRgb(latents: Float32Array, h: number, w: number): Uint8Array {
  const plane = h * w;
  if (latents.length < 4 * plane) throw new RangeError(`latent preview: ${latents.length} values for 4x${h}x${w}`);
  const out = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += latents[k * plane + p] * LATENT_RGB[k][c];
      out[p * 3 + c] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
  }
  return out;
}
