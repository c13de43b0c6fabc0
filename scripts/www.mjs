#!/usr/bin/env node
// The browser playground: builds www/dist/ from www/ and the npm package in pkg/ (the page uses
// nothing else, so it works offline), then serves it on 127.0.0.1.
// Usage: node scripts/www.mjs [--port 8080] [--build-only]
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const distDir = join(root, 'www', 'dist');

/** Target size of the generated example: big enough to show that the page stays responsive. */
const BIG_BYTES = 5 * 1024 * 1024;

/** Builds www/dist/ and returns its path. */
export function buildWww() {
  const pkg = join(root, 'pkg');
  if (!existsSync(join(pkg, 'wasm', 'headroom_bg.wasm'))) {
    throw new Error('www: pkg/ is not built; run `make build` first');
  }
  rmSync(distDir, { recursive: true, force: true });
  mkdirSync(join(distDir, 'examples'), { recursive: true });
  for (const f of readdirSync(join(root, 'www'))) {
    if (/\.(html|js|css)$/.test(f)) cpSync(join(root, 'www', f), join(distDir, f));
  }
  cpSync(pkg, join(distDir, 'pkg'), { recursive: true, filter: (src) => !src.startsWith(join(pkg, 'examples')) });

  // The examples: those of the package, titled by www/examples.json (new ones by file name).
  const titles = JSON.parse(readFileSync(join(root, 'www', 'examples.json'), 'utf8'));
  const shipped = readdirSync(join(pkg, 'examples')).filter((f) => f.endsWith('.json')).sort();
  for (const f of shipped) cpSync(join(pkg, 'examples', f), join(distDir, 'examples', f));
  writeFileSync(join(distDir, 'examples', 'generated_5mb.json'), bigExample(readFileSync(join(pkg, 'examples', 'json_api.json'), 'utf8')));
  const files = [...titles.map((t) => t.file), ...shipped.filter((f) => !titles.some((t) => t.file === f))];
  const index = files
    .filter((f) => existsSync(join(distDir, 'examples', f)))
    .map((f) => ({
      file: f,
      title: titles.find((t) => t.file === f)?.title ?? f.replace(/\.json$/, ''),
      bytes: statSync(join(distDir, 'examples', f)).size,
    }));
  writeFileSync(join(distDir, 'examples', 'index.json'), JSON.stringify(index, null, 1));
  return distDir;
}

/**
 * A ~5 MB request from the json_api example: its package list repeated with bumped patch versions
 * and varied dependency counts, so SmartCrusher sees a long, realistic, non-identical array.
 */
export function bigExample(jsonApiText) {
  const body = JSON.parse(jsonApiText);
  const tool = body.messages.find((m) => m.role === 'tool');
  const inner = JSON.parse(tool.content);
  const base = inner.packages;
  const packages = [];
  let bytes = 0;
  for (let i = 0; bytes < BIG_BYTES; i++) {
    const p = base[i % base.length];
    const round = Math.floor(i / base.length);
    const q = { ...p, version: p.version.replace(/\d+$/, (d) => String(Number(d) + round)), dependencies: (p.dependencies + i) % 17 };
    packages.push(q);
    bytes += JSON.stringify(q).length + 2;
  }
  tool.content = JSON.stringify({ ...inner, packages });
  return `${JSON.stringify(body, null, 1)}\n`;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves `dir` on 127.0.0.1:`port` (0: any free port); resolves to { server, url }. */
export function serve(dir = distDir, port = 8080) {
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    // content-length: the ML panel's progress bar shows bytes loaded of this total.
    const headers = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(statSync(file).size),
      'cache-control': 'no-store',
    };
    if (req.method === 'HEAD') {
      res.writeHead(200, headers).end();
      return;
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : 8080;
  buildWww();
  console.log(`www: built ${distDir}`);
  if (!args.includes('--build-only')) {
    const { url } = await serve(distDir, port);
    console.log(`www: serving the playground at ${url} (Ctrl+C stops)`);
  }
}
