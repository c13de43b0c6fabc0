// The packed npm package, installed into a scratch app and used as a Node user would.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installPackage, importFrom, examples, here } from './helpers.mjs';

let app;
let hw;

before(async () => {
  app = installPackage('package');
  hw = await importFrom(app, 'headroom-wasm');
});

test('exports map: ordered conditions, types, bin', () => {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/headroom-wasm/package.json'), 'utf8'));
  assert.equal(pkg.name, 'headroom-wasm');
  assert.equal(pkg.type, 'module');
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'workerd', 'browser', 'node', 'default']);
  assert.ok(pkg.bin['headroom-wasm']);
  for (const f of ['index.d.ts', 'errors.d.ts', 'wasm/headroom_bg.wasm']) {
    readFileSync(join(app, 'node_modules/headroom-wasm', f));
  }
});

test('importing is enough in Node; init() is a no-op', async () => {
  await hw.init();
  assert.match(hw.version(), /^\d+\.\d+\.\d+/);
  assert.equal(hw.countTokens('hello world'), 2);
});

test('every bundled example compresses and round-trips', () => {
  const hr = new hw.Headroom();
  for (const { name, text } of examples()) {
    const r = hr.compress(JSON.parse(text));
    assert.ok(r.tokensBefore > 1000, `${name}: ${r.tokensBefore}`);
    assert.ok(r.tokensAfter <= r.tokensBefore, name);
    assert.ok(Array.isArray(r.messages) && r.request, name);
    assert.equal(typeof r.timing.total, 'number');
    for (const h of r.markers) assert.equal(typeof hr.retrieve(h), 'string', `${name}: marker ${h}`);
    if (r.markers.length === 0) assert.deepEqual(r.request, JSON.parse(text), `${name}: untouched body`);
    // JSON text in, same answer.
    assert.equal(hr.compress(text).tokensAfter, r.tokensAfter);
  }
  const s = hr.stats();
  assert.equal(s.requestsTotal, 2 * examples().length);
});

test('typed errors, and the instance keeps working', async () => {
  const errorsEntry = await importFrom(app, 'headroom-wasm/errors');
  assert.equal(errorsEntry.ConfigurationError, hw.ConfigurationError, 'one class across entries');
  const hr = new hw.Headroom();
  const cases = [
    [() => hr.compress(42), hw.ValidationError, 'invalid_request'],
    [() => hr.compress(null), hw.ValidationError, 'invalid_request'],
    [() => hr.compress('not json'), hw.ValidationError, 'invalid_json'],
    [() => hr.compress([{ role: 'wizard', content: 'x' }]), hw.ValidationError, 'unknown_role'],
    [() => hr.compress([{ role: 'tool', tool_call_id: 'x', content: 'y' }]), hw.ValidationError, 'orphan_tool_result'],
    [() => hr.compress([{ role: 'user', content: 'bad \uD800 surrogate' }]), hw.ValidationError, 'invalid_json'],
    [() => hr.compress('[{"role":"user","content":"\uDC00"}]'), hw.ValidationError, 'lone_surrogate'],
    [() => hr.countTokens('x\uD800'), hw.ValidationError, 'lone_surrogate'],
    [() => hr.retrieve('zzz'), hw.ValidationError, 'invalid_hash'],
    [() => hr.retrieve(12), hw.ValidationError, 'invalid_hash'],
    [() => hr.compress([{ role: 'user', content: 'x' }], { mode: 'fast' }), hw.ConfigurationError, 'invalid_options'],
    [() => new hw.Headroom({ nope: 1 }), hw.ConfigurationError, 'invalid_config'],
    [() => new hw.Headroom({ outputBufferTokens: -5 }), hw.ConfigurationError, 'invalid_config'],
    [() => new hw.Headroom({ smartCrusher: { varianceThreshold: NaN } }), hw.ConfigurationError, 'invalid_value'],
    [() => new hw.Headroom('{}'), hw.ConfigurationError, 'invalid_config'],
    [() => hw.countWithEncoding('x', 'gpt2'), hw.ConfigurationError, 'unknown_encoding'],
  ];
  for (const [fn, Cls, code] of cases) {
    assert.throws(fn, (e) => {
      assert.ok(e instanceof Cls, `${fn}: got ${e?.name}: ${e?.message}`);
      assert.ok(e instanceof hw.HeadroomError);
      assert.equal(e.code, code, `${fn}: ${e.message}`);
      assert.equal(typeof e.details, 'object');
      return true;
    });
    assert.equal(hr.compress([{ role: 'user', content: 'still works' }]).tokensBefore, 8);
  }
  const deep = '['.repeat(100000) + ']'.repeat(100000);
  assert.throws(() => hr.compress(deep), (e) => e instanceof hw.ValidationError && e.code === 'json_too_deep');
  assert.equal(hr.retrieve('0123456789abcdef01234567'), null);
});

