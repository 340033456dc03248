// The security checklist's locks on a web contents, played against a recording stand-in: what each listener
// and handler does with our own URLs and with foreign ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ElectronMain, WebContents } from './electron-api.ts';
import { hardenApp, hardenContents, isAllowedExternalUrl } from './hardening.ts';

type Listener = (e: { preventDefault(): void; url: string }, url?: string) => void;

function fakeContents() {
  const listeners = new Map<string, Listener>();
  const handlers: Record<string, (...args: never[]) => unknown> = {};
  const contents = {
    on: (event: string, l: Listener) => listeners.set(event, l),
    setWindowOpenHandler: (h: (d: { url: string }) => { action: string }) => (handlers.open = h),
    session: {
      setPermissionRequestHandler: (h: never) => (handlers.request = h),
      setPermissionCheckHandler: (h: never) => (handlers.check = h),
      setDevicePermissionHandler: (h: never) => (handlers.device = h),
    },
  } as unknown as WebContents;
  /** Fires `event` for `url`; true when the app prevented it. */
  const fire = (event: string, url: string) => {
    let prevented = false;
    listeners.get(event)!({ preventDefault: () => (prevented = true), url }, event === 'will-attach-webview' ? undefined : url);
    return prevented;
  };
  return { contents, handlers, fire };
}

test('navigation and redirects stay on hintbrush://app/, in the main frame and in subframes; webviews never attach', () => {
  const { contents, fire } = fakeContents();
  hardenContents(contents, () => undefined);
  for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
    assert.equal(fire(event, 'hintbrush://app/index.html#history'), false, `${event} within the app`);
    for (const foreign of ['https://evil.example/', 'file:///etc/passwd', 'hintbrush://other/', 'hintbrush://user:pw@app/']) {
      assert.equal(fire(event, foreign), true, `${event} to ${foreign}`);
    }
  }
  assert.equal(fire('will-attach-webview', 'hintbrush://app/'), true);
});

test('new windows are denied; only allow-listed https links go to the browser', () => {
  const { contents, handlers } = fakeContents();
  const opened: string[] = [];
  hardenContents(contents, (url) => opened.push(url));
  const open = handlers.open as (d: { url: string }) => { action: string };
  for (const url of ['https://huggingface.co/x', 'https://evil.example/', 'http://github.com/', 'hintbrush://app/index.html', 'javascript:alert(1)']) {
    assert.deepEqual(open({ url }), { action: 'deny' }, url);
  }
  assert.deepEqual(opened, ['https://huggingface.co/x']);
});

test('every permission is refused: requests, checks and devices', () => {
  const { contents, handlers } = fakeContents();
  hardenContents(contents, () => undefined);
  let granted: boolean | undefined;
  (handlers.request as unknown as (wc: unknown, p: string, cb: (g: boolean) => void) => void)(null, 'media', (g) => (granted = g));
  assert.equal(granted, false);
  assert.equal((handlers.check as unknown as (wc: unknown, p: string) => boolean)(null, 'notifications'), false);
  assert.equal((handlers.device as unknown as (d: unknown) => boolean)({ deviceType: 'usb' }), false);
});

test('the external-link allow-list: https only, no credentials or ports, listed hosts and their subdomains', () => {
  assert.ok(isAllowedExternalUrl('https://github.com/microsoft/onnxruntime'));
  assert.ok(isAllowedExternalUrl('https://docs.github.com/'));
  assert.ok(!isAllowedExternalUrl('https://github.com.evil.example/'));
  assert.ok(!isAllowedExternalUrl('https://evilgithub.com/'));
  assert.ok(!isAllowedExternalUrl('https://user@github.com/'));
  assert.ok(!isAllowedExternalUrl('https://github.com:8443/'));
  assert.ok(!isAllowedExternalUrl('http://github.com/'));
  assert.ok(!isAllowedExternalUrl('file:///C:/Windows/System32/calc.exe'));
  assert.ok(!isAllowedExternalUrl('not a url'));
});

test('hardenApp sandboxes every renderer and hardens each new web contents', () => {
  let sandboxed = false;
  let created: ((e: unknown, c: WebContents) => void) | null = null;
  const electron = {
    app: { enableSandbox: () => (sandboxed = true), on: (_e: string, l: typeof created) => (created = l) },
    shell: { openExternal: async () => undefined },
  } as unknown as ElectronMain;
  hardenApp(electron);
  assert.ok(sandboxed);
  const { contents, fire } = fakeContents();
  created!({}, contents);
  assert.equal(fire('will-navigate', 'https://evil.example/'), true);
});
