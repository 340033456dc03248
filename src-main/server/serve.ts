// Browser mode: `hintbrush serve`. One HTTP server on loopback serves the built renderer and, at /ws, the
// contract over a WebSocket. Every request needs the access token (see security.ts).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_REQUEST_BYTES, TOKEN_PARAM, WS_PATH } from '../common/wire.ts';
import { SocketBridge, type CallTarget } from './socket-bridge.ts';
import { notBuiltPage, sendStatic } from './static-files.ts';
import {
  checkBindHost,
  checkRequest,
  cookieName,
  newToken,
  securityHeaders,
  ServeError,
  type GuardOptions,
} from './security.ts';

export const DEFAULT_PORT = 7870;

export interface ServeOptions {
  target: CallTarget;
  /** build/renderer/ (index.html + assets). */
  rendererDir: string;
  host?: string;
  /** 0: any free port. Undefined: DEFAULT_PORT, or any free port when that one is taken. */
  port?: number;
  allowRemote?: boolean;
  /** Fixed token (tests); a fresh random one otherwise. */
  token?: string;
  /** The file of a history picture, served at /images/<id>.png; null when there is none. */
  imageFile?: (historyId: number) => string | null;
  /** A training run's sample picture, served at /training-samples/<runId>/<step>.png; null when there is none. */
  trainingSampleFile?: (runId: number, step: number) => string | null;
}

export interface RunningServer {
  /** The URL to open, token included. */
  url: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function refuse(res: ServerResponse, status: number, reason: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${status === 403 ? 'Forbidden' : 'Bad request'}: ${reason}\n`);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const allowRemote = options.allowRemote ?? false;
  checkBindHost(host, allowRemote);
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new ServeError('bad-option', `--port must be an integer from 0 to 65535, not ${options.port}`);
  }
  const token = options.token ?? newToken();
  const rendererDir = path.resolve(options.rendererDir);
  const guard: GuardOptions = { token, bindHost: host, port: 0, allowRemote };

  const bridge = new SocketBridge(options.target);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });

  const server = createServer((req, res) => void onRequest(req, res));
  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = securityHeaders(`ws://${req.headers.host ?? ''}`);
    const verdict = checkRequest(req, guard, false);
    if (!verdict.ok) return refuse(res, verdict.status, verdict.reason, headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' });
      return void res.end();
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (verdict.viaQuery) {
      // The page's assets are fetched without the token in their URL: hand it over as a cookie.
      headers['Set-Cookie'] = `${cookieName(guard.port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    }
    if (url.pathname === WS_PATH) return refuse(res, 400, 'this address takes WebSocket connections only', headers);
    const picture = /^\/images\/(\d{1,15})\.png$/.exec(url.pathname);
    if (picture) {
      // A history id can be reused after the newest picture is deleted: revalidate rather than cache for good.
      const file = options.imageFile?.(Number(picture[1])) ?? null;
      if (file && (await sendStatic(res, path.dirname(file), `/${path.basename(file)}`, headers, req.method, 'private, no-cache'))) return;
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('No such picture\n');
    }
    const sample = /^\/training-samples\/(\d{1,15})\/(\d{1,9})\.png$/.exec(url.pathname);
    if (sample) {
      const file = options.trainingSampleFile?.(Number(sample[1]), Number(sample[2])) ?? null;
      if (file && (await sendStatic(res, path.dirname(file), `/${path.basename(file)}`, headers, req.method, 'private, no-cache'))) return;
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('No such picture\n');
    }
    const index = path.join(rendererDir, 'index.html');
    if ((url.pathname === '/' || url.pathname === '/index.html') && !existsSync(index)) {
      res.writeHead(503, { ...headers, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      return void res.end(notBuiltPage(rendererDir));
    }
    try {
      if (await sendStatic(res, rendererDir, url.pathname, headers, req.method)) return;
    } catch {
      if (!res.headersSent) res.writeHead(500, headers);
      return void res.end();
    }
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found\n');
  }

  server.on('upgrade', (req, socket, head) => {
    const verdict = checkRequest(req, guard, true);
    if (!verdict.ok) return refuseUpgrade(socket, verdict.status, verdict.reason);
    if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) return refuseUpgrade(socket, 404, 'no such endpoint');
    wss.handleUpgrade(req, socket, head, (ws) => bridge.attach(ws));
  });

  try {
    await listen(server, options.port ?? DEFAULT_PORT, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' && options.port === undefined) await listen(server, 0, host);
    else if (code === 'EADDRINUSE') throw new ServeError('port-in-use', `port ${options.port} is in use: pick another with --port`);
    else throw err;
  }
  const port = (server.address() as AddressInfo).port;
  guard.port = port;

  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/?${TOKEN_PARAM}=${token}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    host,
    port,
    token,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        bridge.close();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
