// The preload of the studio window. It runs sandboxed (sandbox: true, contextIsolation: true): no Node,
// only `require('electron')`, bundled by scripts/build.mjs into build/main/preload.cjs (CJS).
//
// It exposes `window.hintbrush` (shape: HintbrushBridge in src-main/common/wire.ts): one named function per
// contract method, each bound to that method's own IPC channel, and `onEvent`. There is no generic invoke:
// the page cannot reach any channel but these. A failed call rejects with a plain {kind, message} object,
// since contextBridge keeps nothing of an Error but its message.

import { EVENT_NAMES, IPC_EVENT_CHANNEL, buildBridge, ipcChannel } from '../common/wire.ts';
import type { EventName, MethodName } from '../common/contract.ts';
import type { ElectronRenderer, IpcReply } from './electron-api.ts';

const { contextBridge, ipcRenderer } = require('electron') as ElectronRenderer;

async function call(method: MethodName, input: unknown): Promise<unknown> {
  let reply: IpcReply;
  try {
    reply = (await ipcRenderer.invoke(ipcChannel(method), input)) as IpcReply;
  } catch (err) {
    throw { kind: 'ipc-failed', message: `${method}: ${(err as Error)?.message ?? String(err)}` };
  }
  if (reply && reply.ok === true) return reply.result;
  const error = reply && reply.ok === false ? reply.error : { kind: 'bad-response', message: `${method}: no answer` };
  throw { kind: error.kind, message: error.message };
}

// One IPC listener for all page subscriptions; it is added with the first and removed with the last.
const listeners = new Set<(name: EventName, data: unknown) => void>();
const onIpcEvent = (_event: unknown, name: unknown, data: unknown) => {
  if (typeof name !== 'string' || !(EVENT_NAMES as readonly string[]).includes(name)) return;
  for (const listener of [...listeners]) {
    try {
      listener(name as EventName, data);
    } catch (err) {
      console.error(`hintbrush: a listener of ${name} failed`, err);
    }
  }
};

function subscribe(listener: (name: EventName, data: unknown) => void): () => void {
  if (listeners.size === 0) ipcRenderer.on(IPC_EVENT_CHANNEL, onIpcEvent);
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) ipcRenderer.removeListener(IPC_EVENT_CHANNEL, onIpcEvent);
  };
}

contextBridge.exposeInMainWorld('hintbrush', buildBridge(call, subscribe));
