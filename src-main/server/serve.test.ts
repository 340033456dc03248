import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createServices, type Services } from '../app/bootstrap.ts';
import { parseServerMessage, type ServerMessage } from '../common/wire.ts';
import { checkBindHost, isLoopbackHost, ServeError } from './security.ts';
import { startServer, type RunningServer } from './serve.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(server: RunningServer, pathAndQuery: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: pathAndQuery, headers: { Host: `127.0.0.1:${server.port}`, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket; resolves with it, or with the HTTP status the server refused it with. */
function connect(server: RunningServer, query: string, headers: Record<string, string>): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket, match: (m: ServerMessage) => boolean): Promise<ServerMessage> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const m = parseServerMessage(data.toString());
      if (m && match(m)) {
        ws.off('message', onMessage);
        resolve(m);
      }
    };
    ws.on('message', onMessage);
  });
}

describe('hintbrush serve', () => {
  let tmp: string;
  let services: Services;
  let server: RunningServer;
  let origin: string;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-serve-'));
    const rendererDir = path.join(tmp, 'renderer');
    mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><script type="module" src="./assets/app.js"></script>');
    writeFileSync(path.join(rendererDir, 'assets/app.js'), 'console.log(1)');
    writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
    services = createServices({ dataDir: path.join(tmp, 'data'), resourcesDir: tmp, startEngine: false });
    server = await startServer({ target: services, rendererDir, port: 0 });
    origin = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await services.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints a loopback URL with a long random token', () => {
    assert.match(server.url, new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`));
  });

  it('refuses the page without the token or with a wrong one', async () => {
    assert.equal((await get(server, '/')).status, 403);
    assert.equal((await get(server, '/assets/app.js')).status, 403);
    assert.equal((await get(server, '/?token=wrong')).status, 403);
    assert.equal((await get(server, `/?token=${server.token}x`)).status, 403);
  });

  it('serves the page with the token, a strict CSP, and a cookie for its assets', async () => {
    const page = await get(server, `/?token=${server.token}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /assets\/app\.js/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    assert.match(String(page.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    const asset = await get(server, '/assets/app.js', { Cookie: cookie });
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
  });

  it('refuses a wrong Host (DNS rebinding) and a foreign Origin', async () => {
    const q = `/?token=${server.token}`;
    assert.equal((await get(server, q, { Host: `evil.example:${server.port}` })).status, 403);
    assert.equal((await get(server, q, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await get(server, q, { Origin: origin })).status, 200);
  });

  it('never serves a file outside the renderer folder', async () => {
    const q = `?token=${server.token}`;
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/.hidden', '/%00']) {
      const reply = await get(server, `${p}${q}`);
      assert.ok(reply.status === 404 || reply.status === 400, `${p}: ${reply.status}`);
      assert.doesNotMatch(reply.body, /secret/);
    }
  });

  it('refuses a WebSocket without the token, with a wrong Origin, or with none', async () => {
    assert.equal(await connect(server, '', { Origin: origin }), 403);
    assert.equal(await connect(server, '?token=nope', { Origin: origin }), 403);
    assert.equal(await connect(server, `?token=${server.token}`, { Origin: 'http://evil.example' }), 403);
    assert.equal(await connect(server, `?token=${server.token}`, { Origin: `http://localhost:${server.port}` }), 403);
    assert.equal(await connect(server, `?token=${server.token}`, {}), 403);
  });

  it('speaks the contract over the WebSocket, rejecting bad input with kind bad-request', async () => {
    const ws = await connect(server, `?token=${server.token}`, { Origin: origin });
    assert.ok(ws instanceof WebSocket);
    try {
      const answer = (id: number) => nextMessage(ws, (m) => 'id' in m && m.id === id);
      ws.send(JSON.stringify({ id: 1, method: 'library.list', params: {} }));
      assert.deepEqual(await answer(1), { id: 1, result: [] });
      ws.send(JSON.stringify({ id: 2, method: 'library.add', params: { paths: 42 } }));
      const bad = await answer(2);
      assert.ok('error' in bad && bad.error.kind === 'bad-request', JSON.stringify(bad));
      ws.send(JSON.stringify({ id: 3, method: 'shell.exec', params: {} }));
      const unknown = await answer(3);
      assert.ok('error' in unknown && unknown.error.kind === 'bad-request');
      ws.send('{not json');
      const garbage = await nextMessage(ws, (m) => 'id' in m && m.id === null);
      assert.ok('error' in garbage && garbage.error.kind === 'bad-request');
      ws.send(JSON.stringify({ id: 4, method: 'app.info' }));
      const info = await answer(4);
      assert.ok('result' in info && (info.result as { mode: string }).mode === 'browser');

      const pushed = nextMessage(ws, (m) => 'event' in m);
      services.events.emit('library.changed', { count: 3 });
      assert.deepEqual(await pushed, { event: 'library.changed', data: { count: 3 } });
    } finally {
      ws.close();
    }
  });

  it('refuses to listen beyond loopback unless --allow-remote', async () => {
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('localhost'));
    assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('192.168.1.2') && !isLoopbackHost('::'));
    assert.throws(() => checkBindHost('0.0.0.0', false), (e: ServeError) => e.kind === 'refused-remote');
    await assert.rejects(
      startServer({ target: services, rendererDir: tmp, host: '0.0.0.0', port: 0 }),
      (e: ServeError) => e.kind === 'refused-remote' && /--allow-remote/.test(e.message),
    );
    const remote = await startServer({ target: services, rendererDir: tmp, host: '0.0.0.0', port: 0, allowRemote: true });
    await remote.close();
  });

  it('serves history pictures at /images/<id>.png to token holders only', async () => {
    const picture = path.join(tmp, 'data', 'picture-7.png');
    writeFileSync(picture, 'PNGDATA');
    const images = await startServer({ target: services, rendererDir: tmp, port: 0, imageFile: (id) => (id === 7 ? picture : null) });
    try {
      assert.equal((await get(images, '/images/7.png')).status, 403);
      const reply = await get(images, `/images/7.png?token=${images.token}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'PNGDATA');
      assert.equal(reply.headers['content-type'], 'image/png');
      assert.equal(reply.headers['cache-control'], 'private, no-cache');
      for (const p of ['/images/8.png', '/images/7.jpg', '/images/..%2f7.png', '/images/-1.png']) {
        assert.equal((await get(images, `${p}?token=${images.token}`)).status, 404, p);
      }
    } finally {
      await images.close();
    }
  });

  it('follows no symlink out of the renderer folder or out of a picture\'s folder', async () => {
    const rendererDir = path.join(tmp, 'renderer');
    symlinkSync(path.join(tmp, 'secret.txt'), path.join(rendererDir, 'assets', 'leak.js'));
    symlinkSync(tmp, path.join(rendererDir, 'assets', 'up'));
    symlinkSync(path.join(rendererDir, 'assets', 'app.js'), path.join(rendererDir, 'assets', 'alias.js')); // stays inside
    const cookie = String((await get(server, `/?token=${server.token}`)).headers['set-cookie']).split(';')[0];
    for (const p of ['/assets/leak.js', '/assets/up/secret.txt']) {
      const reply = await get(server, p, { Cookie: cookie });
      assert.equal(reply.status, 404, p);
      assert.doesNotMatch(reply.body, /secret/);
    }
    assert.equal((await get(server, '/assets/alias.js', { Cookie: cookie })).body, 'console.log(1)', 'a link that stays inside is served');

    // a history picture replaced by a link to a file elsewhere
    const picture = path.join(tmp, 'data', 'picture-9.png');
    symlinkSync(path.join(tmp, 'secret.txt'), picture);
    const images = await startServer({ target: services, rendererDir, port: 0, imageFile: (id) => (id === 9 ? picture : null) });
    try {
      const reply = await get(images, `/images/9.png?token=${images.token}`);
      assert.equal(reply.status, 404);
      assert.doesNotMatch(reply.body, /secret/);
    } finally {
      await images.close();
    }
  });
});
