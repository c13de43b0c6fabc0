// headroom-wasm/ml inside workerd (Cloudflare's runtime, via miniflare), bundled as wrangler
// bundles a Worker: the Worker fetches the default model through a service binding (a Worker
// would fetch it from R2 or a URL; 23 MB is too large to bundle), loads it, compresses a
// request body, and reports its memory against a Worker's 128 MB: its wasm memory, and the
// isolate's V8 heap and array-buffer backing stores as workerd's inspector reports them
// (Runtime.getHeapUsage).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { installPackage, bundleWorker, freePort, WORKER_RULES } from './helpers.mjs';

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
let inspectorPort;

/** The user Worker's isolate heap, from workerd's inspector (Chrome DevTools protocol). */
async function isolateHeap() {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.title.endsWith('core:user:'));
  assert.ok(target, `no user Worker among ${targets.map((t) => t.title)}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  try {
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('error', reject);
    });
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to Runtime.getHeapUsage in 10 s')), 10_000);
      ws.addEventListener('message', (e) => {
        const m = JSON.parse(e.data);
        if (m.id === 1) {
          clearTimeout(timer);
          resolve(m.result);
        }
      });
      ws.send(JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' }));
    });
  } finally {
    ws.close();
  }
}

before(async () => {
  if (!hasModel) return;
  const app = installPackage('ml-worker');
  writeFileSync(join(app, 'worker.js'), WORKER);
  const script = await bundleWorker(app, 'worker.js');
  const files = { '/model.onnx': model, '/tokenizer.json': tokenizer };
  // The modules listed, not discovered: Miniflare's discovery refuses the ml loader's
  // `import(fsName)` (its Node-only file branch), which workerd never runs.
  const dist = dirname(script);
  inspectorPort = await freePort();
  mf = new Miniflare({
    compatibilityDate: WORKER_RULES.compatibilityDate,
    inspectorPort,
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

test('a Worker loads the default model and compresses within 128 MB of isolate memory', { skip: !hasModel && 'no default model' }, async () => {
  const prose = readFileSync(join(root, 'tests/fixtures/text/prose_man_grep.txt'), 'utf8');
  for (const text of [prose.slice(0, 4000), prose]) {
    const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: text });
    assert.equal(res.status, 200, await res.clone().text());
    const r = await res.json();
    assert.ok(r.compressedTokens < r.originalTokens, JSON.stringify({ ...r, compressed: undefined }));
    // The JS heap and backing stores (the fetched model bytes among them, garbage once loaded but
    // not yet collected) plus wasm linear memory: what the isolate holds, short of compiled code.
    const heap = await isolateHeap();
    assert.ok(heap.usedSize > 0 && heap.totalSize >= heap.usedSize, JSON.stringify(heap));
    const total = heap.totalSize + heap.backingStorageSize + r.wasmMemoryBytes;
    const mib = (b) => (b / 1048576).toFixed(1);
    assert.ok(r.wasmMemoryBytes > 0 && total <= 128 * 1024 * 1024, `isolate memory ${total} bytes`);
    console.log(
      `workerd: ${r.originalTokens} -> ${r.compressedTokens} tokens; wasm memory ${mib(r.wasmMemoryBytes)} MiB, ` +
        `JS heap ${mib(heap.totalSize)} MiB (${mib(heap.usedSize)} used), backing stores ${mib(heap.backingStorageSize)} MiB, ` +
        `isolate total ${mib(total)} MiB`,
    );
  }
});
