// Shared set-up for the Node tests: pack pkg/ and install the tarball into a fresh scratch app,
// exactly as a user's `npm install headroom-wasm` would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const pkgDir = join(root, 'pkg');

const npm = process.env.NPM ?? 'npm';

/** Packs pkg/ and installs it into tests/js/scratch/<name>; returns the app directory. */
export function installPackage(name) {
  const app = join(here, 'scratch', name);
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  const tgz = execFileSync(npm, ['pack', pkgDir, '--pack-destination', app, '--silent'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `scratch-${name}`, private: true, type: 'module' }));
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', join(app, tgz)], { cwd: app });
  return app;
}

/** Imports `specifier` as code inside `app` would (Node's resolver, the package's exports map). */
export async function importFrom(app, specifier) {
  const require = createRequire(join(app, 'package.json'));
  return import(pathToFileURL(require.resolve(specifier)).href);
}

export function examples() {
  const dir = join(root, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
}

/**
 * Bundles `entry` (inside `app`) the way wrangler bundles a Worker: the `workerd` export
 * condition, and `.wasm` imports kept as separate files that workerd loads as compiled modules.
 * Returns the path of the bundled script, for Miniflare's `scriptPath`.
 */
export async function bundleWorker(app, entry) {
  const { build } = await import('esbuild');
  const { basename } = await import('node:path');
  const { copyFileSync } = await import('node:fs');
  const outdir = join(app, 'dist');
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(app, entry)],
    absWorkingDir: app,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    outdir,
    logLevel: 'error',
    plugins: [
      {
        name: 'wasm-modules',
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => {
            const abs = join(args.resolveDir, args.path);
            copyFileSync(abs, join(outdir, basename(abs)));
            return { path: `./${basename(abs)}`, external: true };
          });
        },
      },
    ],
  });
  return join(outdir, entry.replace(/\.m?js$/, '.js'));
}

/** A free TCP port on 127.0.0.1 (listened on, then closed). */
export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Miniflare options every Worker test shares. */
export const WORKER_RULES = { modules: true, modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }], compatibilityDate: '2025-01-01' };
