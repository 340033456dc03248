// History pictures in the desktop app: a privileged `hintbrush-image://history/<id>.png` scheme, answered from
// the data folder through the services (only files the history names, nothing else). CORS is allowed for the
// studio's own origin so a picture can be drawn into a canvas and read back without tainting it.

import { promises as fs } from 'node:fs';
import { APP_ORIGIN } from './ipc.ts';

export const IMAGE_SCHEME = 'hintbrush-image';

/** Passed to protocol.registerSchemesAsPrivileged (before 'ready') together with the app's own scheme. */
export const IMAGE_SCHEME_PRIVILEGES = {
  scheme: IMAGE_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
};

/**
 * The protocol.handle handler: `imageFile` maps a history id to its file, or null; `trainingSampleFile` a training
 * run's sample (`hintbrush-image://training/<runId>/<step>.png`).
 */
export function imageProtocolHandler(
  imageFile: (historyId: number) => string | null,
  trainingSampleFile: (runId: number, step: number) => string | null = () => null,
): (request: Request) => Promise<Response> {
  const headers = { 'Access-Control-Allow-Origin': APP_ORIGIN, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
  const notFound = () => new Response('No such picture', { status: 404, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } });
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return notFound();
    }
    const match = url.protocol === `${IMAGE_SCHEME}:` && url.host === 'history' ? /^\/(\d{1,15})\.png$/.exec(url.pathname) : null;
    const sample = url.protocol === `${IMAGE_SCHEME}:` && url.host === 'training' ? /^\/(\d{1,15})\/(\d{1,9})\.png$/.exec(url.pathname) : null;
    const file = match ? imageFile(Number(match[1])) : sample ? trainingSampleFile(Number(sample[1]), Number(sample[2])) : null;
    if (!file) return notFound();
    try {
      return new Response(await fs.readFile(file), { status: 200, headers: { ...headers, 'Content-Type': 'image/png' } });
    } catch {
      return notFound();
    }
  };
}