test('audit observes, simulate plans', () => {
  const hr = new hw.Headroom({ defaultMode: 'audit' });
  const req = JSON.parse(examples()[0].text);
  const r = hr.compress(req);
  assert.equal(r.mode, 'audit');
  assert.deepEqual(r.request, req);
  assert.equal(r.tokensAfter, r.tokensBefore);
  assert.equal(typeof r.potentialTokensSaved, 'number');
  assert.equal(hr.simulate(req).mode, 'simulate');
  assert.equal(hr.config().defaultMode, 'audit');
});

test('module-level compress and retrieve share one store', () => {
  const req = JSON.parse(examples()[0].text);
  const a = hw.compress(req);
  const b = hw.compress(req, { smartCrusher: { maxItemsAfterCrush: 5 } });
  for (const h of [...a.markers, ...b.markers]) assert.equal(typeof hw.retrieve(h), 'string');
  assert.equal(hw.retrieveToolDefinition('anthropic').name, 'headroom_retrieve');
  assert.equal(hw.retrieveToolDefinition('openai').function.name, 'headroom_retrieve');
});

test('a wasm trap re-instantiates the module and the API keeps working', () => {
  const hr = new hw.Headroom({ model: 'gpt-4' });
  assert.equal(hr.countTokens('hello world'), 2);
  assert.throws(() => hw.__testTrap(), (e) => e instanceof hw.CompressionError && e.code === 'wasm_trap');
  // The same JS object rebuilds its engine (same config) on the fresh instance.
  assert.equal(hr.config().model, 'gpt-4');
  assert.equal(hr.compress([{ role: 'user', content: 'after the trap' }]).tokensBefore, 9);
  assert.equal(hw.compress([{ role: 'user', content: 'x' }]).tokensBefore, 7);
});

test('a filling CCR store grows wasm memory in steps, not on every call', () => {
  // Each call stores a ~70 KB original. V8 answers every memory grow with a GC, so the engine
  // leaves room after a call that grew memory (src/wasm.rs, grow_ahead): 40 calls store ~2.8 MB
  // of originals in a handful of grows instead of dozens.
  const hr = new hw.Headroom();
  const request = (salt) => [
    { role: 'user', content: 'which one failed?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c', content: JSON.stringify(Array.from({ length: 1500 }, (_, i) => ({ id: i, name: `row-${i}-${salt}`, status: i === 7 ? 'failed' : 'ok' }))) },
  ];
  hr.compress(request(0));
  let grows = 0;
  let last = hw.wasmMemoryBytes();
  const start = last;
  for (let i = 1; i <= 40; i++) {
    const r = hr.compress(request(i));
    assert.equal(r.markers.length, 1);
    const now = hw.wasmMemoryBytes();
    if (now > last) grows += 1;
    last = now;
  }
  assert.ok(last - start >= 1_500_000, `the store holds the originals (${last - start} bytes grown)`);
  assert.ok(grows <= 6, `${grows} grows in 40 calls`);
});

test('CCR hashes in Node come from node:crypto, checked, with the wasm digest as the fallback', () => {
  const key = Symbol.for('headroom-wasm.sha256');
  const installed = globalThis[key];
  assert.equal(typeof installed, 'function', 'the Node entry offers its digest');
  const rows = Array.from({ length: 400 }, (_, i) => ({ id: i, status: i === 123 ? 'failed' : 'ok', host: `web-${i % 9}` }));
  const original = JSON.stringify(rows);
  const req = [
    { role: 'user', content: 'which one failed?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c', content: original },
  ];
  const expected = createHash('sha256').update(original).digest('hex').slice(0, 24);
  // The hook is looked up once per instance: a trap re-instantiates, so each case starts fresh.
  const run = (hook) => {
    globalThis[key] = hook;
    assert.throws(() => hw.__testTrap());
    const hr = new hw.Headroom();
    const r = hr.compress(req);
    assert.deepEqual(r.markers, [expected]);
    assert.equal(hr.retrieve(expected), original);
  };
  try {
    let calls = 0;
    run((bytes) => { calls += 1; return installed(bytes); });
    assert.ok(calls >= 1, 'the host digest was used');
    // Wrong answers and throws fall back to the wasm digest: the same hash either way.
    for (const bad of [() => 'E'.repeat(64), () => 'abc', () => 42, () => { throw new Error('no digest'); }, undefined]) run(bad);
  } finally {
    globalThis[key] = installed;
    assert.throws(() => hw.__testTrap());
  }
});

