// Resizing against Pillow 12.3 (the library A1111 resizes with): the expected bytes below were written by
// Pillow's Image.resize(LANCZOS) and by A1111's resize_image code run over Pillow, on a 13x9 RGB pattern.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lanczosResize, paste, resizeImage, toGrey, toRgb, type Image8 } from './image-resize.ts';

const PILLOW = {
  source: 'ADVqJVqPSn+0b6TZlMn+ue4j3hNIAzhtKF2STYK3cqfcl8wBvPEmW5DFi8D1u/Al6yBVG1CFS4C1e7DlXpPIjsP4vvMo7iNYHlOIToO4tusg8SZbLGGWZ5zRVYq/kMX6ywA1ue4j9CleL2SZap/UWI3Ck8j9EUZ7V4zBndIHlssA3BFG1Qo/G1CFFEl+Wo/EoNUKmc4D3xRJ2A1CbKHWvfInwfYrEkd8FkuAZ5zRa6DVb6TZwPUqxPkuFUp/GU6Dap/Ux/wxI1iNMmecQXarndIHrOEWu/Alyv80JluQNWqfRHmuoNUKr+QZIleMib7zo9gNvfIn1wxB8SZbC0B1JVqPjMH2ptsQwPUq2g9E9ClefbLnotcMx/wx7CFWEUZ7NmugW5DFgLXqpdoPyv807yRZFEl+OW6j2A1CCD1yOG2iaJ3SmM0CyP0y+C1i2xBFC0B1O3Cla6DVm9AFywA1',
  down_8x8: 'DEuLWoilhLPXwaZPRCx3NYSwh56QoNIWjrG8vaVtZEiETZXPl6TAsb+MmVVuMILNn3dFY2l/h6acrUqImWkpf159baWOt3qrRISzrv0Tfj8zezCZFmzSrfc/gogWmBJ/o9ZYUn2AJH9+ivBnvulvbZxmKWqXY91eU4GdZLR+05gnxFYkQYZyYZ6pqLwz+lQoc7qk4+oWjy9eNkutVpjTzv8swmNCQzibhjJONWukfLZnxcA70CFhLF+CdaadoF0l',
  up_20x16: 'ACxZBjdjIk2HNGK7QozWYLvzk8r/sf+4yvoR/0MPpwBFAC5cAEpwL1CQOmzDS53/bcXBntgIwvIAzP8iEUGMHVuoQI62aK2LkZSCmnWweYzUcMGimMZDx3ZjijiPFkeTF2y2UJqudLCFnI6nl3iWdJssg8Apns1QSn28W5Pvg9Hlp/9O6Jwe3h5eUTmBGG2RVYSjfarUcJ/bT4TJY57/juXLtvo29nswxxpnN0pyLnyTX4mpn+d1yayZ132mhq1jmYljsDuaOU6VC43IVaj/l3LLq42Eqt9+2qOpyYadgLVcrHVvoDmnIV++KZftYLH/p/wZ4JEy4BdkTEKJLIu2aaHPXoa5Z67flr/0wxpzwToQtekg839FxhRvNlmUP5fDb6HPXIu+fandncv6SIwqbmRqiUKfY3NgXcZRi9JVuWlq3kR70Et0hhlWTDcxUYc4gGGHhUmZX4dUaddVmsVdyVdt2D1301R1BDaPI2W2bLmoreEfpewAi64AsTE54gBIxgtJSlCGAFqjCkGaOHrDfseRtugIn+kAk5cQxRpD0wBSyhFIMWXoZKOov/844/8Glc8hLVxKKyBsZTKNgF+4WIbSLHnsPHLif8CL0P8s3/8Je7YuJkpWOR9zbkOjiWm/nM6/nc1xpdIaqNI+WoqGADSjA2B0NKt+ZdC2j8ywnse2odW1n89Tq9AeodRTQ3GXADafDXRtS72RbdjB3v9BjMBRJlt1NWmPNWS6MWKuZ7U6iuoSl+8wsfA52P861P9Ga6BeKFt9PnOaMmDFPHKcdckllvMWmfE4kbgfYpWFKl7hPG2KU6RxesZ0xKIi944A5JkPlKIigbUci7syVIazLGDWRnl5W7B3jcZq2JoT8I8C6JkVHE90S3/Mj8Pqnss/p/gEu+kvykc7/QVF8CxXU0BrBERuJVmGapvwlsjNodIhr/4Iw9A42ig+8ApQ+TRcJIToaK+/yP9h1/8M9eIA7XElfBFmYwCKfiGcMFKqBm/RMIzlkcuv0P9O2/8E/8oA3Vc2bQNzZSCYik6ejaryjbB+mNYAq/Il5Jla1xlmQzhvAXB+On+aYoqte5bdj63ik7pSnOcAt/M68nVivxZqJk5yFm2MRWyf10J9hk9bL3FFSpJvg4KxjWmtbZFIZdMqktlYwX963jqIzUZ6ZFpQMH9NXZiBjne+inueZ7U1emg3mSZh9wAkeQpPADCPDFCgPoDdXLfUmcopxP8A4P8m/G1T/wBG5wAuQhliADqXIlurR4rtatO4p/EJ1VYA5AAy',
  box_6x5: 'pYdzV2epbZi7mY+al6mZn214dLBLo3N2oCqGW19Xkn50drpQfLQ+Nk1ieaGVaa26nN1HVYNUVJt+sJY5t5Qoc7hZWYqlbKlo1dAlizpgWlOUVnbFpeVP0503',
  crop_8x12: 'YK3gjsP/rP+a2cgF5wQ5KxpcAEx0NFmVzE5xaVulRpWMh6B1lYa7QF+1L33ebcy/yzh/PkCKCobJZpf3moK3msmOwLC7wqKnX6/FbIm0gbDfrYnHwAArprwP35M+uhJyldoQylBA+A9LtSFMKkBwFFNeQmKpc4uiS4AwQB9hgSaHgF6xL3/aIGHmZaWlx/85DDuvDG5uQcR1ed6np9SYs92snc9dlbspTYujnLkqx88At9EUrOEdyPAea59zFEmwq/4w0Fo0/xU60ENPG0thG1ZhXovdhbfU/24gcRFpSw2UXzulFXHCJ5Lziceu0f80vT2TVGNfLK9YcaiGqHajvnnAholZZbQeW6jgk8Myv/8A4uBA/yRZ/wA6XhtWAEOQ',
  fill_8x12: 'OHamgZCacovCkLN/Z12cX52rj3uKaMZUOHamgZCacovCkLN/Z12cX52rj3uKaMZUOHamgZCacovCkLN/Z12cX52rj3uKaMZUOHamgZCacovCkLN/Z12cX52rj3uKaMZUQnihg5GTdIi6j6eEamCXZpyljn2GbLpgkIh9k5hfgnN8hEipf3ZzoJdyhIppjFi9caV9cbdQUmtYkZFzaaWUgr9XTYJZjntibKuVh7ljpXVFj3BTXKuLhLt+nZNIrG1Rfmdzg6RkhXtkhYpwnEuVc6ZamYl2dUZagF9vg6FkgXxohI10pD+WcaNWmYh8bkFbgF9vg6FkgXxohI10pD+WcaNWmYh8bkFbgF9vg6FkgXxohI10pD+WcaNWmYh8bkFb',
  fill_16x8: 'ADSAADSAADSABDyENn2hdJKmhaXsqN1VvTpTBD6NPoWeepXGia1BqN0arOMVrOMVhqi3hqi3hqi3iaq1o76lxYZJWjeQL5bOkpfBkKu7psWdy3xPTkKfOZ3VNqjcNqjclq8mlq8mlq8mlqEwlC99RqmIlI6VtnWwkyc2nZo1jjODTbSMnIqYuXywvXqzvXqzD0rTD0rTD0rTIFzFqe5Xn+AAay1JqB18JGfEJmjHuPZLmNcEcidTqSGDsCCJsCCJuu9yuu9yuu9ysuZtb51GPWmsJH1sbepfu+58seJrb5lNOWWzLI1mdvFof/5of/5oU4duU4duU4duVId4WojHe9I7zY40/U0iUXk3U4uJX43Agto72IQz/FEn/0sm/0smWpDmWpDmWpDmZJzRtP8n9bkjeR1mQkCZPnTNbKXKvf8h+asqbR5vSE+hQ1WnQ1WnzSJRzSJRzSJRuShTF1xjY33Le6hVofYk9kpxrydVF2Vsa37RgL5IqjAtrx4qrx4q',
  crop_16x8: 'M2W5S5bxh+2Oz60xxDB3PmadT42AjqCuan/LNXLQZbzrofBT5nBTkThmOYJlbZeFq+1o5oiUoIR8e49vm0apGW6kPbb/m23Ms5BrwOB66G6deJ9rn22Laky4HY7eYrr/er4ZuUxedjB/NaCHfMOVn2qYvpC2qxtlg0IPlLI0vCh8Slp6UcSVjqeVr2idwYyyBjmXOobAod1Sq+0Aip0JwgpH2wBFWkqCAFenGkyqZLW0tukUmuIAoGMlzwBTyBBMaJ3goNVc3/8Jib5LAjeAE0h/WY7Cc6jWY5jmfbK6w/gm1P8hTYJqACx/NmuZbqPY1/9GYZVaK12BOGizMWWkddEbjfEmrO8/3P9AtuxPNmptPnOTMFzHTI1xiuwVlfI7WYNBUYXbWomqb8Q+nN5S61sY/1kfinE5R3szYIl6U4j9ZpZifuFJv7NA/UwZ/mMrIXnai8ax1v8w6PMA4XgqdABykgiSP0WiAGbJS5XYvvOJ1v8M+ssAuTpJcQOIm0GX',
  grey: 'K1B1mr/HVi5TeJ2lyoa2yWNGdqaJucxmSXnEaVeSgLtDx2xalYO+PIKrpFRNRj+FrqdXUJfLzz1BkpaaztJARJXVTl1sq7rJ2FFgb669TbSxy09pNlC3tM5SbKiw1WQ8YYars9hnP2RQM2OTptZwUzZmlqlD',
  grey_7x5: 'cYmUgXqKlIqNb2qPinSWhmyUnHt3mJt1gp+VfXSNf3l8k1o=',
};

