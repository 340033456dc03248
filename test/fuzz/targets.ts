// What the fuzzer feeds: each parser that reads input Hintbrush does not control (a file the artist drops or
// adds, a frame from the page), its seeds (small valid inputs, so each run is quick), and the errors it is
// allowed to throw: its own typed error. Anything else (a TypeError, a RangeError from a huge allocation, a
// plain Error) is a finding, as is an input that takes more than a second.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateRequest, ContractError } from '../../src-main/common/contract.ts';
import { regionsFromPngText, regionsToPngText } from '../../src-main/common/regions-contract.ts';
import { METHOD_NAMES, parseRequest, parseServerMessage, WireError } from '../../src-main/common/wire.ts';
import { emitOnnx } from '../../src-main/engine/graph/emit-onnx.ts';
import { fakeDepthModel, fakePoseModel } from '../../src-main/engine/annotators/synthetic-annotators.test-support.ts';
import { readOnnxSignature } from '../../src-main/formats/onnx-reader.ts';
import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { loadPickle } from '../../src-main/formats/pickle.ts';
import { encodeSafetensors } from '../../src-main/formats/safetensors.ts';
import { TensorFileError } from '../../src-main/formats/tensor-file.ts';
import { stateDictPickle, torchArchive } from '../../src-main/formats/pickle-zip-builders.test-support.ts';
import { parseParameters } from '../../src-main/generation/a1111-parameters.ts';
import { infotextToSettings } from '../../src-main/generation/infotext.ts';
import { crc32 } from '../../src-main/formats/crc32.ts';
import { decodePng, encodePng, PngError, readPngText } from '../../src-main/formats/png.ts';
import { fixturesDir } from '../support/paths.ts';
import { mutateBytes, mutateText, randomJson, type Random } from './mutate.ts';

export interface FuzzTarget {
  name: string;
  /** Makes one input from the seeds and runs the parser on it; returns the input (for the record of a finding). */
  step(r: Random): Uint8Array;
  /** Whether a thrown error is the parser refusing the input as it should. */
  expected(err: unknown): boolean;
}

/** Scratch file for the parsers that read files (in memory where the system has /dev/shm). */
const scratch = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `hintbrush-fuzz-${process.pid}`);
export const removeScratch = () => fs.rmSync(scratch, { force: true });

const tensorFileError = (e: unknown) => e instanceof TensorFileError;

function fileTarget(name: string, seeds: Uint8Array[], focus: number, read: (file: string) => void): FuzzTarget {
  return {
    name,
    step(r) {
      const input = mutateBytes(r, seeds[Math.floor(r() * seeds.length)], focus, seeds);
      fs.writeFileSync(scratch, input);
      read(scratch);
      return input;
    },
    expected: tensorFileError,
  };
}

const f32 = (n: number, k = 1) => Float32Array.from({ length: n }, (_, i) => i * k);
const A1111 =
  'a castle on a hill, (sunset:1.2) <lora:add_detail:0.6>\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, ' +
  'Size: 512x768, Model hash: 879db523c3, Model: dreamshaper_8, Denoising strength: 0.5, Clip skip: 2, ' +
  'ControlNet 0: "Module: none, Model: control_v11p_sd15_canny [d14c016b], Weight: 1, Guidance Start: 0, Guidance End: 1", ' +
  'Lora hashes: "add_detail: 7c6bad76eb54", Version: v1.9.4';

