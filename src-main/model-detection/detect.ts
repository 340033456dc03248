// Model detection: what a weights file is, read from its key names and tensor shapes only (never from its file
// name). Detectors are tried in order and the first that recognises the file wins; the order matters where
// layouts nest (a ControlNet 1.0 `.pth` holds a whole SD model next to `control_model.*`, a checkpoint holds
// a VAE). A later issue adds its own detectors (e.g. annotators) by passing a longer list.
import type { TensorFile } from '../formats/tensor-file.ts';
import {
  diffusionTransformerDetector,
  embeddingDetector,
  otherUNetFamiliesDetector,
  sd15CheckpointDetector,
  vaeDetector,
} from './detect-checkpoints.ts';
import {
  controlNetDiffusersDetector,
  controlNetOriginalDetector,
  controlNetXSDetector,
  ctrLoraBaseDetector,
  ctrLoraConditionDetector,
} from './detect-control.ts';
import { KeyIndex, type Detection, type Detector } from './detect-keys.ts';
import { diffusersLoraDetector, kohyaLoraDetector } from './detect-lora.ts';

export { KeyIndex, unsupported, type Detection, type Detector } from './detect-keys.ts';

/**
 * Bumped whenever detection changes what it says about a file: the scanner re-detects rows recorded by an
 * older version (without re-hashing them).
 */
export const DETECTOR_VERSION = 2;

export const defaultDetectors: readonly Detector[] = [
  embeddingDetector,
  controlNetXSDetector,
  controlNetOriginalDetector,
  controlNetDiffusersDetector,
  ctrLoraConditionDetector,
  ctrLoraBaseDetector,
  diffusionTransformerDetector,
  otherUNetFamiliesDetector,
  sd15CheckpointDetector,
  kohyaLoraDetector,
  diffusersLoraDetector,
  vaeDetector,
];

/**
 * Says what `file` is. Never throws for an odd file: what no detector recognises is kind 'unknown' with a
 * problem text. Every result's details also carry the format, tensor count, parameter count and main dtype.
 */
export function detectModel(file: TensorFile, detectors: readonly Detector[] = defaultDetectors): Detection {
  const keys = new KeyIndex(file.tensors);
  let found: Detection | null = null;
  for (const detector of detectors) {
    found = detector.detect(keys, file);
    if (found) {
      found.details = { detector: detector.name, ...found.details };
      break;
    }
  }
  const result: Detection = found ?? {
    kind: 'unknown',
    layout: '',
    family: '',
    problem:
      keys.size === 0
        ? 'the file holds no tensors'
        : `not a model Hintbrush recognises (${keys.size} tensors, none in a known layout)`,
    details: {},
  };
  result.details = {
    ...result.details,
    format: file.format,
    tensors: keys.size,
    parameters: keys.parameterCount(),
    dtype: keys.dominantDType(),
  };
  if (keys.wrapper) result.details.wrapper = keys.wrapper;
  return result;
}
