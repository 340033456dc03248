// Builds the renderer into build/renderer/, loaded by Electron (file:// or app protocol) and served by
// `hintbrush serve`. `base: './'` keeps every asset URL relative so both hosts work unchanged.
// The build must run under a strict Content-Security-Policy: no inline scripts or styles, no eval.
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url)); // src-renderer/, whatever the cwd

/** The policy the built page declares for itself; hosts may send a stricter header on top. */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  // 'self' covers ws:/wss: to the page's own host in CSP3 browsers (the browser-mode WebSocket).
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

/** Adds the CSP meta tag to the built page only: Vite's dev server injects styles inline for HMR. */
function cspMeta(): Plugin {
  return {
    name: 'hintbrush-csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler: () => [
        {
          tag: 'meta',
          attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy },
          injectTo: 'head-prepend',
        },
      ],
    },
  };
}

/**
 * Development against a running `hintbrush serve`: `HINTBRUSH_SERVE=http://127.0.0.1:7870 npx vite --config
 * src-renderer/vite.config.ts`, then open `http://localhost:5173/?token=<the token serve printed>`. The dev
 * server forwards /ws and presents itself to serve with serve's own Host and Origin, which serve checks.
 */
function serveProxy(target: string | undefined) {
  if (!target) return undefined;
  return {
    '/ws': {
      target,
      ws: true,
      changeOrigin: true,
      configure: (proxy: { on(event: 'proxyReqWs', cb: (req: { setHeader(n: string, v: string): void }) => void): void }) =>
        proxy.on('proxyReqWs', (proxyReq) => proxyReq.setHeader('origin', new URL(target).origin)),
    },
  };
}

export default defineConfig({
  root,
  base: './',
  plugins: [svelte({ configFile: false }), cspMeta()],
  // The renderer imports the pure contract from src-main/common/; allow the dev server to read it.
  server: {
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: serveProxy(process.env.HINTBRUSH_SERVE),
  },
  build: {
    outDir: '../build/renderer',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be bundled, but every host (Electron's Chromium, evergreen browsers) has modulepreload.
    modulePreload: { polyfill: false },
    // Never inline assets as data: URLs in scripts; keeps the CSP story simple and the bundle inspectable.
    assetsInlineLimit: 0,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
});