export function targets(): FuzzTarget[] {
  const safetensors = [
    encodeSafetensors([{ name: 'a.weight', dtype: 'F32', shape: [2, 3], data: f32(6) }, { name: 'b', dtype: 'F16', shape: [4], data: new Uint16Array(4) }, { name: 'c', dtype: 'I64', shape: [], data: new BigInt64Array(1) }], { ss_network_alpha: '4', note: 'ü' }),
    encodeSafetensors([{ name: 'lora_unet_x.lora_down.weight', dtype: 'BF16', shape: [4, 8], data: new Uint16Array(32) }, { name: 'lora_unet_x.alpha', dtype: 'F32', shape: [], data: f32(1) }]),
    encodeSafetensors([]),
  ];
  const tensor = (key: string, shape: number[]) => ({ key, numel: shape.reduce((a, b) => a * b, 1), shape });
  const pickles = [
    stateDictPickle({ 'model.w': tensor('0', [2, 3]), 'model.b': tensor('1', [3]) }),
    stateDictPickle({ 'control_model.zero_convs.0.0.weight': tensor('0', [4, 4, 1, 1]) }),
  ];
  const archives = [
    torchArchive(pickles[0], { '0': Buffer.from(f32(6).buffer), '1': Buffer.from(f32(3).buffer) }),
    torchArchive(pickles[1], { '0': Buffer.from(f32(16).buffer) }, { deflate: ['data.pkl'] }),
    ...['hostile-eval.ckpt', 'hostile-os-system.ckpt', 'hostile-subprocess.ckpt'].map((f) => fs.readFileSync(path.join(fixturesDir, f))),
  ];
  const onnx = [emitOnnx(fakeDepthModel({ width: 8, height: 8 })).bytes, emitOnnx(fakePoseModel({ width: 8, height: 8 }, [{ index: 0, x: 2, y: 3, score: 0.9 }], 4)).bytes];
  const pngs = [
    encodePng({ width: 8, height: 6, channels: 3, data: Uint8Array.from({ length: 144 }, (_, i) => i * 7) }, { parameters: A1111 }),
    encodePng({ width: 5, height: 5, channels: 2, data: Uint8Array.from({ length: 50 }, (_, i) => i * 5) }, { parameters: 'ein Schloss 城 \u202e', Comment: 'x' }),
    encodePng({ width: 3, height: 9, channels: 4, data: new Uint8Array(108).fill(200) }),
  ];
  const readAll = (file: string) => {
    const f = openTensorFile(file);
    try {
      for (const name of f.tensors.keys()) f.readFloat32(name);
    } finally {
      f.close();
    }
  };
  const requests = [
    JSON.stringify({ id: 1, method: 'generate.start', params: { checkpoint: 1, prompt: 'a cat', width: 512, height: 512, steps: 20, controls: [{ kind: 'controlnet', model: 2, imagePngBase64: 'iVBORw0KGgo=', weight: 1 }], init: { imagePngBase64: 'iVBORw0KGgo=', strength: 0.5 } } }),
    JSON.stringify({ id: 2, method: 'library.add', params: { paths: ['/models'] } }),
    JSON.stringify({ id: 3, method: 'history.list', params: { query: 'cat', limit: 10, offset: 0 } }),
    JSON.stringify({ id: 4, method: 'documents.create', params: { width: 512, height: 512, name: 'x' } }),
  ];

  return [
    fileTarget('safetensors', safetensors, 256, readAll),
    fileTarget('torch-zip', archives, 4096, readAll),
    {
      name: 'pickle',
      step(r) {
        const input = mutateBytes(r, pickles[Math.floor(r() * pickles.length)], 1 << 16, pickles);
        loadPickle(input, 'fuzz.pkl', (pid) => pid);
        return input;
      },
      expected: tensorFileError,
    },
    {
      name: 'png',
      step(r) {
        const input = mutateBytes(r, pngs[Math.floor(r() * pngs.length)], 1 << 16, pngs);
        // most of the time the CRCs are made right again, so the mutation reaches the header, text and pixels
        if (r() < 0.7) fixPngCrcs(input);
        readPngText(input);
        const png = decodePng(input, { maxPixels: 1 << 20 });
        if (png.text.parameters !== undefined) infotextToSettings(png.text.parameters);
        return input;
      },
      expected: (e) => e instanceof PngError,
    },
    {
      name: 'a1111-text',
      step(r) {
        const text = mutateText(r, A1111);
        parseParameters(text);
        infotextToSettings(text);
        return Buffer.from(text);
      },
      expected: () => false, // any text reads as some settings: throwing is a finding
    },
    {
      // the hintbrush-regions chunk of a dropped PNG (its masks are decoded by the png target's decoder)
      name: 'regions-chunk',
      step(r) {
        const seed = regionsToPngText([
          { maskPngBase64: encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(255) }).toString('base64'), prompt: 'a red (dragon:1.2)', feather: 8, appendMain: true },
          { maskPngBase64: 'iVBORw0KGgo=', prompt: 'ü castle', feather: 0, appendMain: false },
        ], r() < 0.5 ? [] : [['ControlNet 0', 'CtrLoRA 0'], []]); // version 1, or 2 with hints tied to a region
        const text = mutateText(r, seed);
        regionsFromPngText(text);
        return Buffer.from(text);
      },
      expected: (e) => e instanceof ContractError,
    },
    fileTarget('onnx-annotator', onnx, 1 << 16, (file) => readOnnxSignature(file)),
    {
      name: 'wire',
      step(r) {
        const seed = requests[Math.floor(r() * requests.length)];
        const text = r() < 0.5 ? mutateText(r, seed) : JSON.stringify({ id: 1 + Math.floor(r() * 5), method: METHOD_NAMES[Math.floor(r() * METHOD_NAMES.length)], params: randomJson(r) });
        parseServerMessage(text); // the page's side: never throws
        const request = parseRequest(text);
        validateRequest(request.method, request.params);
        return Buffer.from(text);
      },
      expected: (e) => e instanceof WireError || e instanceof ContractError,
    },
  ];
}

/** Rewrites the CRC of every chunk that lies within the bytes (in place). */
function fixPngCrcs(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 8; pos + 12 <= bytes.length; ) {
    const length = view.getUint32(pos);
    if (pos + 12 + length > bytes.length) return;
    view.setUint32(pos + 8 + length, crc32(bytes.subarray(pos + 4, pos + 8 + length)));
    pos += 12 + length;
  }
}
