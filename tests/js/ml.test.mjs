// headroom-wasm/ml from the packed package: the ML build's entry loads a tiny fixture model
// (tests/fixtures/ml) and compresses; the root entry rejects the llmlingua config.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { installPackage, importFrom, root, here } from './helpers.mjs';

let app;
let ml;
let core;
const fixture = (kind, f) => join(root, 'tests/fixtures/ml', kind, f);
const prose = readFileSync(join(root, 'tests/fixtures/text/prose_man_grep.txt'), 'utf8');

before(async () => {
  app = installPackage('ml');
  ml = await importFrom(app, 'headroom-wasm/ml');
  core = await importFrom(app, 'headroom-wasm');
});

test('exports map entry with the ordered conditions; the core module carries no tract', () => {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/headroom-wasm/package.json'), 'utf8'));
  assert.deepEqual(Object.keys(pkg.exports['./ml']), ['types', 'workerd', 'browser', 'node', 'default']);
  const dir = join(app, 'node_modules/headroom-wasm');
  const coreSize = statSync(join(dir, 'wasm/headroom_bg.wasm')).size;
  const mlSize = statSync(join(dir, 'wasm-ml/headroom_bg.wasm')).size;
  assert.ok(mlSize > coreSize + 5e6, `ml ${mlSize} vs core ${coreSize}`);
});

test('the whole root API is there, with one set of error classes', async () => {
  for (const name of ['Headroom', 'compress', 'retrieve', 'countTokens', 'TextCompressor', 'detectContentType', 'init']) {
    assert.equal(typeof ml[name], 'function', name);
  }
  const errors = await importFrom(app, 'headroom-wasm/errors');
  assert.equal(ml.ConfigurationError, errors.ConfigurationError);
  assert.equal(ml.ConfigurationError, core.ConfigurationError);
});

test('the root entry rejects llmlingua and points to headroom-wasm/ml', () => {
  assert.throws(
    () => new core.Headroom({ llmlingua: { enabled: true } }),
    (e) => e instanceof core.ConfigurationError && e.code === 'ml_not_built' && /headroom-wasm\/ml/.test(e.message),
  );
  assert.ok(new ml.Headroom({ llmlingua: { rate: 0.5 } }));
});

test('LLMLinguaCompressor loads bytes or paths and compresses synchronously', async () => {
  for (const kind of ['wordpiece', 'unigram', 'bpe']) {
    const c = await ml.LLMLinguaCompressor.load(readFileSync(fixture(kind, 'model.onnx')), readFileSync(fixture(kind, 'tokenizer.json'), 'utf8'));
    assert.equal(ml.isModelLoaded(), true);
    const r = c.compress(prose, { rate: 0.5 });
    assert.ok(Math.abs(r.compressedTokens / r.originalTokens - 0.5) <= 0.02, `${kind}: ${r.compressedTokens}/${r.originalTokens}`);
    assert.equal(r.compressedTokens, ml.countTokens(r.compressed));
    assert.ok(r.savingsPercentage > 45 && r.savingsPercentage < 55);
    for (const w of prose.split(/\s+/).filter((w) => /\d/.test(w))) assert.ok(r.compressed.includes(w), `${kind}: ${w}`);
  }
  const progress = [];
  const c = await ml.LLMLinguaCompressor.load(new URL(`file://${fixture('bpe', 'model.onnx')}`), fixture('bpe', 'tokenizer.json'), {
    onProgress: (p) => progress.push(p.file),
  });
  assert.deepEqual(progress.sort(), ['model', 'tokenizer']);
  const a = c.compress(prose, { targetTokens: 1000, forceTokens: ['grep'] });
  assert.ok(Math.abs(a.compressedTokens - 1000) <= 20, String(a.compressedTokens));
  assert.deepEqual(c.compress(prose, { targetTokens: 1000, forceTokens: ['grep'] }), a);
  assert.throws(() => c.compress(prose, { rate: 2 }), ml.ConfigurationError);
  assert.throws(() => c.compress(prose, { rate: 0.5, targetTokens: 9 }), ml.ConfigurationError);
  const late = c.compress(prose, { deadlineMs: 0 });
  assert.equal(late.compressed, prose);
  assert.match(late.warnings.join(' '), /deadlineMs/);
});

