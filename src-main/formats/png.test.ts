import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { crc32 } from './crc32.ts';
import { decodePng, encodePng, pngChunk, readPngText, type PngImage } from './png.ts';

// PNGs written by Pillow 12.3 (rgba, palette, grey1, la, grey16) and by hand in Python (interlaced, rgb16)
// from the pixel patterns below; base64 so the test stands on its own.
const VECTORS: Record<string, string> = {
  rgba:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAYAAADTcMcaAAAAT3RFWHRwYXJhbWV0ZXJzAGEgY2F0LCAocmVkOjEuMikKTmVnYXRp' +
    'dmUgcHJvbXB0OiBibHVycnkKU3RlcHM6IDIwLCBTYW1wbGVyOiBFdWxlciBhCK9JygAAACN6VFh0emlwcGVkAAB4nEvOzy0oSi0u' +
    'Tk1RKEmtKFFIHmR8AK+rPkWLSz7MAAAAJWlUWHR1bmljb2RlAAAAamEA44Om44OLAOadseS6rCBjYWbDqSDwn5CxxpgI3gAAAJJJ' +
    'REFUeJzNzrENQQEUheF78j85ERGRGzGA6k2gMsGrTKAygepN8CoTqEygMoHKBCoTqExAc2MG3Zf8xTmKiEj0SYhktEl8S8aRTPpk' +
    'OiSzSObXJLtkEcny3bjVxyiMWqNHeW90Kp+NduWn0apxqzBaGL0qbI0u5aPRoXw3WhtF41Yyv7WN0a3cGw3lq1FX/vd7X60zJsAV' +
    'znCuAAAAAElFTkSuQmCC',
  palette:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHAgMAAACuHi+JAAAADFBMVEX/AAAAgP8KyB4AAAAKxSnJAAAABHRSTlP//4AA6I3MzQAA' +
    'AB9JREFUeJxjYIzaz8AUGsrowLD6g2gDwx/WrAMMqGIAsHsKmnKiOjkAAAAASUVORK5CYII=',
  grey1:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHAQAAAAD7C/q3AAAAEUlEQVR4nGMM/c0S+o8RlQQAX2IJSkV5lrkAAAAASUVORK5CYII=',
  la:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAQAAAB5eQ+RAAAAI0lEQVR4nGNkYBDUwA5ZZBkEcUBypGSxS8ni0gUTQZNC5gEApZAI' +
    'bFC5GA8AAAAASUVORK5CYII=',
  grey16:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHEAAAAACmi0SFAAAAL0lEQVR4nGNkYBDuFunGhpkYjZEhEzJGFUJRhikEU8iEzTi4LuzG' +
    'MRoz4TKO0RgAFKQXY6QMbREAAAAASUVORK5CYII=',
  interlaced:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHCAYAAAGkd/eMAAABhUlEQVR4nAF6AYX+AAAAAACYGED/AEwMEP/kJJDwABykBP9osBT/' +
    'tLxEoADIlP8AJgYE/3ISJHi+HmT/AEKqCCiOtij/2sJo/wAOUgL/NFgG/1peElCAZCb/pmpC/8xwZsjydpL/ACr2BgBQ/Ar/dgIW' +
    '/5wIKnjCDkb/6BRq/w4alvAAEwMB/zkJCTxfDxn/hRUx/6sbUbTRIXn/ACFVAxRHWwv/bWEb/5NnM4y5bVP/33N7/wAvpwX/Va0N' +
    '/3uzHWShuTX/x79V/+3FfdwAPfkH/2P/DzyJBR//rws3/9URV7T7F3//AAcpAf8aLAL/LS8FKEAyCv9TNRH/ZjgaZHk7Jf+MPjL/' +
    'n0FBoLJEUv/FR2X/2Ep63OtNkf8AFXsDACh+BP87gQf/ToQMPGGHE/90ihz/h40neJqQNP+tk0P/wJZUtNOZZ//mnHz/+Z+T8AAj' +
    'zQX/NtAGFEnTCf9c1g7/b9kVUILcHv+V3yn/qOI2jLvlRf/O6Fb/4etpyPTufv8H8ZX/3bqzQEMq68oAAAAASUVORK5CYII=',
  rgb16:
    'iVBORw0KGgoAAAANSUhEUgAAAA0AAAAHEAIAAAAMgowOAAACNElEQVR4nAEpAtb9AAAAIylGUhOLNrRZ3ScWSj9taDqhXcqA804s' +
    'cVWUfmG3hOCoCXVCmGu7lIjNq/bPH5xYv4Hiqq/j0wz2NcNu5pcJwNb5+iIdS+qEDa0w1gABMyRcR4UUvjfnWxAoSUtybps71F79' +
    'giZPX3KIlbFi6oYTqTx2dZmevMeKAK0p0FKdi8C0492xFtQ/92jEoefKCvPYLPtVHn7rtw7gMgkAAmYlj0i4FfE5GlxDKXxMpW/O' +
    'PQdgMINZUJJzu5bkZB2HRqpvd6ia0b36izOuXNGFnr7B5+UQsknVcvibxdTo/Qwm2V/8iB+x7OoQEzM8AAOZJsJJ6xckOk1ddiqv' +
    'TdhxAT46YWOEjFHFdO6YF2VQiHmronjbnAS/LYxmr4/SuJ/xwxrmQ7N81qX5zscH6jANWdqS/bsg5O4dEUY0bwAEzCf1Sx4YVzuA' +
    'Xqkr4k8LcjQ/bWKWhb9S+HYhmUpmg4msrNV6Dp03wGCNmbDC0+uhJMRN53a0r9fY+wHIOutjDozbxf7uIhfvUBJ5NaIABf8pKExR' +
    'GYo8s1/cLRVQPnNnQKBjyYbyVCt3VJp9Z7aK364Ie0GeasGTjsyx9dUeolfFgOipteLZC/w0yW3slg+/3PgAISNK8IMTrDbVAAcy' +
    'KltNhBq9PeZhDy5IUXF0mkHTZPyIJVVeeIebsGjpjBKvO3x0n53Cxo//syjWUaOKxrPp3LcV2j79Z8qg7ckQ8t4rAVQkffG2FN84' +
    'CJK2ECwGYfbaAAAAAElFTkSuQmCC',
};

