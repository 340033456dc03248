// How a picture's record and a read A1111 PNG name a model: shapes that generation-contract.ts and the
// contracts it imports (hires-contract.ts) share, kept apart so neither imports the other.

/** A model as a picture's record names it. `id` is null when it is no longer (or never was) in the library. */
export interface ModelRef {
  id: number | null;
  name: string;
  /** A1111's hash: checkpoints sha256[0:10], ControlNets the legacy 8 digits, LoRAs the addnet 12 digits. */
  hash: string;
  path: string;
}

/** A model an A1111 PNG names, and the library model that matches it (by hash, else by name). */
export interface ReadModel {
  name: string;
  hash: string;
  id: number | null;
}
