// Speaks the contract to a running `hintbrush serve` from a test, over the same WebSocket the page uses, to
// read back what the UI stored (documents, history) without trusting the UI to report it.
// `const api = await connect(server); const doc = await api.call('documents.open', { id }); api.close();`
import WebSocket from 'ws';
import type { MethodInput, MethodName, MethodOutput } from '../../src-main/common/contract.ts';
import type { ServeHandle } from './serve.ts';

export interface ContractClient {
  call<M extends MethodName>(method: M, params: MethodInput<M>): Promise<MethodOutput<M>>;
  close(): void;
}

export async function connect(server: Pick<ServeHandle, 'origin' | 'token'>): Promise<ContractClient> {
  const ws = new WebSocket(`${server.origin.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(server.token)}`, { headers: { origin: server.origin } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { kind: string; message: string } };
    if (typeof msg.id !== 'number') return; // an event
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(Object.assign(new Error(`${msg.error.kind}: ${msg.error.message}`), { kind: msg.error.kind }));
    else p.resolve(msg.result);
  });
  ws.on('close', () => {
    for (const p of pending.values()) p.reject(new Error('the server closed the link'));
    pending.clear();
  });
  return {
    call: (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}
