// Electron main: one studio window, sandboxed, showing the built renderer from the privileged
// hintbrush://app/ scheme (so the page has a real origin and our CSP header); contract calls through the
// preload's named functions (ipc.ts); the engine as a utilityProcess. Bundled by scripts/build.mjs into
// build/main/electron-main.cjs (package.json "main").

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServices, type Services } from '../app/bootstrap.ts';
import { contentSecurityPolicy, securityHeaders } from '../server/security.ts';
import { contentType, resolveStatic } from '../server/static-files.ts';
import type { BrowserWindow, ElectronMain } from './electron-api.ts';
import { utilityEngineLauncher } from './engine-launcher.ts';
import { hardenApp } from './hardening.ts';
import { IMAGE_SCHEME, IMAGE_SCHEME_PRIVILEGES, imageProtocolHandler } from './image-protocol.ts';
import { APP_SCHEME, APP_URL, isAppUrl, registerIpc } from './ipc.ts';
import { buildMenu, chooseFolders } from './menu.ts';

const electron = require('electron') as ElectronMain;
const { app, BrowserWindow: Window, Menu, protocol } = electron;

const here = path.dirname(fileURLToPath(import.meta.url)); // build/main/
const appRoot = app.getAppPath();
const rendererDir = path.join(appRoot, 'build', 'renderer');

// Must precede 'ready': a standard, secure scheme gives the page an origin of its own (hintbrush://app).
// hintbrush-image://history/<id>.png serves the generation history's pictures (image-protocol.ts).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  IMAGE_SCHEME_PRIVILEGES,
]);

/** Serves build/renderer/ on hintbrush://app/ with the strict CSP as a header. */
function serveRenderer(): void {
  const headers = { ...securityHeaders(), 'Content-Security-Policy': contentSecurityPolicy(undefined, [`${IMAGE_SCHEME}:`]) };
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = isAppUrl(request.url) ? resolveStatic(rendererDir, url.pathname) : null;
    if (!file) return new Response('Not found', { status: 404, headers });
    try {
      const body = await fs.readFile(file);
      return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': contentType(file) } });
    } catch {
      const missing = path.basename(file) === 'index.html' ? ' (run `npm run build`)' : '';
      return new Response(`Not found${missing}`, { status: 404, headers });
    }
  });
}

function createWindow(): BrowserWindow {
  const win = new Window({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Hintbrush',
    show: false,
    backgroundColor: '#1e1e22',
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.on('render-process-gone', (_e, details) => {
    console.error(`[hintbrush] the window's renderer is gone (${details.reason}, exit ${details.exitCode})`);
  });
  void win.loadURL(APP_URL);
  return win;
}

/** Closes every window and resolves once all are closed, or after `ms` (a renderer that never answers). */
function closeWindows(windows: BrowserWindow[], ms: number): Promise<void> {
  const open = windows.filter((w) => !w.isDestroyed());
  const closed = open.map((w) => new Promise<void>((resolve) => w.on('closed', resolve)));
  for (const w of open) w.close();
  return Promise.race([Promise.all(closed).then(() => undefined), new Promise<void>((r) => setTimeout(r, ms).unref())]);
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit(); // another Hintbrush has the library open: it is brought to the front instead
    return;
  }
  hardenApp(electron);
  await app.whenReady();

  const dataDir = process.env.HINTBRUSH_DATA ? path.resolve(process.env.HINTBRUSH_DATA) : app.getPath('userData');
  const resourcesDir = path.join(appRoot, 'resources');
  let services: Services;
  try {
    services = createServices({
      dataDir,
      resourcesDir,
      mode: 'electron',
      version: app.getVersion(),
      engineLauncher: utilityEngineLauncher(electron, { dataDir, resourcesDir }),
      chooseFolders: () => chooseFolders(electron, Window.getFocusedWindow() ?? undefined),
    });
  } catch (err) {
    // E.g. a library written by a newer Hintbrush: say so, touch nothing, leave.
    electron.dialog.showErrorBox('Hintbrush cannot start', (err as Error).message);
    app.exit(1);
    return;
  }
  services.own('ipc handlers', registerIpc(electron, services));
  serveRenderer();
  protocol.handle(IMAGE_SCHEME, imageProtocolHandler((id) => services.imageFile(id), (runId, step) => services.trainingSampleFile(runId, step)));
  Menu.setApplicationMenu(Menu.buildFromTemplate(buildMenu(electron, services)));

  createWindow();
  app.on('second-instance', () => {
    const [existing] = Window.getAllWindows();
    if (!existing) return void createWindow();
    if (existing.isMinimized()) existing.restore();
    existing.focus();
  });
  app.on('activate', () => {
    if (Window.getAllWindows().length === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Quit first closes the windows, so each one flushes its document's autosave (the renderer holds its close
  // until the save is stored, then closes itself), then waits for the teardown (jobs cancelled, engine stopped,
  // database closed), then quits for real.
  let tornDown = false;
  let quitting: Promise<unknown> | null = null;
  app.on('before-quit', (e) => {
    if (tornDown) return;
    e.preventDefault();
    quitting ??= closeWindows(Window.getAllWindows(), 10_000)
      .then(() => services.dispose())
      .finally(() => {
        tornDown = true;
        app.quit();
      });
  });
}

void start();
