// A stand-in for the parts of Electron that main and the preload use (electron-api.ts), so their bundles
// can be exercised under plain Node where Electron's binary is absent. It records what the app asked for
// and lets a test play the renderer's side. utilityProcess.fork starts a Node child with an IPC channel.

import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { IpcMainInvokeEvent } from './electron-api.ts';

type Listener = (...args: unknown[]) => unknown;

export interface FakeWindow {
  options: { webPreferences: Record<string, unknown> };
  url: string;
  sent: Array<[string, ...unknown[]]>;
}

export class FakeElectron {
  readonly handlers = new Map<string, Listener>();
  readonly schemes: unknown[] = [];
  readonly windows: FakeWindow[] = [];
  readonly children: ChildProcess[] = [];
  readonly appEvents = new EventEmitter();
  protocolHandler: ((req: Request) => Promise<Response> | Response) | null = null;
  /** Every scheme's handler; `protocolHandler` is the app scheme's. */
  readonly protocolHandlers = new Map<string, (req: Request) => Promise<Response> | Response>();
  menu: unknown = null;
  private ready!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.ready = r));

  constructor(
    private readonly appPath: string,
    private readonly userData: string,
  ) {}

  /** Makes app.whenReady() resolve, as Electron does once Chromium is up. */
  makeReady(): void {
    this.ready();
  }

  /** Calls an ipcMain handler as a renderer frame at `frameUrl` would. */
  invoke(channel: string, input: unknown, frameUrl: string | null = 'hintbrush://app/index.html', parent: unknown = null) {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    const event: IpcMainInvokeEvent = {
      sender: {} as IpcMainInvokeEvent['sender'],
      senderFrame: frameUrl === null ? null : { url: frameUrl, parent },
    };
    return handler(event, input);
  }

  /** The `electron` module as main sees it. */
  main(): unknown {
    const self = this;
    const noop = () => undefined;
    const session = { setPermissionRequestHandler: noop, setPermissionCheckHandler: noop };
    class BrowserWindow {
      static all: BrowserWindow[] = [];
      static getAllWindows = () => BrowserWindow.all;
      static getFocusedWindow = () => BrowserWindow.all[0] ?? null;
      readonly record: FakeWindow;
      readonly webContents;
      constructor(options: FakeWindow['options']) {
        this.record = { options, url: '', sent: [] };
        const record = this.record;
        self.windows.push(record);
        BrowserWindow.all.push(this);
        this.webContents = {
          id: self.windows.length,
          send: (channel: string, ...args: unknown[]) => record.sent.push([channel, ...args]),
          isDestroyed: () => false,
          getURL: () => record.url,
          on: noop,
          setWindowOpenHandler: noop,
          session,
        };
      }
      loadURL(url: string) {
        this.record.url = url;
        return Promise.resolve();
      }
      private readonly closedListeners: (() => void)[] = [];
      once = noop;
      on = (event: string, listener: () => void) => {
        if (event === 'closed') this.closedListeners.push(listener);
      };
      close = () => {
        BrowserWindow.all = BrowserWindow.all.filter((w) => w !== this);
        for (const listener of this.closedListeners) listener();
      };
      show = noop;
      focus = noop;
      restore = noop;
      isMinimized = () => false;
      isDestroyed = () => false;
    }
    return {
      app: {
        isPackaged: false,
        getAppPath: () => this.appPath,
        getPath: () => this.userData,
        getVersion: () => '0.0.0-test',
        getName: () => 'hintbrush',
        whenReady: () => this.readyPromise,
        requestSingleInstanceLock: () => true,
        quit: () => this.appEvents.emit('quit'),
        exit: (code: number) => this.appEvents.emit('exit', code),
        on: (event: string, listener: Listener) => this.appEvents.on(event, listener),
      },
      BrowserWindow,
      ipcMain: {
        handle: (channel: string, listener: Listener) => this.handlers.set(channel, listener),
        removeHandler: (channel: string) => this.handlers.delete(channel),
      },
      protocol: {
        registerSchemesAsPrivileged: (schemes: unknown[]) => this.schemes.push(...schemes),
        handle: (scheme: string, handler: NonNullable<FakeElectron['protocolHandler']>) => {
          this.protocolHandlers.set(scheme, handler);
          if (scheme === 'hintbrush') this.protocolHandler = handler;
        },
      },
      Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => (this.menu = m) },
      dialog: {
        showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
        showMessageBox: async () => ({}),
        showErrorBox: (title: string, content: string) => this.appEvents.emit('error-box', title, content),
      },
      shell: { openPath: async () => '', openExternal: async () => undefined },
      utilityProcess: {
        fork: (modulePath: string, args: string[], options: { env?: Record<string, string> }) => {
          // A Node child with an IPC channel behaves like a utilityProcess for our launcher.
          const child = fork(modulePath, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
          this.children.push(child);
          return {
            get pid() {
              return child.pid;
            },
            stdout: child.stdout,
            stderr: child.stderr,
            postMessage: (m: unknown) => child.connected && child.send(m as object),
            kill: () => child.kill(),
            on: (event: string, listener: Listener) => {
              if (event === 'exit') child.on('exit', (code) => listener(code ?? -1));
              else if (event === 'message') child.on('message', listener);
            },
          };
        },
      },
    };
  }
}

/** The `electron` module as a sandboxed preload sees it, recording what it exposed and sent. */
export function fakePreloadElectron() {
  const exposed: Record<string, unknown> = {};
  const invoked: Array<[string, unknown]> = [];
  const ipcListeners = new Map<string, Set<Listener>>();
  let reply: (channel: string, input: unknown) => unknown = () => ({ ok: true, result: null });
  return {
    exposed,
    invoked,
    setReply: (fn: typeof reply) => (reply = fn),
    /** Main pushing an event to the page. */
    push: (channel: string, ...args: unknown[]) => ipcListeners.get(channel)?.forEach((l) => l({}, ...args)),
    listenerCount: (channel: string) => ipcListeners.get(channel)?.size ?? 0,
    module: {
      contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
      ipcRenderer: {
        invoke: async (channel: string, input: unknown) => {
          invoked.push([channel, input]);
          return reply(channel, input);
        },
        on: (channel: string, l: Listener) => {
          if (!ipcListeners.has(channel)) ipcListeners.set(channel, new Set());
          ipcListeners.get(channel)!.add(l);
        },
        removeListener: (channel: string, l: Listener) => ipcListeners.get(channel)?.delete(l),
      },
    },
  };
}