const W = 13;
const H = 7;
const png = (name: string): Buffer => Buffer.from(VECTORS[name], 'base64');
function pattern(channels: number, px: (x: number, y: number) => number[]): Uint8Array {
  const out = new Uint8Array(W * H * channels);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.set(px(x, y), (y * W + x) * channels);
  return out;
}
const rgbaPattern = pattern(4, (x, y) => [(x * 19 + y * 7) % 256, (x * 3 + y * 41) % 256, (x * x + y) % 256, (x + y) % 3 ? 255 : (x * 20) % 256]);

test('decodes Pillow RGBA with tEXt, zTXt and iTXt', () => {
  const img = decodePng(png('rgba'));
  assert.deepEqual([img.width, img.height, img.channels], [W, H, 4]);
  assert.deepEqual(img.data, rgbaPattern);
  assert.equal(img.text.parameters, 'a cat, (red:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a');
  assert.equal(img.text.zipped, 'compressed text '.repeat(10));
  assert.equal(img.text.unicode, '東京 café 🐱');
  assert.deepEqual(readPngText(png('rgba')), img.text);
});

test('decodes Adam7-interlaced RGBA', () => {
  assert.deepEqual(decodePng(png('interlaced')).data, rgbaPattern);
});

test('decodes palette with transparency, 1-bit grey, grey+alpha, 16-bit grey and 16-bit RGB', () => {
  const cols = [[255, 0, 0, 255], [0, 128, 255, 255], [10, 200, 30, 128], [0, 0, 0, 0]];
  const palette = decodePng(png('palette'));
  assert.equal(palette.channels, 4);
  assert.deepEqual(palette.data, pattern(4, (x, y) => cols[(Math.floor(x / 3) + y) % 4]));
  const grey1 = decodePng(png('grey1'));
  assert.equal(grey1.channels, 1);
  assert.deepEqual(grey1.data, pattern(1, (x, y) => [(x ^ y) & 1 ? 255 : 0]));
  assert.deepEqual(decodePng(png('la')).data, pattern(2, (x, y) => [(x * 17 + y * 29) % 256, (x * 40) % 256]));
  assert.deepEqual(decodePng(png('grey16')).data, pattern(1, (x, y) => [((x * 5003 + y * 307) % 65536) >> 8]));
  const rgb16 = decodePng(png('rgb16'));
  assert.equal(rgb16.channels, 3);
  assert.deepEqual(rgb16.data, pattern(3, (x, y) => [0, 1, 2].map((c) => ((x * 5003 + y * 307 + c * 9001) % 65536) >> 8)));
});

