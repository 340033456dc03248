// The few parts of Electron's API that Hintbrush uses, declared here because the `electron` package (and its
// types) is an optional dependency that may be missing. Checked against Electron 45's documentation. The
// modules are obtained with `require('electron')` at run time: main and preload only run bundled as CJS.

import type { Readable } from 'node:stream';

export interface IpcMainInvokeEvent {
  sender: WebContents;
  /** The frame that sent the message; null once it navigated away or was destroyed. */
  senderFrame: { url: string; parent: unknown | null } | null;
}

export interface WebContents {
  id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
  getURL(): string;
  on(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', listener: (e: { preventDefault(): void; url: string }, url?: string) => void): void;
  on(event: 'will-attach-webview', listener: (e: { preventDefault(): void }) => void): void;
  on(event: 'render-process-gone', listener: (e: unknown, details: { reason: string; exitCode: number }) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }): void;
  session: Session;
}

export interface Session {
  setPermissionRequestHandler(handler: ((wc: WebContents, permission: string, callback: (granted: boolean) => void) => void) | null): void;
  setPermissionCheckHandler(handler: ((wc: WebContents | null, permission: string) => boolean) | null): void;
  /** HID, USB and serial devices (Electron 16+). */
  setDevicePermissionHandler?(handler: ((details: unknown) => boolean) | null): void;
}

export interface BrowserWindowOptions {
  width?: number;
  height?: number;
  minWidth?: number;
  minHeight?: number;
  title?: string;
  show?: boolean;
  backgroundColor?: string;
  webPreferences: {
    preload: string;
    sandbox: boolean;
    contextIsolation: boolean;
    nodeIntegration: boolean;
    nodeIntegrationInWorker?: boolean;
    webSecurity?: boolean;
    allowRunningInsecureContent?: boolean;
    webviewTag?: boolean;
    experimentalFeatures?: boolean;
    navigateOnDragDrop?: boolean;
    safeDialogs?: boolean;
    spellcheck?: boolean;
  };
}

export interface BrowserWindow {
  webContents: WebContents;
  loadURL(url: string): Promise<void>;
  show(): void;
  focus(): void;
  restore(): void;
  isMinimized(): boolean;
  isDestroyed(): boolean;
  /** Asks the window to close: its page's beforeunload runs first and may hold the close. */
  close(): void;
  once(event: 'ready-to-show', listener: () => void): void;
  on(event: 'closed', listener: () => void): void;
}

export interface BrowserWindowStatic {
  new (options: BrowserWindowOptions): BrowserWindow;
  getAllWindows(): BrowserWindow[];
  getFocusedWindow(): BrowserWindow | null;
}

export interface MenuItemOptions {
  label?: string;
  role?: string;
  type?: 'normal' | 'separator' | 'submenu';
  accelerator?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItemOptions[];
}

export interface UtilityProcess {
  pid: number | undefined;
  stdout: Readable | null;
  stderr: Readable | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'exit', listener: (code: number) => void): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  on(event: 'spawn', listener: () => void): void;
  on(event: 'error', listener: (type: string, location: string, report: string) => void): void;
}

export interface ElectronMain {
  app: {
    isPackaged: boolean;
    getAppPath(): string;
    getPath(name: 'userData' | 'home' | 'logs'): string;
    getVersion(): string;
    getName(): string;
    whenReady(): Promise<void>;
    requestSingleInstanceLock(): boolean;
    /** Sandboxes every renderer, whatever its webPreferences say; must come before 'ready'. */
    enableSandbox?(): void;
    quit(): void;
    exit(code?: number): void;
    on(event: 'window-all-closed' | 'activate' | 'second-instance', listener: () => void): void;
    on(event: 'before-quit' | 'will-quit', listener: (e: { preventDefault(): void }) => void): void;
    on(event: 'web-contents-created', listener: (e: unknown, contents: WebContents) => void): void;
  };
  BrowserWindow: BrowserWindowStatic;
  ipcMain: {
    handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
    removeHandler(channel: string): void;
  };
  protocol: {
    registerSchemesAsPrivileged(
      schemes: Array<{ scheme: string; privileges: { standard?: boolean; secure?: boolean; supportFetchAPI?: boolean; corsEnabled?: boolean } }>,
    ): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  Menu: {
    buildFromTemplate(template: MenuItemOptions[]): unknown;
    setApplicationMenu(menu: unknown): void;
  };
  dialog: {
    showOpenDialog(
      window: BrowserWindow | undefined,
      options: { title?: string; buttonLabel?: string; properties: Array<'openDirectory' | 'openFile' | 'multiSelections'> },
    ): Promise<{ canceled: boolean; filePaths: string[] }>;
    showMessageBox(window: BrowserWindow | undefined, options: { type?: string; title?: string; message: string; detail?: string }): Promise<unknown>;
    showErrorBox(title: string, content: string): void;
  };
  shell: {
    openPath(path: string): Promise<string>;
    openExternal(url: string): Promise<void>;
  };
  utilityProcess: {
    fork(
      modulePath: string,
      args?: string[],
      options?: { env?: Record<string, string>; execArgv?: string[]; serviceName?: string; stdio?: 'pipe' | 'ignore' | 'inherit' },
    ): UtilityProcess;
  };
}

export interface ElectronRenderer {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
    removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): void;
  };
}

/** What every main-side IPC handler answers: a value, or the contract's error (never a thrown Error). */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: { kind: string; message: string } };
