import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validators } from './contract.ts';
import {
  EVENT_NAMES,
  METHOD_NAMES,
  WireError,
  buildBridge,
  encodeEvent,
  encodeFailure,
  encodeResult,
  parseRequest,
  parseServerMessage,
  socketUrl,
} from './wire.ts';

describe('wire format', () => {
  it('parses a request envelope and leaves the params to the contract validators', () => {
    assert.deepEqual(parseRequest('{"id":1,"method":"library.add","params":{"paths":["/m"]}}'), {
      id: 1,
      method: 'library.add',
      params: { paths: ['/m'] },
    });
    assert.deepEqual(parseRequest('{"id":2,"method":"app.info"}').params, {});
  });

  it('refuses malformed envelopes as bad-request, keeping the id when it could be read', () => {
    const cases: Array<[string, number | null]> = [
      ['not json', null],
      ['[1,2]', null],
      ['{"method":"app.info"}', null],
      ['{"id":0,"method":"app.info"}', null],
      ['{"id":1.5,"method":"app.info"}', null],
      ['{"id":"1","method":"app.info"}', null],
      ['{"id":3,"method":"constructor"}', 3],
      ['{"id":4,"method":"__proto__"}', 4],
      ['{"id":5}', 5],
    ];
    for (const [text, id] of cases) {
      assert.throws(() => parseRequest(text), (e: WireError) => e.kind === 'bad-request' && e.id === id, text);
    }
  });

  it('round-trips what main sends', () => {
    assert.deepEqual(parseServerMessage(encodeResult(7, { ok: true })), { id: 7, result: { ok: true } });
    assert.deepEqual(parseServerMessage(encodeFailure(8, { kind: 'not-found', message: 'gone' })), {
      id: 8,
      error: { kind: 'not-found', message: 'gone' },
    });
    assert.deepEqual(parseServerMessage(encodeFailure(null, { kind: 'bad-request', message: 'x' })), {
      id: null,
      error: { kind: 'bad-request', message: 'x' },
    });
    assert.deepEqual(parseServerMessage(encodeEvent('library.changed', { count: 1 })), { event: 'library.changed', data: { count: 1 } });
    assert.equal(parseServerMessage('{"event":"no.such","data":1}'), null);
    assert.equal(parseServerMessage('{"id":1}'), null);
  });

  it('builds the socket URL from the page URL, token included', () => {
    assert.equal(socketUrl({ protocol: 'http:', host: '127.0.0.1:7870', search: '?token=a-b_c' }), 'ws://127.0.0.1:7870/ws?token=a-b_c');
    assert.equal(socketUrl({ protocol: 'http:', host: 'h', search: '' }), null);
  });

  it('lists every contract method and event', () => {
    assert.deepEqual([...METHOD_NAMES].sort(), Object.keys(validators).sort());
    assert.deepEqual([...EVENT_NAMES].sort(), [
      'engine.status',
      'generate.finished',
      'generate.progress',
      'job.updated',
      'library.changed',
      'training.finished',
      'training.progress',
    ]);
  });

  it('buildBridge makes one function per method and checks onEvent arguments', async () => {
    const calls: unknown[] = [];
    const bridge = buildBridge(
      async (method, input) => calls.push([method, input]),
      () => () => undefined,
    );
    await bridge.jobs.cancel({ id: 'j1' });
    await bridge.engine.status();
    assert.deepEqual(calls, [['jobs.cancel', { id: 'j1' }], ['engine.status', {}]]);
    assert.throws(() => (bridge.onEvent as (n: unknown, l: unknown) => void)('bogus', () => undefined), TypeError);
  });
});
