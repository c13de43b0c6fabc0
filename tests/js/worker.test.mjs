// The package inside workerd (Cloudflare's runtime, via miniflare): a Worker bundled the way
// wrangler bundles one (`workerd` export condition, .wasm imported as a compiled module) answers
// a request by compressing its body.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { installPackage, examples, bundleWorker, WORKER_RULES } from './helpers.mjs';

let mf;

const WORKER = `
import { compress, retrieve, Headroom, ValidationError, init } from 'headroom-wasm';

const hr = new Headroom();

export default {
  async fetch(request) {
    await init(); // a no-op in Workers, kept to show portable code
    const url = new URL(request.url);
    if (url.pathname.startsWith('/retrieve/')) {
      const original = hr.retrieve(url.pathname.slice('/retrieve/'.length));
      return original === null ? new Response('not found', { status: 404 }) : new Response(original);
    }
    try {
      const result = hr.compress(await request.text());
      return Response.json(result, { headers: { 'x-headroom-tokens-saved': String(result.tokensSaved) } });
    } catch (err) {
      const status = err instanceof ValidationError ? 400 : 500;
      return Response.json({ error: err.name, code: err.code, message: err.message }, { status });
    }
  },
};
`;

before(async () => {
  const app = installPackage('worker');
  writeFileSync(join(app, 'worker.js'), WORKER);
  const script = await bundleWorker(app, 'worker.js');
  mf = new Miniflare({
    ...WORKER_RULES,
    scriptPath: script,
  });
});

after(async () => {
  await mf?.dispose();
});

test('a Worker compresses request bodies with the workerd build', async () => {
  for (const { name, text } of examples()) {
    const res = await mf.dispatchFetch('http://localhost/compress', { method: 'POST', body: text });
    assert.equal(res.status, 200, name);
    const r = await res.json();
    assert.ok(r.tokensBefore > 1000, `${name}: ${r.tokensBefore}`);
    assert.ok(r.tokensAfter <= r.tokensBefore);
    assert.equal(res.headers.get('x-headroom-tokens-saved'), String(r.tokensSaved));
    for (const h of r.markers) {
      const orig = await mf.dispatchFetch(`http://localhost/retrieve/${h}`);
      assert.equal(orig.status, 200, `${name}: marker ${h}`);
      await orig.text();
    }
  }
});

test('bad input in a Worker is a typed 400, and the isolate keeps serving', async () => {
  const res = await mf.dispatchFetch('http://localhost/compress', { method: 'POST', body: '{"nope":true}' });
  assert.equal(res.status, 400);
  assert.deepEqual(
    { error: 'ValidationError', code: 'invalid_request' },
    (({ error, code }) => ({ error, code }))(await res.json()),
  );
  const ok = await mf.dispatchFetch('http://localhost/compress', {
    method: 'POST',
    body: JSON.stringify([{ role: 'user', content: 'hello world' }]),
  });
  assert.equal((await ok.json()).tokensBefore, 8);
});
