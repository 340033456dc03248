import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContractError, validateRequest } from './contract.ts';

test('engine.setProvider accepts the engine providers with a device id, and names what is wrong otherwise', () => {
  assert.deepEqual(validateRequest('engine.setProvider', { provider: 'cuda', deviceId: 1 }), { provider: 'cuda', deviceId: 1 });
  assert.deepEqual(validateRequest('engine.setProvider', { provider: 'auto' }), { provider: 'auto', deviceId: 0 });
  const refused: [unknown, RegExp][] = [
    [{ provider: 'tpu', deviceId: 0 }, /provider must be one of auto, cpu, cuda, dml, coreml, webgpu/],
    [{ provider: 'cuda', deviceId: -1 }, /deviceId must be an integer from 0 to 15/],
    [{ provider: 'cuda', deviceId: 1.5 }, /deviceId must be an integer/],
    [{ provider: 'dml', deviceId: '0' }, /deviceId must be an integer/],
    [{ provider: 'cpu', deviceId: 0, extra: true }, /unknown field "extra"/],
    [['cuda'], /input must be an object/],
    [null, /input must be an object/],
  ];
  for (const [input, message] of refused) {
    assert.throws(() => validateRequest('engine.setProvider', input), (e: unknown) => e instanceof ContractError && message.test(e.message), JSON.stringify(input));
  }
  assert.throws(() => validateRequest('engine.providerSetting', { provider: 'cpu' }), /engine.providerSetting: unknown field "provider"/);
});
