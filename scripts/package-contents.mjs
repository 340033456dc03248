// What each desktop package (`npm run dist`) would contain, and its size, COMPUTED from this checkout's build/,
// resources/ and node_modules, without electron-builder: it needs the Electron zip from GitHub, which is out
// of reach where this was written. The rules mirror electron-builder.yml (files, per-platform exclusions,
// asarUnpack) plus electron-builder's default exclusions of node_modules clutter; package-contents.test.ts
// checks that every rule here is also in the yml. Electron itself is not counted.
// Cross-check (Linux x64, electron-builder 26.17): `electron-builder --dir --linux` with `electronDist` pointing
// at a stand-in Electron folder (fuses and npmRebuild off) packs the same file list, except for the packages it
// could not find through this checkout's symlinked node_modules (a real clone has none of those).
//
//   node scripts/package-contents.mjs            a Markdown table per platform
//   node scripts/package-contents.mjs --json     the same as JSON (file lists included)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const TARGETS = [
  { name: 'Linux x64 (AppImage, deb)', platform: 'linux', arch: 'x64' },
  { name: 'Windows x64 (NSIS)', platform: 'win32', arch: 'x64' },
  { name: 'macOS arm64 (dmg)', platform: 'darwin', arch: 'arm64' },
];

/** Packages the app never loads at run time (its code is bundled into build/): excluded in electron-builder.yml. */
export const EXCLUDED_PACKAGES = ['tsx', 'esbuild', '@esbuild', 'get-tsconfig', 'resolve-pkg-maps', 'ws', 'prebuild-install'];
/** Sources and build leftovers of better-sqlite3 (the .node file is all it loads): excluded in electron-builder.yml. */
export const BETTER_SQLITE_LEFTOVERS = ['deps', 'src', 'build/Release/obj', 'build/Release/obj.target', 'build/Release/.deps', 'build/Release/test_extension.node', 'build/Release/sqlite3.a', 'build/deps'];
/** onnxruntime-node's install script: it downloads the CUDA provider at install time, never at run time. */
export const ORT_LEFTOVERS = ['script'];

// electron-builder's own default exclusions inside node_modules (a subset: the ones that occur here).
const DEFAULT_EXCLUDED = [/\/(CHANGELOG|README|readme|HISTORY|History)(\.md)?$/i, /\/(test|tests|__tests__|example|examples)\//, /\.d\.ts$/, /\.map$/, /\/\.bin\//, /\.(o|obj|pdb|lib|exp|iobj|ipdb|gyp|gypi|cc|h|c|mk)$/, /Makefile$/, /\/\.[^/]+$/];

function walk(dir, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else if (e.isFile()) out.push({ file: full, size: fs.statSync(full).size });
  }
  return out;
}

/** Production dependencies of the app, transitively, as package folders (what electron-builder copies). */
function productionPackages() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const seen = new Map();
  const visit = (name, fromDir) => {
    if (EXCLUDED_PACKAGES.some((x) => name === x || name.startsWith(`${x}/`))) return;
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) {
        const real = fs.realpathSync(candidate);
        if (seen.has(real)) return;
        seen.set(real, name);
        const meta = JSON.parse(fs.readFileSync(path.join(real, 'package.json'), 'utf8'));
        for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) visit(dep, candidate);
        return;
      }
      if (dir === path.dirname(dir)) return; // not installed (an optional dependency of another platform)
    }
  };
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, root);
  return [...seen].map(([dir, name]) => ({ dir, name }));
}

/** Whether a file of `name` (relative path `rel`) ships for `target`. */
function ships(name, rel, target) {
  const r = `/${rel.split(path.sep).join('/')}`;
  if (DEFAULT_EXCLUDED.some((re) => re.test(r))) return false;
  if (name === 'better-sqlite3' && BETTER_SQLITE_LEFTOVERS.some((p) => r.startsWith(`/${p}/`) || r === `/${p}`)) return false;
  if (name === 'onnxruntime-node') {
    if (ORT_LEFTOVERS.some((p) => r.startsWith(`/${p}/`))) return false;
    const bin = /^\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(r);
    if (bin) return bin[1] === target.platform && bin[2] === target.arch;
  }
  return true;
}

/** Files and sizes of one package, split into the asar and app.asar.unpacked (native code, provider libraries). */
export function packageContents(target) {
  const asar = [];
  const unpacked = [];
  for (const { dir, name } of productionPackages()) {
    for (const f of walk(dir)) {
      const rel = path.relative(dir, f.file);
      if (!ships(name, rel, target)) continue;
      const entry = { file: `node_modules/${name}/${rel.split(path.sep).join('/')}`, size: f.size };
      // asarUnpack: onnxruntime-node and better-sqlite3 whole, and every .node file
      if (name === 'onnxruntime-node' || name === 'better-sqlite3' || rel.endsWith('.node')) unpacked.push(entry);
      else asar.push(entry);
    }
  }
  for (const f of walk(path.join(root, 'build'))) {
    const rel = path.relative(root, f.file).split(path.sep).join('/');
    if (!/\.(test\.[^.]+|map)$/.test(rel)) asar.push({ file: rel, size: f.size });
  }
  asar.push({ file: 'package.json', size: fs.statSync(path.join(root, 'package.json')).size });
  const resources = walk(path.join(root, 'resources')).map((f) => ({ file: path.relative(root, f.file).split(path.sep).join('/'), size: f.size }));
  const providerLibraries = unpacked.filter((f) => /\/bin\/napi-v\d+\//.test(f.file) && !f.file.endsWith('onnxruntime_binding.node'));
  const sum = (list) => list.reduce((n, f) => n + f.size, 0);
  return { target, asar, unpacked, resources, providerLibraries, bytes: { asar: sum(asar), unpacked: sum(unpacked), resources: sum(resources), total: sum(asar) + sum(unpacked) + sum(resources) } };
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function markdown(all) {
  const lines = ['| package | app.asar | app.asar.unpacked (native) | resources/ | total without Electron | provider libraries shipped |', '| --- | --- | --- | --- | --- | --- |'];
  for (const c of all) {
    const libs = c.providerLibraries.map((f) => `${path.basename(f.file)} ${mb(f.size)}`).join(', ');
    lines.push(`| ${c.target.name} | ${mb(c.bytes.asar)} | ${mb(c.bytes.unpacked)} | ${mb(c.bytes.resources)} | ${mb(c.bytes.total)} | ${libs} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const all = TARGETS.map(packageContents);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
  else {
    if (!fs.existsSync(path.join(root, 'build', 'renderer'))) process.stderr.write('note: build/ is incomplete; run `npm run build` first for the app.asar figure\n');
    process.stdout.write(`${markdown(all)}\n`);
  }
}
