// Shared set-up for the Node tests: pack pkg/ and install the tarball into a fresh scratch app,
// exactly as a user's `npm install headroom-wasm` would.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