test('the CLI runs the demo and compresses stdin', () => {
  const bin = join(app, 'node_modules/.bin/headroom-wasm');
  const demo = execFileSync(bin, ['demo'], { encoding: 'utf8' });
  assert.match(demo, /total: \d+ -> \d+ tokens/);
  for (const { name } of examples()) assert.ok(demo.includes(name.replace('.json', '')), name);
  const out = execFileSync(bin, ['compress', '-', '--output', 'messages'], {
    input: JSON.stringify([{ role: 'user', content: 'hi' }]),
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(out), [{ role: 'user', content: 'hi' }]);
  assert.equal(execFileSync(bin, ['count', '-'], { input: '[{"role":"user","content":"hello world"}]', encoding: 'utf8' }).trim(), '8');
});

test('JSON tool outputs shrink, markers retrieve the exact original, the model can ask for it', () => {
  const hr = new hw.Headroom();
  const { text } = examples().find((e) => e.name === 'json_api.json');
  const body = JSON.parse(text);
  const r = hr.compress(body);
  assert.ok(r.tokensSaved > r.tokensBefore / 2, `saved ${r.tokensSaved} of ${r.tokensBefore}`);
  assert.ok(r.transformsApplied.includes('content_router'));
  assert.equal(r.markers.length, 1);
  const original = hr.retrieve(r.markers[0]);
  assert.equal(original, body.messages[3].content, 'the exact original tool output');
  assert.ok(r.request.tools.some((t) => t.function?.name === 'headroom_retrieve'), 'retrieve tool injected');
  const compressed = r.request.messages[3].content;
  assert.ok(compressed.includes(`hash=${r.markers[0]}`));
  assert.ok(compressed.includes('serde_json'), 'the item the user asked about stays');
  // The model calls the tool; the wrapper appends the answer.
  const answer = hr.answerRetrieveCall({
    id: 'call_9',
    type: 'function',
    function: { name: 'headroom_retrieve', arguments: JSON.stringify({ hash: r.markers[0] }) },
  });
  assert.deepEqual(answer, { role: 'tool', tool_call_id: 'call_9', content: original });
  // Lossless tables decode to the original.
  const lossless = new hw.Headroom({ smartCrusher: { losslessOnly: true } }).compress(body);
  const table = lossless.request.messages[3].content;
  assert.ok(table.startsWith('#headroom-table v1'));
  assert.deepEqual(hw.decodeTable(table), JSON.parse(body.messages[3].content));
  assert.throws(() => hw.decodeTable('nope'), (e) => e instanceof hw.ValidationError && e.code === 'invalid_table');
  // A map of records (rows keyed by id) and an array of several shapes (one table per shape)
  // decode deep-equal too, types and order included.
  const byId = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`usr_${i}`, { name: `user ${i}`, admin: i % 7 === 0, logins: i * 3, team: i % 2 ? null : 'core' }]));
  const events = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? { type: 'push', id: i, ref: 'main', commits: i % 4 } : i % 3 === 1 ? { type: 'issue', id: i, number: 100 + i, state: 'open', labels: ['bug'] } : { type: 'star', id: i }));
  for (const value of [byId, { events }]) {
    const req = [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: JSON.stringify(value) }];
    const out = new hw.Headroom({ smartCrusher: { losslessOnly: true } }).compress(req).messages[2].content;
    assert.ok(out.startsWith('#headroom-table v1'), out.slice(0, 200));
    assert.deepEqual(hw.decodeTable(out), value);
  }
  // A bare messages array carries the tool to add.
  const bare = hr.compress(body.messages);
  assert.equal(bare.tools[0].function.name, 'headroom_retrieve');
});

