// What a probe of the library scanner is and answers (probes.ts picks one by extension). Its own module so the
// probes in other files (detect-annotator.ts) and probes.ts, which lists them, import each other in no cycle.
import type { Detection } from '../model-detection/detect.ts';

export interface ProbeResult extends Detection {
  /** safetensors `__metadata__` (torch files: the scalar entries beside the state dict). */
  metadata: Record<string, string>;
  triggerWords: string[];
}

export interface FileProbe {
  readonly name: string;
  /** Bumped when the probe's answers change; the scanner re-probes rows an older version wrote. */
  readonly version: number;
  /** Lower-case extensions with their dot, e.g. '.safetensors'. */
  readonly extensions: readonly string[];
  probe(file: string): Promise<ProbeResult>;
}