test('Headroom from headroom-wasm/ml uses the loaded model on tool outputs', async () => {
  await ml.LLMLinguaCompressor.load(readFileSync(fixture('wordpiece', 'model.onnx')), JSON.parse(readFileSync(fixture('wordpiece', 'tokenizer.json'), 'utf8')));
  const hr = new ml.Headroom({ llmlingua: { rate: 0.4 }, contentRouter: { plainText: false } });
  const request = [
    { role: 'user', content: 'What does grep -r do?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'man', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: prose },
  ];
  const r = hr.compress(request);
  assert.ok(r.transformsApplied.includes('llmlingua'), JSON.stringify(r.transformsApplied));
  assert.equal(r.markers.length, 1);
  assert.equal(hr.retrieve(r.markers[0]), prose);
});

test('unloadModel frees it; a stale compressor says so', async () => {
  const c = await ml.LLMLinguaCompressor.load(readFileSync(fixture('unigram', 'model.onnx')), readFileSync(fixture('unigram', 'tokenizer.json'), 'utf8'));
  ml.unloadModel();
  assert.equal(ml.isModelLoaded(), false);
  assert.throws(() => c.compress('hello'), (e) => e instanceof ml.ConfigurationError && e.code === 'model_not_loaded');
  const hr = new ml.Headroom({ llmlingua: {}, contentRouter: { plainText: false } });
  const r = hr.compress([{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'man', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: prose }]);
  assert.match(r.warnings.join(' '), /no model is loaded/);
  await assert.rejects(ml.LLMLinguaCompressor.load(new Uint8Array([1, 2, 3]), '{}'), ml.ConfigurationError);
});

test('with no arguments in Node, the shipped default model loads when the package has one', async () => {
  const has = (() => {
    try {
      statSync(join(app, 'node_modules/headroom-wasm/models/default/model.onnx'));
      return true;
    } catch {
      return false;
    }
  })();
  if (has) {
    const c = await ml.LLMLinguaCompressor.load();
    assert.ok(c.compress(prose.slice(0, 4000), { rate: 0.5 }).compressedTokens > 0);
  } else {
    await assert.rejects(ml.LLMLinguaCompressor.load(), (e) => e instanceof ml.ConfigurationError && e.code === 'model_unavailable');
  }
});

// The ML module is built with wasm SIMD, where tract's f32 matrix products run on the engine's
// own kernel (src/ml/wasm_gemm.rs); tests/ml_default.rs checks the same logits natively and in a
// wasm build without SIMD, so this is where that kernel meets the real model.
test('the SIMD build gives the default model ONNX Runtime\'s logits within 1e-4', async (t) => {
  const dir = join(app, 'node_modules/headroom-wasm');
  const model = join(dir, 'models/default/model.onnx');
  try {
    statSync(model);
  } catch {
    t.skip('the package has no default model');
    return;
  }
  const expected = JSON.parse(readFileSync(join(root, 'tests/fixtures/ml/default_expected.json'), 'utf8'));
  assert.equal(createHash('sha256').update(readFileSync(model)).digest('hex'), expected.model_sha256, 'the fixture is for this model');
  // The ml entry's own module instance (the same file its loaders import), for the bench-only
  // mlLogits export.
  const glue = await import(pathToFileURL(join(dir, 'wasm-ml/headroom.js')).href);
  await ml.LLMLinguaCompressor.load(readFileSync(model), readFileSync(join(dir, 'models/default/tokenizer.json'), 'utf8'));
  assert.ok(expected.samples.some((s) => s.ids.length === 512), 'a full window is among the samples');
  for (const s of expected.samples) {
    const got = glue.mlLogits(BigInt64Array.from(s.ids, (x) => BigInt(x)));
    assert.equal(got.length, 2 * s.logits.length);
    let worst = 0;
    s.logits.forEach(([a, b], i) => {
      worst = Math.max(worst, Math.abs(got[2 * i] - a), Math.abs(got[2 * i + 1] - b));
    });
    assert.ok(worst <= 1e-4, `${s.ids.length} tokens: largest logit difference ${worst}`);
  }
});

test('TypeScript: the ml entry type-checks, with the root API and the llmlingua config', () => {
  writeFileSync(
    join(app, 'user.ts'),
    `import { Headroom, LLMLinguaCompressor, unloadModel, isModelLoaded, ConfigurationError, type LLMLinguaResult } from 'headroom-wasm/ml';
const hr = new Headroom({ llmlingua: { rate: 0.4, codeRate: 0.8, device: 'cpu' } });
hr.compress([], { compressibleMessages: [0] });
async function f(bytes: Uint8Array): Promise<number> {
  const c = await LLMLinguaCompressor.load(bytes, '{}', { onProgress: (p) => console.log(p.file, p.loaded) });
  const r: LLMLinguaResult = c.compress('text', { rate: 0.5, forceTokens: ['a'], deadlineMs: 10 });
  unloadModel();
  return isModelLoaded() ? 0 : r.compressedTokens + (new ConfigurationError('x').code.length);
}
f(new Uint8Array());
`,
  );
  const tsc = join(here, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'false', 'user.ts'], { cwd: app, encoding: 'utf8' });
});
