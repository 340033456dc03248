// The guards of browser mode. The server speaks the whole contract (it can read any folder the user points
// it at), so every request must prove it comes from the page we served: a random token (in the page URL,
// then an HttpOnly cookie so the page's own assets load), a Host header naming this server (defeats DNS
// rebinding) and, where a browser sends one, an Origin equal to the served origin (defeats cross-site
// WebSockets, which browsers do not restrict by themselves).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { TOKEN_PARAM } from '../common/wire.ts';

export class ServeError extends Error {
  constructor(
    readonly kind: 'refused-remote' | 'bad-option' | 'port-in-use',
    message: string,
  ) {
    super(message);
  }
}

/** 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

const isWildcard = (host: string) => ['0.0.0.0', '::', '[::]'].includes(host);

/** Refuses to listen beyond this machine unless the user said so. */
export function checkBindHost(host: string, allowRemote: boolean): void {
  if (!host) throw new ServeError('bad-option', '--host needs a value');
  if (!isLoopbackHost(host) && !allowRemote) {
    throw new ServeError(
      'refused-remote',
      `refusing to listen on ${host}: it is reachable from other machines, and whoever has the URL controls ` +
        'Hintbrush and can read your files through it. Pass --allow-remote if you mean it.',
    );
  }
}

export interface GuardOptions {
  token: string;
  /** The host the server was bound to. */
  bindHost: string;
  port: number;
  allowRemote: boolean;
}

export type Verdict = { ok: true; viaQuery: boolean } | { ok: false; status: 403 | 400; reason: string };

/** Name of the cookie holding the token; per port, since cookies are shared by every port of a host. */
export const cookieName = (port: number) => `hintbrush_token_${port}`;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Host names a request may address this server by. */
function hostAllowed(hostHeader: string | undefined, g: GuardOptions): boolean {
  if (!hostHeader) return false;
  let hostname: string;
  let port: string;
  try {
    const u = new URL(`http://${hostHeader}`);
    hostname = u.hostname;
    port = u.port || '80';
  } catch {
    return false;
  }
  if (port !== String(g.port)) return false;
  if (isLoopbackHost(hostname)) return true;
  if (!g.allowRemote) return false;
  // Bound to every interface, the machine's own names are unknown; the token still guards it.
  return isWildcard(g.bindHost) || hostname.replace(/^\[|\]$/g, '') === g.bindHost.replace(/^\[|\]$/g, '');
}

/**
 * Checks one HTTP request or WebSocket upgrade. `requireOrigin`: WebSocket upgrades must carry an Origin
 * (every browser sends one), equal to `http://<Host>`.
 */
export function checkRequest(req: IncomingMessage, g: GuardOptions, requireOrigin: boolean): Verdict {
  const host = req.headers.host;
  if (!hostAllowed(host, g)) return { ok: false, status: 403, reason: 'unexpected Host header' };
  const origin = req.headers.origin;
  if (origin !== undefined || requireOrigin) {
    if (origin !== `http://${host}`) return { ok: false, status: 403, reason: 'cross-origin request refused' };
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${host}`);
  } catch {
    return { ok: false, status: 400, reason: 'bad URL' };
  }
  const fromQuery = url.searchParams.get(TOKEN_PARAM);
  if (fromQuery !== null) {
    return sameToken(fromQuery, g.token) ? { ok: true, viaQuery: true } : { ok: false, status: 403, reason: 'wrong token' };
  }
  const fromCookie = cookieValue(req.headers.cookie, cookieName(g.port));
  if (fromCookie !== null && sameToken(fromCookie, g.token)) return { ok: true, viaQuery: false };
  return { ok: false, status: 403, reason: 'missing token: open the URL that `hintbrush serve` printed' };
}

/** The Content-Security-Policy of the served page: nothing but our own files and our own WebSocket. */
export function contentSecurityPolicy(socketOrigin?: string, imageSources: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${imageSources.map((s) => ` ${s}`).join('')}`,
    "font-src 'self'",
    // 'self' covers same-host ws: in CSP3; the explicit origin serves browsers that read CSP2 literally.
    `connect-src 'self'${socketOrigin ? ` ${socketOrigin}` : ''}`,
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers every response carries. */
export function securityHeaders(socketOrigin?: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(socketOrigin),
    'X-Content-Type-Options': 'nosniff',
    // The token is in the page URL: never let it leave in a Referer.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
