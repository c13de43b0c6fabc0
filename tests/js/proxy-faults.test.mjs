// Faults around the proxy, the same cases in Node (the package's startProxyServer) and in workerd
// (the shipped worker/index.js in miniflare, originals in KV), with the fake provider on loopback
// misbehaving on request (tests/js/llm-upstream.mjs, `x-test-fault`): slow, stalled, reset
// mid-stream, 429/500 with and without Retry-After, malformed and truncated answers; clients
// that go away; oversized and malformed request bodies; a burst of 200 concurrent requests; and
// API keys in every form, looked for on every surface. Each case asserts the documented answer
// (docs/proxy.md, "Faults"), that nothing is left behind, and that the next request is served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Miniflare } from 'miniflare';
import { Agent } from 'undici';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { installPackage, importFrom, bundleWorker, WORKER_RULES } from './helpers.mjs';
import { startUpstream, openaiBody, anthropicBody, geminiBody, results } from './llm-upstream.mjs';

// Keys shaped like no provider's, so only redaction by value can hide them.
const KEY = 'proj-faults-key-7f3a9c1e5b2d4f6a8c0e';
const TIMEOUT_MS = 1500; // the "short" instances' upstreamTimeoutMs
const MAX_BODY = 100_000; // and their maxBodyBytes

const unhandled = [];
process.on('unhandledRejection', (err) => unhandled.push(err));

let upstream;
let app;
let px;
let workerdOut = ''; // everything workerd printed
const T = {}; // per target: { main, short, logs(), stats(base), close() }

class RecordingStore {
  constructor(inner, entries) {
    this.inner = inner;
    this.entries = entries;
  }
  async put(tenant, hash, content) {
    this.entries.push({ tenant, hash, content });
    return this.inner.put(tenant, hash, content);
  }
  get(tenant, hash) {
    return this.inner.get(tenant, hash);
  }
}

before(async () => {
  upstream = await startUpstream();
  const upstreams = { openai: upstream.url, anthropic: upstream.url, google: upstream.url };
  app = installPackage('proxy-faults');
  px = await importFrom(app, 'headroom-wasm/proxy');

  // Node: the package's server, in this process (so its timers can be counted).
  const nodeLogs = [];
  const entries = [];
  const logger = (e) => nodeLogs.push(e);
  const store = new RecordingStore(new px.MemoryCcrStore(), entries);
  const main = await px.startProxyServer({ port: 0, upstreams, logLevel: 'debug', logger, store });
  const short = await px.startProxyServer({ port: 0, upstreams, logLevel: 'debug', logger, store, upstreamTimeoutMs: TIMEOUT_MS, maxBodyBytes: MAX_BODY });
  T.node = {
    main: main.url,
    short: short.url,
    logs: () => JSON.stringify(nodeLogs),
    ccr: async () => JSON.stringify(entries),
    close: async () => {
      await main.close();
      await short.close();
    },
  };

  // workerd: the shipped Worker, bundled as wrangler does, two instances (default and short limits).
  copyFileSync(join(app, 'node_modules/headroom-wasm/worker/index.js'), join(app, 'index.js'));
  const script = await bundleWorker(app, 'index.js');
  const collect = (s) => s.on('data', (d) => (workerdOut += d));
  const bindings = { OPENAI_API_URL: upstream.url, ANTHROPIC_API_URL: upstream.url, GEMINI_API_URL: upstream.url, HEADROOM_CCR_TTL_SECONDS: '600', HEADROOM_LOG_LEVEL: 'debug' };
  const start = async (extra) => {
    const mf = new Miniflare({
      ...WORKER_RULES,
      scriptPath: script,
      kvNamespaces: ['HEADROOM_CCR'],
      bindings: { ...bindings, ...extra },
      host: '127.0.0.1',
      port: 0,
      handleRuntimeStdio: (stdout, stderr) => {
        collect(stdout);
        collect(stderr);
      },
    });
    return { mf, url: (await mf.ready).href.replace(/\/$/, '') };
  };
  const wm = await start({});
  const ws = await start({ HEADROOM_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), HEADROOM_MAX_BODY_BYTES: String(MAX_BODY) });
  T.workerd = {
    main: wm.url,
    short: ws.url,
    logs: () => workerdOut,
    ccr: async () => {
      let all = '';
      for (const { mf } of [wm, ws]) {
        const kv = await mf.getKVNamespace('HEADROOM_CCR');
        for (const { name } of (await kv.list()).keys) all += `${name}=${await kv.get(name)}\n`;
      }
      return all;
    },
    close: async () => {
      await wm.mf.dispose();
      await ws.mf.dispose();
    },
  };
});