test('encode then decode returns the pixels and the text, for every channel count', () => {
  for (const channels of [1, 2, 3, 4] as const) {
    const data = new Uint8Array(31 * 17 * channels).map((_, i) => (i * 37 + (i >> 5)) & 0xff);
    const image: PngImage = { width: 31, height: 17, channels, data };
    const text = { parameters: 'a cat\nSteps: 20, Seed: 1', Title: 'naïve', unicode: '東京 🐱' };
    const bytes = encodePng(image, text);
    const back = decodePng(bytes);
    assert.deepEqual({ ...back, data: [...back.data] }, { ...image, data: [...data], text });
  }
});

test('text is written as tEXt when Latin-1 and as iTXt otherwise (as PIL does)', () => {
  const bytes = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, { a: 'café', b: '東京' });
  const types: string[] = [];
  for (let pos = 8; pos < bytes.length; pos += 12 + bytes.readUInt32BE(pos)) types.push(bytes.toString('latin1', pos + 4, pos + 8));
  assert.deepEqual(types, ['IHDR', 'tEXt', 'iTXt', 'IDAT', 'IEND']);
  assert.throws(() => encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, { '': 'x' }), /keyword/);
  assert.throws(() => encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array(3) }), /expected 2x1x3 bytes/);
});

test('crc32 is the PNG/zlib CRC', () => {
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('damaged or hostile PNGs are refused with a typed error naming the problem', () => {
  const good = png('rgba');
  const check = (bytes: Uint8Array, pattern: RegExp, options = {}): void => {
    assert.throws(() => decodePng(bytes, { source: 'x.png', ...options }), (err: Error & { kind?: string }) => {
      return err.kind === 'bad-png' && err.message.startsWith('x.png: ') && pattern.test(err.message);
    });
  };
  check(Buffer.from('GIF89a'), /signature/);
  const flipped = Buffer.from(good);
  flipped[40] ^= 1;
  check(flipped, /CRC mismatch/);
  check(good.subarray(0, good.length - 20), /truncated|past the end/);
  check(good, /larger than allowed/, { maxPixels: 10 });
  // a zip bomb: the IDAT inflates far beyond what 1x1 pixels need
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  const sig = good.subarray(0, 8);
  const bomb = Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.alloc(50 << 20))), pngChunk('IEND', Buffer.alloc(0))]);
  check(bomb, /image data/);
  const badFilter = Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.from([9, 1, 2, 3]))), pngChunk('IEND', Buffer.alloc(0))]);
  check(badFilter, /filter type 9/);
  const depth = Buffer.from(ihdr);
  depth[8] = 4; // RGB at 4 bits is not a PNG
  check(Buffer.concat([sig, pngChunk('IHDR', depth), pngChunk('IEND', Buffer.alloc(0))]), /colour type 2 with bit depth 4/);
  check(Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('AbCD', Buffer.alloc(0))]), /unknown critical chunk AbCD/);
});