test('text compressors: search, log, diff, text through the package, originals retrievable', () => {
  const grep = JSON.parse(examples().find((e) => e.name === 'grep_output.json').text).messages[2].content[0].content;
  assert.equal(hw.detectContentType(grep).contentType, 'search_results');
  const r = new hw.SearchCompressor().compress(grep, { query: 'de.rs' });
  assert.ok(r.compressionRatio < 0.5, `ratio ${r.compressionRatio}`);
  assert.equal(r.unit, 'matches');
  assert.ok(r.compressed.includes(`hash=${r.hash}`));
  assert.equal(hw.retrieve(r.hash), grep, 'module-level store by default');
  const hr = new hw.Headroom();
  const log = JSON.parse(examples().find((e) => e.name === 'build_log.json').text).contents[2].parts[0].functionResponse.response.output;
  assert.equal(hw.detectContentType(log).contentType, 'build_output');
  const l = new hw.LogCompressor({ tailLines: 4 }, { store: hr }).compress(log);
  assert.ok(l.compressedCount < l.originalCount);
  assert.equal(hr.retrieve(l.hash), log, 'the store passed in');
  assert.equal(hw.retrieve(l.hash), null, 'not the module-level one');
  assert.throws(() => new hw.DiffCompressor({ nope: 1 }), (e) => e instanceof hw.ConfigurationError);
  assert.throws(() => new hw.TextCompressor({ targetRatio: 0 }), (e) => e instanceof hw.ConfigurationError);
  assert.throws(() => new hw.TextCompressor(undefined, { store: {} }), (e) => e instanceof hw.ConfigurationError);
  const small = new hw.TextCompressor().compress('short text');
  assert.deepEqual([small.compressed, small.hash, small.compressionRatio], ['short text', null, 1]);
  // The router does the same inside compress(): every example now saves tokens (but the one about
  // prompt caching, whose system prompt cacheAligner's default mode only warns about).
  for (const { name, text } of examples()) {
    if (name === 'system_date.json') continue;
    const c = hr.compress(text);
    assert.ok(c.tokensSaved > 0, `${name}: ${c.transformsApplied}`);
  }
});

test('the TypeScript declarations type-check a user program', () => {
  const src = `
import { Headroom, compress, retrieve, SearchCompressor, ValidationError, type CompressResult, type HeadroomConfig } from 'headroom-wasm';
const config: HeadroomConfig = { model: 'gpt-4o', smartCrusher: { maxItemsAfterCrush: 20 }, contentRouter: { diff: { contextLines: 2 } }, ccr: { injectTool: 'always' } };
const hr = new Headroom(config);
const r: CompressResult = hr.compress({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { mode: 'audit' });
const n: number = r.tokensSaved + hr.countTokens('x', 'gpt-4o');
const orig: string | null = retrieve(r.markers[0] ?? '');
const s = new SearchCompressor({ maxMatches: 10 }).compress('a.rs:1:x', { query: 'x' });
const h: string | null = s.hash;
try { compress([]); } catch (e) { if (e instanceof ValidationError) console.log(e.code, e.details); }
console.log(n, orig, h, hr.stats().tokensSavedTotal, r.stablePrefixHash);
`;
  writeFileSync(join(app, 'user.ts'), src);
  const tsc = join(here, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'false', 'user.ts'], { cwd: app, encoding: 'utf8' });
  writeFileSync(join(app, 'bad.ts'), `import { Headroom } from 'headroom-wasm';\nnew Headroom({ modle: 'gpt-4o' });\n`);
  assert.throws(() => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'bad.ts'], { cwd: app, encoding: 'utf8' }), (e) => /modle/.test(e.stdout));
});

test('hostile input: a 100 MB string is refused before it reaches wasm memory; limits are configurable', () => {
  const hr = new hw.Headroom();
  const before = hw.wasmMemoryBytes();
  const huge = 'x'.repeat(100 * 1024 * 1024);
  assert.throws(() => hr.compress(huge), (e) => e instanceof hw.ValidationError && e.code === 'request_too_large');
  assert.throws(() => hr.compress([{ role: 'user', content: huge }]), (e) => e instanceof hw.ValidationError && e.code === 'request_too_large');
  assert.ok(hw.wasmMemoryBytes() - before < 16 * 1024 * 1024, 'the 100 MB never crossed into wasm');
  const small = new hw.Headroom({ limits: { maxRequestBytes: 1000, maxJsonDepth: 5 } });
  assert.throws(() => small.compress([{ role: 'user', content: 'y'.repeat(2000) }]), (e) => e.code === 'request_too_large');
  assert.throws(() => small.compress([{ role: 'user', content: [[[[[['deep']]]]]] }]), (e) => e.code === 'json_too_deep');
  assert.throws(() => new hw.Headroom({ limits: { deadlineMs: -1 } }), (e) => e instanceof hw.ConfigurationError);
  assert.equal(hr.compress([{ role: 'user', content: 'ok' }]).tokensBefore, 7);
});

test('a deadline skips the transforms that would start after it, with a warning', () => {
  const hr = new hw.Headroom({ limits: { deadlineMs: 0 } });
  const { text } = examples().find((e) => e.name === 'json_api.json');
  const r = hr.compress(text);
  assert.ok(r.warnings.some((w) => w.includes('deadlineMs')), r.warnings.join('\n'));
  assert.equal(r.tokensSaved, 0);
  assert.deepEqual(r.request, JSON.parse(text));
});
