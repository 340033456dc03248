// What the end-to-end test files set up alike: one Chromium for the file's tests, and every `hintbrush serve` and
// temporary folder those tests start, all stopped and removed after the file's last test, also when a test fails.
// Call `e2eSession()` once at the top level of a test file: it registers the file's before and after hooks.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, type WatchedPage } from '../support/browser.ts';
import { startServe, type ServeHandle, type ServeOptions } from '../support/serve.ts';

export interface E2eSession {
  /** The file's Chromium, launched before its first test. */
  readonly browser: Browser;
  /** Starts `hintbrush serve` (a fresh data folder unless one is given); it is stopped after the file's tests. */
  serve(options?: ServeOptions): Promise<ServeHandle>;
  /** Starts `hintbrush serve` and opens its page, which records console errors and CSP violations. */
  open(options?: ServeOptions): Promise<WatchedPage & { server: ServeHandle }>;
  /** A fresh temporary folder, hintbrush-<name>-XXXXXX, removed after the file's tests. */
  tempDir(name: string): Promise<string>;
}

export function e2eSession(): E2eSession {
  let browser: Browser | undefined;
  const servers: ServeHandle[] = [];
  const dirs: string[] = [];

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
  });

  const session: E2eSession = {
    get browser() {
      if (!browser) throw new Error('the browser is launched in before(): use it inside a test');
      return browser;
    },
    async serve(options) {
      const server = await startServe(options);
      servers.push(server);
      return server;
    },
    async open(options) {
      const server = await session.serve(options);
      return { server, ...(await openPage(session.browser, server.url)) };
    },
    async tempDir(name) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `hintbrush-${name}-`));
      dirs.push(dir);
      return dir;
    },
  };
  return session;
}
