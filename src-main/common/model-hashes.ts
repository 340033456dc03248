// Which of A1111's hashes names a model of each kind in a picture's metadata (ModelRef.hash). The studio's
// library resolver (stored hashes) and the CLI's file resolver (hashing the file) compute the hashes their own
// ways; the choice of hash per kind is made here, once, so both write the same metadata.

import type { ModelKind } from './contract.ts';

/** The ways a resolver computes a model's hashes; only the one its kind uses is called. */
export interface ModelHashSources {
  /** kohya's addnet hash (sha256 of the bytes after the safetensors header)[0:12]: how A1111 names LoRAs. */
  lora(): string | Promise<string>;
  /** A1111's legacy 8-digit hash: how sd-webui-controlnet names control models. */
  legacy(): string | Promise<string>;
  /** sha256[0:10]: how A1111 names checkpoints and VAEs. */
  short(): string | Promise<string>;
}

/** The hash a picture's metadata gives a model of `kind`; upscalers get none. */
export async function metadataHash(kind: ModelKind, sources: ModelHashSources): Promise<string> {
  switch (kind) {
    case 'lora':
      return sources.lora();
    case 'upscaler':
      return '';
    case 'controlnet':
    case 'cnxs':
    case 'ctrlora-lora':
    case 'ctrlora-base':
      return sources.legacy();
    default:
      return sources.short(); // checkpoint and VAE
  }
}