after(async () => {
  await fresh.close();
  await T.node?.close();
  await T.workerd?.close();
  await upstream?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const fault = (kind, extra = {}) => ({ 'x-test-fault': kind, ...extra });
const small = (extra = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

// A connection per request to miniflare: reusing one it is closing (after a deliberately failed
// exchange) now and then failed a later request before it was sent (1 run in ~20).
const fresh = new Agent({ pipelining: 0 });

function post(base, { path = '/v1/chat/completions', key = KEY, headers = {}, body, signal } = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal,
    dispatcher: base === T.workerd?.main || base === T.workerd?.short ? fresh : undefined,
  });
}

/** Reads a body to its end: `{ text, clean }`, `clean` false when it ended abnormally. */
async function drain(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + dec.decode(), clean: true };
      text += dec.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, clean: false, error };
  }
}

/** `p`, or a rejection after `ms` (the timer is cleared either way, so it is not counted as left behind). */
function within(p, ms, what) {
  let timer;
  const limit = new Promise((_, j) => (timer = setTimeout(() => j(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
const stats = async (base) => (await fetch(`${base}/stats`)).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The upstream record of the next request to arrive (after `n` recorded ones). */
async function nextRecord(n) {
  for (let i = 0; i < 400 && upstream.requests.length <= n; i++) await sleep(10);
  assert.ok(upstream.requests.length > n, 'the request reached the upstream');
  return upstream.requests[n];
}

/** The proxy keeps serving: a plain compressed request right after the fault. */
async function stillServes(base) {
  const r = await post(base, { body: openaiBody() });
  assert.equal(r.status, 200);
  assert.match((await r.json()).choices[0].message.content, /^ok: 4 messages, retrieve tool present/);
}

const openaiLen = (items) => JSON.stringify({ results: results(items) }).length;
const errorEvent = (type, message) => `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`;

/**
 * A stream the upstream broke off must not end like a complete one. Node drops the connection
 * without the final chunk; workerd always ends the response properly (measured: `0\r\n\r\n`
 * after an errored body, under miniflare and plain `workerd serve`), so there the error event
 * that ends the text is the signal.
 */
function assertAborted(target, got) {
  if (target === 'node') assert.equal(got.clean, false, 'the stream does not end as if complete');
  else assert.match(got.text, /event: error\ndata: [^\n]+\n\n$/);
}

for (const target of ['node', 'workerd']) {
  const t = () => T[target];

  test(`${target}: a slow upstream gets a 504 upstream_timeout after upstreamTimeoutMs, and the upstream call is aborted`, async () => {
    // No headers in time: 504, and the proxy hangs up on the upstream.
    let n = upstream.requests.length;
    const t0 = Date.now();
    const r = await post(t().short, { headers: fault('slow', { 'x-test-delay-ms': '8000' }), body: openaiBody() });
    const ms = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.equal((await r.json()).error.type, 'upstream_timeout');
    assert.ok(ms >= TIMEOUT_MS * 0.9 && ms < 6000, `answered after ${ms} ms`);
    assert.equal(await within(upstream.requests[n].done, 3000, 'upstream call closed'), 'closed');

    // Slow, but within the timeout: answered.
    const ok = await post(t().short, { headers: fault('slow', { 'x-test-delay-ms': String(TIMEOUT_MS / 4) }), body: openaiBody() });
    assert.equal(ok.status, 200);
    assert.match((await ok.json()).choices[0].message.content, /^ok: 4 messages/);

    // Headers, half the body, then silence: 504 too (never half an answer).
    n = upstream.requests.length;
    const half = await post(t().short, { headers: fault('stall'), body: openaiBody() });
    assert.equal(half.status, 504);
    assert.equal((await half.json()).error.type, 'upstream_timeout');
    assert.equal(await within(upstream.requests[n].done, 3000, 'upstream call closed'), 'closed');

    // A stream that goes quiet after two events: those two reach the client as they were, then an
    // SSE error event, then the stream ends abnormally.
    for (const body of [small({ stream: true }), openaiBody({ extra: { stream: true } })]) {
      n = upstream.requests.length;
      const s = await post(t().short, { headers: fault('stall', { 'x-test-events': '2' }), body });
      assert.equal(s.status, 200);
      const got = await within(drain(s), 6000, 'stalled stream');
      const rec = upstream.requests[n];
      assert.equal(got.text, rec.log.join('') + errorEvent('upstream_timeout', `the upstream provider sent nothing for ${TIMEOUT_MS} ms`), 'the events before the stall as they were, then the error event');
      assertAborted(target, got);
      assert.equal(await within(rec.done, 3000, 'upstream call closed'), 'closed');
    }
    // A stream that keeps sending (an SSE comment every TIMEOUT_MS / 6) outlives the timeout:
    // the timer re-arms on every chunk.
    {
      const ctrl = new AbortController();
      const r = await post(t().short, { headers: fault('drip', { 'x-test-interval-ms': String(TIMEOUT_MS / 6) }), body: small({ stream: true }), signal: ctrl.signal });
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let text = '';
      const t0 = Date.now();
      while (Date.now() - t0 < TIMEOUT_MS * 2.5) text += dec.decode((await reader.read()).value, { stream: true });
      ctrl.abort();
      assert.ok(text.split(': still here').length > 4, text);
      assert.ok(!text.includes('event: error'));
    }
    const s = await stats(t().short);
    assert.ok(s.requests.upstream_timeouts >= 4, JSON.stringify(s.requests));
    const m = await (await fetch(`${t().short}/metrics`)).text();
    assert.equal(Number(/^headroom_upstream_timeouts_total (\d+)$/m.exec(m)[1]), s.requests.upstream_timeouts);
    await stillServes(t().short);
  });

  test(`${target}: an upstream reset mid-stream: the events before it, an SSE error event, an aborted stream; SDKs throw`, async () => {
    // Raw relay (nothing to intercept) and the intercepting relay (a marker was left).
    // A reset between events and one in the middle of an event (whose first half never reaches the
    // client: the raw relay passes whole events on).
    for (const partial of ['0', '1']) {
      for (const body of [small({ stream: true }), openaiBody({ extra: { stream: true } })]) {
        const n = upstream.requests.length;
        const r = await post(t().main, { headers: fault('reset', { 'x-test-events': '3', 'x-test-partial': partial }), body });
        const got = await within(drain(r), 5000, 'reset stream');
        const log = upstream.requests[n].log;
        assert.equal(log.length, partial === '1' ? 4 : 3);
        const whole = log.slice(0, 3).join('');
        assert.equal(got.text, whole + errorEvent('upstream_incomplete', "the upstream provider's stream broke off"), `partial ${partial}: the whole events before the reset, byte for byte, then the error event`);
        assertAborted(target, got);
      }
    }
    // The official SDKs surface it as an error (not a short, "complete" answer).
    const oa = new OpenAI({ apiKey: KEY, baseURL: `${t().main}/v1`, maxRetries: 0, defaultHeaders: fault('reset', { 'x-test-events': '3' }) });
    let content = '';
    await assert.rejects(async () => {
      for await (const c of await oa.chat.completions.create({ ...openaiBody(), stream: true })) content += c.choices[0]?.delta?.content ?? '';
    }, (e) => /broke off/.test(e.message));
    assert.equal(content, 'ok: 4 messages', 'the deltas before the reset arrived');
    const an = new Anthropic({ apiKey: KEY, baseURL: t().main, maxRetries: 0, defaultHeaders: fault('reset', { 'x-test-events': '4' }) });
    await assert.rejects(an.messages.stream(anthropicBody()).finalMessage(), (e) => /broke off/.test(e.message));

    // Mid-detour: the stream after a retrieve call resets.
    const detour = await post(t().main, { headers: { 'x-test-scenario': 'retrieve', ...fault('reset', { 'x-test-fault-at': 'followup', 'x-test-events': '3' }) }, body: openaiBody({ extra: { stream: true } }) });
    const got = await within(drain(detour), 5000, 'detour stream');
    assert.match(got.text, /Let me look at the full list/);
    assert.ok(got.text.endsWith(errorEvent('upstream_incomplete', "the upstream provider's stream broke off")));
    assert.ok(!got.text.includes('headroom_retrieve'), 'the retrieve call stays hidden');
    assertAborted(target, got);
    await stillServes(t().main);
  });

  test(`${target}: a body cut short (not streaming) is a 502 upstream_incomplete, never half an answer`, async () => {
    for (const headers of [fault('truncated'), fault('reset'), { 'x-test-scenario': 'retrieve', ...fault('truncated', { 'x-test-fault-at': 'followup' }) }]) {
      const n = upstream.requests.length;
      const r = await post(t().main, { headers, body: openaiBody() });
      assert.equal(r.status, 502, JSON.stringify(headers));
      const j = await r.json();
      assert.equal(j.error.type, 'upstream_incomplete');
      assert.ok(!JSON.stringify(j).includes(KEY));
      assert.equal(upstream.requests.length, n + (headers['x-test-fault-at'] ? 2 : 1));
    }
    await stillServes(t().main);
  });

  test(`${target}: upstream 429 and 500, with and without Retry-After, pass through unchanged; the proxy never retries`, async () => {
    const cases = [
      { status: '429', retryAfter: '7' },
      { status: '429' },
      { status: '500' },
      { status: '503', retryAfter: '120' },
    ];
    for (const c of cases) {
      for (const body of [openaiBody(), openaiBody({ extra: { stream: true } })]) {
        const headers = fault('status', { 'x-test-status': c.status, ...(c.retryAfter ? { 'x-test-retry-after': c.retryAfter } : {}) });
        const n = upstream.requests.length;
        const sentBefore = upstream.sent.length;
        const r = await post(t().main, { headers, body });
        assert.equal(r.status, Number(c.status));
        assert.equal(r.headers.get('retry-after'), c.retryAfter ?? null);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.equal(await r.text(), upstream.sent[sentBefore], 'the body as the upstream sent it');
        assert.equal(upstream.requests.length, n + 1, 'one upstream call: no retry');
      }
    }
    // Anthropic and Gemini routes too.
    const a = await post(t().main, { path: '/v1/messages', headers: { 'anthropic-version': '2023-06-01', ...fault('status', { 'x-test-status': '429', 'x-test-retry-after': '3' }) }, body: anthropicBody() });
    assert.equal(a.status, 429);
    assert.equal(a.headers.get('retry-after'), '3');
    assert.equal((await a.json()).error.type, 'rate_limit_error');
    const g = await post(t().main, { path: '/v1beta/models/gemini-2.5-flash:generateContent', headers: fault('status', { 'x-test-status': '500' }), body: geminiBody() });
    assert.equal(g.status, 500);
    assert.equal((await g.json()).error.type, 'server_error');

    // The SDK's own retry sees Retry-After and retries; every attempt is one upstream call.
    const n = upstream.requests.length;
    const oa = new OpenAI({ apiKey: KEY, baseURL: `${t().main}/v1`, maxRetries: 2, defaultHeaders: fault('status', { 'x-test-status': '429', 'x-test-retry-after': '0' }) });
    await assert.rejects(oa.chat.completions.create(openaiBody()), (e) => e.status === 429);
    assert.equal(upstream.requests.length, n + 3);

    // After a retrieve call, the second call answering 429: not streaming, the 429 comes back as
    // it was; streaming, an SSE error event with the status.
    const d = await post(t().main, { headers: { 'x-test-scenario': 'retrieve', ...fault('status', { 'x-test-status': '429', 'x-test-retry-after': '5', 'x-test-fault-at': 'followup' }) }, body: openaiBody() });
    assert.equal(d.status, 429);
    assert.equal(d.headers.get('retry-after'), '5');
    assert.equal((await d.json()).error.type, 'rate_limit_error');
    const ds = await post(t().main, { headers: { 'x-test-scenario': 'retrieve', ...fault('status', { 'x-test-status': '500', 'x-test-fault-at': 'followup' }) }, body: openaiBody({ extra: { stream: true } }) });
    const got = await drain(ds);
    assert.match(got.text, /Let me look at the full list/);
    assert.match(got.text, /event: error\ndata: \{"error":\{"type":"upstream_error","status":500/);
    await stillServes(t().main);
  });

  test(`${target}: malformed JSON from the upstream is relayed as it came (also when a retrieve detour needed it)`, async () => {
    for (const headers of [fault('malformed'), { 'x-test-scenario': 'retrieve', ...fault('malformed') }, { 'x-test-scenario': 'retrieve', ...fault('malformed', { 'x-test-fault-at': 'followup' }) }]) {
      const n = upstream.requests.length;
      const sentBefore = upstream.sent.length;
      const r = await post(t().main, { headers, body: openaiBody() });
      assert.equal(r.status, 200);
      const text = await r.text();
      const detour = headers['x-test-fault-at'] === 'followup';
      assert.equal(upstream.requests.length, n + (detour ? 2 : 1), 'no detour on an answer that does not parse');
      assert.equal(text, upstream.sent[sentBefore + (detour ? 1 : 0)], 'byte for byte');
      assert.throws(() => JSON.parse(text));
    }
    // Through the SDK: its own parse error, as without the proxy.
    await assert.rejects(new OpenAI({ apiKey: KEY, baseURL: `${t().main}/v1`, maxRetries: 0, defaultHeaders: fault('malformed') }).chat.completions.create(openaiBody()));
    await stillServes(t().main);
  });

  if (target === 'node') test(`node: a client that goes away mid-stream or mid-wait aborts the upstream call; nothing is left behind`, async () => {
    const before = (await stats(t().main)).requests;
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let i = 0; i < 10; i++) {
      // Mid-stream, raw relay and intercepting relay.
      for (const body of [small({ stream: true }), openaiBody({ extra: { stream: true } })]) {
        const n = upstream.requests.length;
        const ctrl = new AbortController();
        const r = await post(t().main, { headers: fault('stall', { 'x-test-events': '2' }), body, signal: ctrl.signal });
        const reader = r.body.getReader();
        await reader.read();
        ctrl.abort();
        await reader.read().catch(() => {});
        assert.equal(await within(upstream.requests[n].done, 5000, 'upstream stream closed'), 'closed');
      }
      // While the proxy waits for a slow upstream.
      const n = upstream.requests.length;
      const ctrl = new AbortController();
      const pending = post(t().main, { headers: fault('slow', { 'x-test-delay-ms': '30000' }), body: openaiBody(), signal: ctrl.signal }).catch((e) => e);
      await nextRecord(n);
      ctrl.abort();
      assert.equal((await pending).name, 'AbortError');
      assert.equal(await within(upstream.requests[n].done, 5000, 'upstream call closed'), 'closed');
    }
    // While a retrieve detour is under way (the second call stalls).
    const n = upstream.requests.length;
    const ctrl = new AbortController();
    const r = await post(t().main, { headers: { 'x-test-scenario': 'retrieve', ...fault('stall', { 'x-test-fault-at': 'followup' }) }, body: openaiBody({ extra: { stream: true } }), signal: ctrl.signal });
    const reader = r.body.getReader();
    await reader.read();
    const second = await nextRecord(n + 1);
    ctrl.abort();
    await reader.read().catch(() => {});
    assert.equal(await within(second.done, 5000, 'detour call closed'), 'closed');

    await sleep(200);
    const after_ = (await stats(t().main)).requests;
    assert.equal(after_.upstream_errors, before.upstream_errors, 'a client leaving is not an upstream error');
    assert.equal(after_.client_closed - before.client_closed, 31, `client_closed ${before.client_closed} -> ${after_.client_closed}`);
    assert.match(await (await fetch(`${t().main}/metrics`)).text(), new RegExp(`^headroom_client_closed_total ${after_.client_closed}$`, 'm'));
    // 31 aborted exchanges, each with a 10-minute upstream timer: none may outlive its exchange.
    const now = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.ok(now <= timers + 2, `timers ${timers} -> ${now}`);
    await stillServes(t().main);
  });

  if (target === 'workerd') test('workerd: a client that goes away mid-stream aborts the upstream call at the next chunk; otherwise upstreamTimeoutMs bounds it', async () => {
    // workerd notices a client that left when it next writes to it (measured the same under plain
    // `workerd serve`); it then cancels the invocation and with it the upstream call. The upstream
    // here keeps streaming (an SSE comment every 100 ms), as a model does.
    const before = (await stats(t().main)).requests;
    for (let i = 0; i < 5; i++) {
      for (const [headers, body] of [
        [fault('drip', { 'x-test-events': '2' }), small({ stream: true })],
        [fault('drip', { 'x-test-events': '2' }), openaiBody({ extra: { stream: true } })],
        [{ 'x-test-scenario': 'retrieve', ...fault('drip', { 'x-test-fault-at': 'followup' }) }, openaiBody({ extra: { stream: true } })],
      ]) {
        const n = upstream.requests.length;
        const ctrl = new AbortController();
        const r = await post(t().main, { headers, body, signal: ctrl.signal });
        const reader = r.body.getReader();
        await reader.read();
        const rec = await nextRecord(n + (headers['x-test-fault-at'] ? 1 : 0));
        ctrl.abort();
        await reader.read().catch(() => {});
        assert.equal(await within(rec.done, 3000, 'upstream stream closed'), 'closed');
      }
    }
    assert.equal((await stats(t().main)).requests.upstream_errors, before.upstream_errors, 'a client leaving is not an upstream error');
    // Nothing written to the client (the upstream silent, before or after its headers): the
    // upstream call ends at upstreamTimeoutMs.
    for (const [headers, body] of [[fault('slow', { 'x-test-delay-ms': '30000' }), openaiBody()], [fault('stall'), small({ stream: true })]]) {
      const n = upstream.requests.length;
      const ctrl = new AbortController();
      const pending = post(t().short, { headers, body, signal: ctrl.signal }).then((r) => r.body.getReader().read()).catch((e) => e);
      await nextRecord(n);
      await sleep(100);
      const t0 = Date.now();
      ctrl.abort();
      await pending;
      assert.equal(await within(upstream.requests[n].done, TIMEOUT_MS + 4000, 'upstream call closed'), 'closed');
      assert.ok(Date.now() - t0 < TIMEOUT_MS + 4000);
    }
    await stillServes(t().short);
    await stillServes(t().main);
  });

  test(`${target}: oversized and malformed request bodies`, async () => {
    const big = JSON.stringify(openaiBody({ items: 1500 }));
    assert.ok(big.length > MAX_BODY);
    const tooLarge = (await stats(t().short)).requests.too_large;
    // Declared too large: 413 before reading it.
    const r = await post(t().short, { body: big });
    assert.equal(r.status, 413);
    assert.equal((await r.json()).error.type, 'request_too_large');
    // Streamed (chunked, no length): 413 once the limit is passed, over a raw connection too.
    const chunked = await rawPost(`${t().short}/v1/chat/completions`, big);
    assert.equal(chunked.status, 413, chunked.body);
    if (target === 'node') assert.equal(chunked.headers.connection, 'close', 'the rest of the upload is not read');
    assert.equal((await stats(t().short)).requests.too_large, tooLarge + 2);
    assert.match(await (await fetch(`${t().short}/metrics`)).text(), new RegExp(`^headroom_requests_too_large_total ${tooLarge + 2}$`, 'm'));
    assert.equal(JSON.parse(chunked.body).error.type, 'request_too_large');
    await stillServes(t().short);

    // Not JSON, not an object, not UTF-8, empty: forwarded exactly as they came, the upstream answers.
    const bad = [Buffer.from('{"model":"gpt-4o","messages":[{"role":"user",'), Buffer.from('[1,2,3]'), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), Buffer.alloc(0)];
    for (const bytes of bad) {
      const n = upstream.requests.length;
      const res = await post(t().main, { body: new Uint8Array(bytes) });
      assert.equal(res.status, 400, String(bytes));
      assert.deepEqual(upstream.requests[n].raw, bytes);
    }
    // A compressible request with one byte that is not UTF-8 (in the user's text): not re-encoded
    // (which would replace that byte), forwarded as it came.
    {
      const text = JSON.stringify(openaiBody());
      const at = Buffer.from(text).indexOf('What are the top 3?');
      const bytes = Buffer.concat([Buffer.from(text).subarray(0, at), Buffer.from([0xff]), Buffer.from(text).subarray(at)]);
      const n = upstream.requests.length;
      const res = await post(t().main, { body: new Uint8Array(bytes) });
      assert.equal(res.status, 200);
      assert.deepEqual(upstream.requests[n].raw, bytes);
    }
    // JSON of the wrong shape: fail open, forwarded as it came.
    const wrong = JSON.stringify({ model: 'gpt-4o', messages: 'not a list' });
    const w = await post(t().main, { body: wrong });
    assert.equal(w.headers.get('x-headroom-mode'), 'failed-open');
    assert.equal(upstream.requests[upstream.requests.length - 1].body, wrong);
    // The proxy's own endpoints answer 400.
    assert.equal((await post(t().main, { path: '/v1/compress', body: '{"messages":' })).status, 400);
    assert.equal((await post(t().main, { path: '/v1/compress', body: new Uint8Array([0xff, 0xfe]) })).status, 400);
    assert.equal((await fetch(`${t().main}/v1/retrieve/%E0%A4%A`)).status, 400);
    await stillServes(t().main);
  });

  test(`${target}: a burst of 200 concurrent requests, each answered with its own content`, { timeout: 180_000 }, async () => {
    const before = await stats(t().main);
    const t0 = Date.now();
    const jobs = Array.from({ length: 200 }, async (_, i) => {
      const items = 120 + i; // a different original per request
      const key = `${KEY}-tenant-${i % 7}`;
      const stream = i % 2 === 1;
      const r = await post(t().main, { key, headers: { 'x-test-scenario': 'retrieve' }, body: openaiBody({ items, extra: stream ? { stream: true } : {} }) });
      assert.equal(r.status, 200, `request ${i}`);
      let content;
      if (stream) {
        content = '';
        for (const line of (await r.text()).split('\n')) {
          if (!line.startsWith('data: {')) continue;
          content += JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '';
        }
      } else content = (await r.json()).choices[0].message.content;
      // The model got back this request's original, whole: its length is this request's own.
      assert.match(content, new RegExp(`retrieved ${openaiLen(items)} chars;`), `request ${i}: ${content}`);
    });
    const settled = await Promise.allSettled(jobs);
    const failed = settled.filter((s) => s.status === 'rejected');
    assert.equal(failed.length, 0, failed.slice(0, 3).map((f) => f.reason?.message).join('\n'));
    const ms = Date.now() - t0;
    const after_ = await stats(t().main);
    assert.equal(after_.requests.total - before.requests.total, 200);
    assert.equal(after_.requests.retrieve_rounds - before.requests.retrieve_rounds, 200);
    assert.equal(after_.requests.upstream_errors, before.requests.upstream_errors);
    assert.equal(after_.requests.failed, before.requests.failed);
    console.log(`${target}: 200 concurrent requests with retrieve detours (100 streamed) in ${ms} ms`);
    await stillServes(t().main);
  });

  test(`${target}: API keys in every form never reach logs, stats, metrics or stored originals`, async () => {
    const forms = [
      { name: 'authorization', key: 'proj-bearer-key-0a1b2c3d4e5f', path: '/v1/chat/completions', headers: (k) => ({ authorization: `Bearer ${k}` }), body: (extra) => openaiBody({ extra }), orphan: (k) => small({ messages: [{ role: 'tool', tool_call_id: `id-${k}`, content: 'x'.repeat(3000) }, { role: 'user', content: 'hi' }] }) },
      { name: 'x-api-key', key: 'proj-anthropic-key-9e8d7c6b5a4f', path: '/v1/messages', headers: (k) => ({ 'x-api-key': k, 'anthropic-version': '2023-06-01' }), body: (extra) => anthropicBody({ extra }), orphan: (k) => ({ model: 'claude-3-5-haiku', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: `id-${k}`, content: 'x'.repeat(3000) }] }] }) },
      { name: 'x-goog-api-key', key: 'proj-google-key-1122334455667788', path: '/v1beta/models/gemini-2.5-flash:generateContent', headers: (k) => ({ 'x-goog-api-key': k }), body: () => geminiBody(), orphan: (k) => ({ contents: [{ role: 'user', parts: [{ functionResponse: { name: `fn-${k}`, response: { x: 'x'.repeat(3000) } } }] }] }) },
      { name: '?key=', key: 'proj-query-key-aabbccddeeff0011', path: '/v1beta/models/gemini-2.5-flash:generateContent', query: true, headers: () => ({}), body: () => geminiBody(), orphan: (k) => ({ contents: [{ role: 'user', parts: [{ functionResponse: { name: `fn-${k}`, response: { x: 'x'.repeat(3000) } } }] }] }) },
    ];
    for (const f of forms) {
      const path = f.query ? `${f.path}?key=${f.key}` : f.path;
      const send = (headers, body) => fetch(`${t().main}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...f.headers(f.key), ...headers }, body: JSON.stringify(body) });
      // A compressed request with a retrieve detour (originals stored for this tenant) ...
      const ok = await send({ 'x-test-scenario': 'retrieve' }, f.body());
      assert.equal(ok.status, 200, f.name);
      assert.match(await ok.text(), /retrieved \d+ chars/);
      // ... a request the engine rejects, carrying the key in its content and so in the error's
      // message (which is logged) ...
      const failed = await send({}, f.orphan(f.key));
      assert.equal(failed.headers.get('x-headroom-mode'), 'failed-open', f.name);
      await failed.text();
      // ... upstream failures: 500, a reset stream, a truncated body ...
      await (await send(fault('status', { 'x-test-status': '500' }), f.body())).text();
      await drain(await send(fault('reset'), f.body({ stream: true })));
      await (await send(fault('truncated'), f.body())).text();
      // ... and the proxy's own endpoints.
      await (await fetch(`${t().main}/v1/compress${f.query ? `?key=${f.key}` : ''}`, { method: 'POST', headers: f.headers(f.key), body: JSON.stringify({ messages: openaiBody().messages }) })).text();
    }
    // Two credentials at once (an SDK sending both headers): each is redacted, not just the first.
    const second = 'proj-second-key-0f1e2d3c4b5a6978';
    const both = await fetch(`${t().main}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${forms[0].key}`, 'x-api-key': second, 'anthropic-version': '2023-06-01' }, body: JSON.stringify(forms[1].orphan(second)) });
    assert.equal(both.headers.get('x-headroom-mode'), 'failed-open');
    await both.text();
    forms.push({ name: 'a second credential', key: second });
    const upstreamSaw = upstream.requests.slice(-40).map((r) => JSON.stringify(r.headers) + r.path).join('');
    const surfaces = {
      logs: t().logs(),
      stats: await (await fetch(`${t().main}/stats`)).text(),
      metrics: await (await fetch(`${t().main}/metrics`)).text(),
      'stored originals': await t().ccr(),
    };
    assert.ok(surfaces.logs.includes('compression failed'), 'the failures were logged');
    assert.ok(surfaces['stored originals'].includes('Tutorial 399'), 'originals were stored');
    for (const f of forms) {
      assert.ok(upstreamSaw.includes(f.key), `${f.name}: the key was forwarded`);
      for (const [surface, text] of Object.entries(surfaces)) {
        for (const piece of [f.key, f.key.slice(5, 25)]) assert.ok(!text.includes(piece), `${f.name} key in ${surface}`);
      }
    }
  });
}

test('node: the CLI (--log-file JSONL, stderr at debug) writes no key, whatever failed', async () => {
  const cli = join(app, 'node_modules/headroom-wasm/cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'hr-faults-'));
  const logFile = join(dir, 'proxy.jsonl');
  const child = spawn(process.execPath, [cli, 'proxy', '--port', '0', '--openai-api-url', upstream.url, '--gemini-api-url', upstream.url, '--log-file', logFile, '--log-level', 'debug', '--upstream-timeout-ms', '800'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    for (let i = 0; i < 200 && !/listening on (http:\S+)/.test(err); i++) await sleep(25);
    const base = /listening on (http:\S+)/.exec(err)[1];
    const qkey = 'proj-cli-query-key-55aa66bb77cc';
    for (const headers of [{}, fault('slow', { 'x-test-delay-ms': '3000' }), fault('reset'), fault('status', { 'x-test-status': '429' })]) {
      await drain(await post(base, { headers, body: openaiBody({ extra: { stream: true } }) }));
      await drain(await fetch(`${base}/v1beta/models/g:generateContent?key=${qkey}`, { method: 'POST', headers, body: JSON.stringify(geminiBody()) }));
    }
    await drain(await post(base, { body: small({ messages: [{ role: 'tool', tool_call_id: `id-${KEY}`, content: 'x' }] }) }));
    child.kill();
    await once(child, 'exit');
    const file = readFileSync(logFile, 'utf8');
    assert.match(file, /upstream timeout/);
    for (const bad of ['-1', '1.5', 'soon']) {
      const r = spawnSync(process.execPath, [cli, 'proxy', '--upstream-timeout-ms', bad], { encoding: 'utf8' });
      assert.equal(r.status, 2, bad);
      assert.match(r.stderr, /--upstream-timeout-ms must be a non-negative integer/);
    }
    const { ConfigurationError } = await importFrom(app, 'headroom-wasm/errors');
    for (const bad of [{ upstreamTimeoutMs: -1 }, { upstreamTimeoutMs: '5' }, { maxBodyBytes: 1.5 }, { maxRetrieveRounds: NaN }]) {
      assert.throws(() => px.createProxyHandler(bad), (e) => e instanceof ConfigurationError && e.code === 'invalid_value', JSON.stringify(bad));
    }
    assert.match(file, /stream relay failed/);
    for (const text of [file, err]) {
      for (const k of [KEY, qkey, KEY.slice(5, 25), qkey.slice(5, 25)]) assert.ok(!text.includes(k), 'a key leaked');
    }
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('node: HeadroomClient JSONL metrics, stats and setup report hold no key; upstream faults reach the caller as the SDK raised them', async () => {
  const hw = await importFrom(app, 'headroom-wasm');
  const dir = mkdtempSync(join(tmpdir(), 'hr-client-'));
  const file = join(dir, 'metrics.jsonl');
  try {
    const oa = (headers = {}) => new OpenAI({ apiKey: KEY, baseURL: `${upstream.url}/v1`, maxRetries: 0, defaultHeaders: headers });
    const client = new hw.HeadroomClient({ originalClient: oa({ 'x-test-scenario': 'retrieve' }), defaultMode: 'optimize', storeUrl: `jsonl://${file}` });
    const r = await client.chat.completions.create(openaiBody());
    assert.match(r.choices[0].message.content, /^retrieved \d+ chars/);
    // Faults: the SDK's own errors, unchanged; the client keeps working.
    for (const [headers, check] of [
      [fault('status', { 'x-test-status': '429', 'x-test-retry-after': '2' }), (e) => e.status === 429 && e.headers.get('retry-after') === '2'],
      [fault('status', { 'x-test-status': '500' }), (e) => e.status === 500],
      [fault('malformed'), (e) => e instanceof SyntaxError || /JSON/i.test(e.message)],
    ]) {
      const c = new hw.HeadroomClient({ originalClient: oa(headers), defaultMode: 'optimize', storeUrl: `jsonl://${file}` });
      await assert.rejects(c.chat.completions.create(openaiBody()), check);
    }
    const sc = new hw.HeadroomClient({ originalClient: oa(fault('reset', { 'x-test-events': '3' })), defaultMode: 'optimize', storeUrl: `jsonl://${file}` });
    await assert.rejects(async () => {
      for await (const _ of await sc.chat.completions.create({ ...openaiBody(), stream: true }));
    });
    const again = await client.chat.completions.create(openaiBody());
    assert.match(again.choices[0].message.content, /^retrieved \d+ chars/);
    const all = readFileSync(file, 'utf8') + JSON.stringify(client.getStats()) + JSON.stringify(client.validateSetup()) + JSON.stringify(await client.getMetrics()) + JSON.stringify(await client.getSummary());
    assert.ok(readFileSync(file, 'utf8').trim().split('\n').length >= 2);
    assert.ok(!all.includes(KEY) && !all.includes(KEY.slice(5, 25)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('node: no unhandled promise rejection during any of the above', () => {
  assert.deepEqual(unhandled.map((e) => String(e?.stack ?? e)), []);
});

test('workerd: no uncaught error in the runtime\'s output (but the deliberate aborts of broken streams)', () => {
  const lines = workerdOut.split('\n').filter((l) => /uncaught|unhandled/i.test(l));
  // Miniflare's workerd reports a body stream that ended in an error; the proxy does that on purpose.
  const other = lines.filter((l) => !/headroom: the upstream stream broke off/.test(l));
  assert.deepEqual(other, []);
});

/** POSTs `body` chunked (no content-length) over a raw connection; resolves `{ status, body }`. */
function rawPost(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const bytes = Buffer.from(body);
    let o = 0;
    const step = () => {
      // 16 KiB at a time; stop when the answer arrives first.
      if (o >= bytes.length) return void req.end();
      req.write(bytes.subarray(o, (o += 16384)), () => setImmediate(step));
    };
    step();
  });
}