const bytes = (name: keyof typeof PILLOW) => Uint8Array.from(Buffer.from(PILLOW[name], 'base64'));
const source: Image8 = { width: 13, height: 9, channels: 3, data: bytes('source') };

function same(actual: Image8, name: keyof typeof PILLOW, width: number, height: number): void {
  assert.deepEqual([actual.width, actual.height], [width, height]);
  assert.deepEqual(actual.data, bytes(name), `${name} differs from Pillow`);
}

test('Lanczos down, up and from a box match Pillow byte for byte', () => {
  same(lanczosResize(source, 8, 8), 'down_8x8', 8, 8);
  same(lanczosResize(source, 20, 16), 'up_20x16', 20, 16);
  same(lanczosResize(source, 6, 5, [2, 1, 11, 8]), 'box_6x5', 6, 5);
});

test("A1111's crop and resize / resize and fill match its resize_image", () => {
  same(resizeImage(source, 'crop-and-resize', 8, 12), 'crop_8x12', 8, 12);
  same(resizeImage(source, 'crop-and-resize', 16, 8), 'crop_16x8', 16, 8);
  same(resizeImage(source, 'resize-and-fill', 8, 12), 'fill_8x12', 8, 12); // bands above and below
  same(resizeImage(source, 'resize-and-fill', 16, 8), 'fill_16x8', 16, 8); // bands left and right
  same(resizeImage(source, 'just-resize', 8, 8), 'down_8x8', 8, 8);
});

test("grey conversion and a grey resize match Pillow's convert('L')", () => {
  same(toGrey(source), 'grey', 13, 9);
  same(lanczosResize(toGrey(source), 7, 5), 'grey_7x5', 7, 5);
});

test('same size is a copy; paste clips; alpha and grey become RGB', () => {
  const copy = resizeImage(source, 'resize-and-fill', 13, 9);
  assert.deepEqual(copy.data, source.data);
  assert.notEqual(copy.data, source.data);
  const dst: Image8 = { width: 2, height: 2, channels: 1, data: new Uint8Array(4) };
  paste(dst, { width: 2, height: 2, channels: 1, data: Uint8Array.of(1, 2, 3, 4) }, -1, 1);
  assert.deepEqual([...dst.data], [0, 0, 2, 0]);
  const rgba = toRgb({ width: 1, height: 1, channels: 4, data: Uint8Array.of(9, 8, 7, 0) });
  assert.deepEqual([...rgba.data], [9, 8, 7]);
  const la = toRgb({ width: 1, height: 1, channels: 2, data: Uint8Array.of(5, 255) });
  assert.deepEqual([...la.data], [5, 5, 5]);
});
