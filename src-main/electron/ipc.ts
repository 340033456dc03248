// The contract over Electron IPC, main side: one ipcMain handler per contract method, each on its own
// channel. A handler first checks that the message comes from our own page (the main frame of a window
// showing hintbrush://app/), then hands the input to services.call, which validates it against the
// contract before anything runs. Answers are IpcReply envelopes, so the error kind survives the trip.

import type { Services } from '../app/bootstrap.ts';
import { toErrorInfo } from '../common/errors.ts';
import { IPC_EVENT_CHANNEL, METHOD_NAMES, ipcChannel } from '../common/wire.ts';
import type { ElectronMain, IpcMainInvokeEvent, IpcReply } from './electron-api.ts';

export const APP_SCHEME = 'hintbrush';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

/** True for a URL of our own page (any path under hintbrush://app/). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** Whether an IPC message comes from the top frame of our page (not an iframe, not a page navigated elsewhere). */
export function isTrustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

/** Registers every contract method; returns the teardown that removes the handlers. */
export function registerIpc(electron: ElectronMain, services: Services): () => void {
  for (const method of METHOD_NAMES) {
    electron.ipcMain.handle(ipcChannel(method), async (event, input): Promise<IpcReply> => {
      if (!isTrustedSender(event)) {
        return { ok: false, error: { kind: 'forbidden', message: `${method}: refused a message from ${event.senderFrame?.url ?? 'a gone frame'}` } };
      }
      try {
        const result = await services.call(method, input);
        return { ok: true, result };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
  }
  // Every contract event goes to every window that shows our page.
  const offEvents = services.events.onAny((name, data) => {
    for (const win of electron.BrowserWindow.getAllWindows()) {
      const contents = win.webContents;
      if (!win.isDestroyed() && !contents.isDestroyed() && isAppUrl(contents.getURL())) {
        contents.send(IPC_EVENT_CHANNEL, name, data);
      }
    }
  });
  return () => {
    offEvents();
    for (const method of METHOD_NAMES) electron.ipcMain.removeHandler(ipcChannel(method));
  };
}
