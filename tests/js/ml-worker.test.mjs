// headroom-wasm/ml inside workerd (Cloudflare's runtime, via miniflare), bundled as wrangler
// bundles a Worker: the Worker fetches the default model through a service binding (a Worker
// would fetch it from R2 or a URL; 23 MB is too large to bundle), loads it, compresses a
// request body, and reports its wasm memory against a Worker's 128 MB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { installPackage, bundleWorker, WORKER_RULES } from './helpers.mjs';

const root = new URL('../../', import.meta.url).pathname;
const model = join(root, 'models/default/model.onnx');
const tokenizer = join(root, 'models/default/tokenizer.json');
const hasModel = existsSync(model) && existsSync(tokenizer);

const WORKER = `
import { LLMLinguaCompressor, wasmMemoryBytes } from 'headroom-wasm/ml';

let compressor;

export default {
  async fetch(request, env) {
    if (compressor === undefined) {
      const [bytes, tok] = await Promise.all([
        env.MODELS.fetch('http://models/model.onnx').then((r) => r.arrayBuffer()),
        env.MODELS.fetch('http://models/tokenizer.json').then((r) => r.text()),
      ]);
      compressor = await LLMLinguaCompressor.load(new Uint8Array(bytes), tok);
    }
    const r = compressor.compress(await request.text(), { rate: 0.5 });
    return Response.json({ ...r, wasmMemoryBytes: wasmMemoryBytes() });
  },
};
`;

let mf;

before(async () => {
  if (!hasModel) return;
  const app = installPackage('ml-worker');
  writeFileSync(join(app, 'worker.js'), WORKER);
  const script = await bundleWorker(app, 'worker.js');
  const files = { '/model.onnx': model, '/tokenizer.json': tokenizer };
  // The modules listed, not discovered: Miniflare's discovery refuses the ml loader's
  // `import(fsName)` (its Node-only file branch), which workerd never runs.
  const dist = dirname(script);
  mf = new Miniflare({
    compatibilityDate: WORKER_RULES.compatibilityDate,
    modulesRoot: dist,
    modules: [
      { type: 'ESModule', path: script },
      { type: 'CompiledWasm', path: join(dist, 'headroom_bg.wasm') },
    ],
    serviceBindings: {
      MODELS: (req) => {
        const file = files[new URL(req.url).pathname];
        return file ? new Response(readFileSync(file)) : new Response('not found', { status: 404 });
      },
    },
  });
});

after(async () => {
  await mf?.dispose();
});

test('a Worker loads the default model and compresses within 128 MB of wasm memory', { skip: !hasModel && 'no default model' }, async () => {
  const prose = readFileSync(join(root, 'tests/fixtures/text/prose_man_grep.txt'), 'utf8');
  for (const text of [prose.slice(0, 4000), prose]) {
    const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: text });
    assert.equal(res.status, 200, await res.clone().text());
    const r = await res.json();
    assert.ok(r.compressedTokens < r.originalTokens, JSON.stringify({ ...r, compressed: undefined }));
    assert.ok(r.wasmMemoryBytes > 0 && r.wasmMemoryBytes <= 128 * 1024 * 1024, `wasm memory ${r.wasmMemoryBytes} bytes`);
    console.log(`workerd: ${r.originalTokens} -> ${r.compressedTokens} tokens, wasm memory ${(r.wasmMemoryBytes / 1048576).toFixed(1)} MiB`);
  }
});
