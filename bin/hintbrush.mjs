#!/usr/bin/env node
// The `hintbrush` command. In a checkout it runs the TypeScript sources through tsx's loader; in a package
// without sources (or with HINTBRUSH_USE_BUILD=1) it runs the bundle that `npm run build` writes.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src-main', 'cli', 'hintbrush.ts');
const bundle = path.join(root, 'build', 'main', 'hintbrush-cli.mjs');

async function load() {
  if (process.env.HINTBRUSH_USE_BUILD !== '1' && existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(source).href);
  }
  if (existsSync(bundle)) return import(pathToFileURL(bundle).href);
  console.error(`hintbrush: neither ${source} nor ${bundle} exists; run \`npm run build\`.`);
  process.exit(1);
}

const { main } = await load();
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; should a stray handle remain, do not hang the shell over it.
setTimeout(() => process.exit(code), 2000).unref();
