// Serves the built renderer (build/renderer/: index.html and hashed assets) read-only. Paths are resolved
// inside the folder and anything that escapes it, hides behind a dot or is not a plain file is a 404; the check
// is made again on the real path, so a symlink in the folder cannot serve a file from elsewhere.

import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { containedFile } from '../base/contained-file.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export const contentType = (file: string): string => TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';

/** The file under `root` a URL path names, or null when it is outside, hidden, or malformed. */
export function resolveStatic(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  if (rel.split('/').some((seg) => seg.startsWith('.'))) return null; // also refuses '..'
  const full = path.resolve(root, rel);
  const inside = path.relative(root, full);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return full;
}

/** Streams one file; false (nothing written) when it does not exist or is not a plain file. */
export async function sendStatic(
  res: ServerResponse,
  root: string,
  urlPath: string,
  headers: Record<string, string>,
  method: string,
  cacheControl?: string,
): Promise<boolean> {
  const named = resolveStatic(root, urlPath);
  if (!named) return false;
  const found = await containedFile(root, named);
  if (!found) return false;
  const file = found.real;
  const type = contentType(named);
  // Vite hashes asset names, so they never change; the page itself must always be fetched afresh.
  const cache = cacheControl ?? (path.basename(named) === 'index.html' ? 'no-store' : 'public, max-age=31536000, immutable');
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': String(found.size), 'Cache-Control': cache });
  if (method === 'HEAD') {
    res.end();
    return true;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
  return true;
}

/** Shown when build/renderer/ has no index.html yet. Plain HTML: the CSP forbids inline script and style. */
export function notBuiltPage(rendererDir: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Hintbrush</title></head><body>
<h1>Hintbrush</h1><p>The renderer is not built yet (no index.html in ${escapeHtml(rendererDir)}).</p>
<p>Run <code>npm run build</code>, then reload this page.</p></body></html>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
