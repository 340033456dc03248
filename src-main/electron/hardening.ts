// What every web contents of the app may do, following Electron's security checklist
// (https://www.electronjs.org/docs/latest/tutorial/security): nothing but show our own page. No navigation
// or redirect away from hintbrush://app/ (main frame or subframe), no new windows, no <webview>, no
// permission (camera, notifications, HID/USB/serial devices...), and links out only to a short list of
// https hosts, opened in the user's browser. Items of the checklist that need no code here: the sandbox,
// context isolation and no Node in the window (main.ts webPreferences, plus app.enableSandbox()), the CSP
// (served with the page), a custom scheme instead of file://, the sender check of every IPC message
// (ipc.ts), no `remote` module (gone from Electron since 14), and the fuses (electron-builder.yml).
import type { ElectronMain, WebContents } from './electron-api.ts';
import { isAppUrl } from './ipc.ts';

/** Hosts (and their subdomains) a link in the app may open in the user's browser. */
export const EXTERNAL_HOSTS: readonly string[] = ['github.com', 'huggingface.co', 'civitai.com', 'arxiv.org', 'onnxruntime.ai', 'developer.nvidia.com', 'www.electronjs.org'];

/** Whether `url` may go to shell.openExternal: https, no credentials, a host on the list. */
export function isAllowedExternalUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port) return false;
  const host = u.hostname.toLowerCase();
  return EXTERNAL_HOSTS.some((allowed) => host === allowed || host.endsWith(`.${allowed}`));
}

/** Locks one web contents down (called for every one the app creates). */
export function hardenContents(contents: WebContents, openExternal: (url: string) => unknown): void {
  contents.on('will-attach-webview', (e) => e.preventDefault());
  for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate'] as const) {
    contents.on(event, (e, url) => {
      if (!isAppUrl(url ?? e.url)) e.preventDefault();
    });
  }
  contents.setWindowOpenHandler(({ url }) => {
    // Links to the web open in the user's browser (allowed hosts only), never inside the app.
    if (isAllowedExternalUrl(url)) void openExternal(url);
    return { action: 'deny' };
  });
  const session = contents.session;
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler?.(() => false);
}

/** Sandboxes every renderer and hardens each web contents as it is created. Call before 'ready'. */
export function hardenApp(electron: ElectronMain): void {
  electron.app.enableSandbox?.();
  electron.app.on('web-contents-created', (_e, contents) => hardenContents(contents, (url) => electron.shell.openExternal(url)));
}
