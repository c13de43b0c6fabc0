// The browser playground (www/) in real Chromium: built from pkg/, served from 127.0.0.1, driven
// with playwright-core. The numbers it shows must be the engine's, computed here in Node with the
// packed package. Screenshots go to tests/js/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { installPackage, importFrom, here } from './helpers.mjs';
import { buildWww, serve } from '../../scripts/www.mjs';
import { displayLines, diffLines, planRows, expandFold, alignWords, words, ML_FILES } from '../../www/view.js';

const artifacts = join(here, 'artifacts');
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
const BIG = 'generated_5mb.json';

let hw;
let app;
let dist;
let server;
let url;
let profile;
let context;
let page;
const pageErrors = [];
const foreignRequests = [];
const requested = [];

before(async () => {
  app = installPackage('www');
  hw = await importFrom(app, 'headroom-wasm');
  dist = buildWww();
  ({ server, url } = await serve(dist, 0));
  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'headroom-www-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => {
    requested.push(r.url());
    if (!r.url().startsWith(url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
});

after(async () => {
  await context?.close();
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The examples the page offers (its <select>), with their text as served. */
function examples() {
  return JSON.parse(readFileSync(join(dist, 'examples', 'index.json'), 'utf8')).map((e) => ({
    ...e,
    text: readFileSync(join(dist, 'examples', e.file), 'utf8'),
  }));
}

/** Starts a run with `action` and waits until its result and breakdown are drawn. */
async function runAndWait(action, timeout = 60_000) {
  const prev = await page.evaluate(() => Number(document.getElementById('results').dataset.run ?? 0));
  await action();
  await page.waitForFunction(
    (p) => {
      const r = document.getElementById('results');
      // A newer run has finished (a stale error from an earlier test does not count).
      return Number(r.dataset.run ?? 0) > p && (r.dataset.phase === 'done' || r.dataset.phase === 'error');
    },
    prev,
    { timeout },
  );
  const error = await page.evaluate(() => (document.getElementById('results').dataset.phase === 'error' ? document.getElementById('error').textContent : null));
  assert.equal(error, null);
}

/** What the page shows, and what it says it sent to the engine. */
async function shown() {
  return page.evaluate(() => {
    const v = (id) => Number(document.getElementById(id).dataset.value);
    const t = (id) => document.getElementById(id).textContent;
    return {
      tokensBefore: v('tokens-before'),
      tokensAfter: v('tokens-after'),
      tokensSaved: v('tokens-saved'),
      markers: v('marker-count'),
      text: { before: t('tokens-before'), after: t('tokens-after'), saved: t('tokens-saved') },
      meta: t('meta'),
      sent: JSON.parse(t('config-sent')),
      steps: JSON.parse(document.getElementById('chart-tokens').dataset.steps ?? '[]'),
      markerRows: document.querySelectorAll('#diff .marker-line').length,
      removedRows: document.querySelectorAll('#diff .del').length,
    };
  });
}

const fmt = (n) => n.toLocaleString('en-US');

/** The page's numbers equal the engine's for the same request, config, options and mode. */
function assertEngineNumbers(s, text, name) {
  const { config, options, mode } = s.sent;
  const r = new hw.Headroom(config).compress(text, { ...options, mode });
  assert.equal(s.tokensBefore, r.tokensBefore, `${name}: tokens before`);
  assert.equal(s.tokensAfter, r.tokensAfter, `${name}: tokens after`);
  assert.equal(s.tokensSaved, r.tokensSaved, `${name}: tokens saved`);
  assert.equal(s.text.before, fmt(r.tokensBefore), name);
  assert.equal(s.text.after, fmt(r.tokensAfter), name);
  assert.ok(s.text.saved.startsWith(fmt(r.tokensSaved)), name);
  assert.equal(s.markers, r.markers.length, name);
  assert.ok(s.meta.includes(`transforms: ${r.transformsApplied.join(', ') || 'none'}`), `${name}: ${s.meta}`);
  // The per-transform chart accounts for every token saved (or added: cache breakpoints, the retrieve tool).
  if (mode !== 'audit') assert.equal(s.steps.reduce((sum, [, t]) => sum + t, 0), r.tokensBefore - r.tokensAfter, `${name}: breakdown`);
  return r;
}

test('the page loads from 127.0.0.1 alone, with the engine in a worker', async () => {
  assert.match(await page.textContent('#engine-version'), /^Engine \d+\.\d+\.\d+/);
  assert.deepEqual(foreignRequests, []);
  // The ML panel is feature-detected: offered when the package carries the ml build and the
  // default model, else shown disabled, saying so.
  const ml = hasMl();
  assert.equal(await page.getAttribute('#ml', 'data-available'), String(ml));
  assert.equal(await page.$eval('#ml-controls', (f) => f.disabled), !ml);
  assert.match(await page.textContent('#ml-status'), ml ? /^Available/ : /not available/i);
});

/** Whether the package holds the ML compressor and its default model (scripts/build-pkg.sh). */
function hasMl() {
  return Object.values(ML_FILES).every((f) => existsSync(join(dist, f)));
}

test('each bundled example: the shown token numbers are the engine\'s', { timeout: 300_000 }, async () => {
  const list = examples().filter((e) => e.file !== BIG);
  assert.ok(list.length >= 6, 'JSON API, build log, grep, diff, long chat, system prompt with a date');
  for (const ex of list) {
    await runAndWait(() => page.selectOption('#example', ex.file));
    const s = await shown();
    const r = assertEngineNumbers(s, ex.text, ex.file);
    assert.equal(s.markerRows > 0, r.markers.length > 0, `${ex.file}: marker lines highlighted`);
    if (r.tokensSaved > 0) assert.ok(s.removedRows > 0, `${ex.file}: removed lines marked`);
    await page.screenshot({ path: join(artifacts, `www-${ex.file.replace(/\.json$/, '')}.png`), fullPage: true });
  }
  assert.deepEqual(pageErrors, []);
});

test('the settings reach the engine', { timeout: 120_000 }, async () => {
  const byName = Object.fromEntries(examples().map((e) => [e.file, e.text]));
  await page.selectOption('#cache-mode', 'rewrite');
  await runAndWait(() => page.selectOption('#example', 'system_date.json'));
  let s = await shown();
  assert.equal(s.sent.config.cacheAligner.mode, 'rewrite');
  let r = assertEngineNumbers(s, byName['system_date.json'], 'system_date rewrite');
  assert.ok(r.transformsApplied.includes('cache_aligner'));

  await page.selectOption('#cache-mode', 'detect');
  await page.fill('#max-items', '5');
  await page.fill('#model', 'gpt-4o-mini');
  await page.selectOption('#mode', 'optimize');
  await runAndWait(() => page.selectOption('#example', 'json_api.json'));
  s = await shown();
  assert.equal(s.sent.config.smartCrusher.maxItemsAfterCrush, 5);
  assert.equal(s.sent.options.model, 'gpt-4o-mini');
  assert.equal(s.sent.mode, 'optimize');
  r = assertEngineNumbers(s, byName['json_api.json'], 'json_api maxItems 5');
  assert.equal(r.model, 'gpt-4o-mini');

  await page.selectOption('#mode', 'audit');
  await runAndWait(() => page.click('#run'));
  s = await shown();
  r = assertEngineNumbers(s, byName['json_api.json'], 'json_api audit');
  assert.equal(s.tokensSaved, 0);

  // Back to the defaults for the tests that follow.
  await page.fill('#max-items', '15');
  await page.fill('#model', '');
  await page.selectOption('#mode', 'simulate');
});

test('a pasted request runs from the keyboard (Ctrl+Enter)', { timeout: 60_000 }, async () => {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hi to the playground.' }] };
  await page.selectOption('#example', '');
  await page.fill('#input', JSON.stringify(body));
  await page.focus('#input');
  await runAndWait(() => page.keyboard.press('Control+Enter'));
  assertEngineNumbers(await shown(), JSON.stringify(body), 'pasted');
});

test('an uploaded file runs; a bad request shows the engine\'s error', { timeout: 60_000 }, async () => {
  const ex = examples().find((e) => e.file === 'diff.json');
  await runAndWait(() => page.setInputFiles('#file', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(ex.text) }));
  assertEngineNumbers(await shown(), ex.text, 'uploaded diff.json');

  await page.fill('#input', '{"messages": [{"role": "wizard", "content": "x"}]}');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('results').dataset.phase === 'error');
  assert.match(await page.textContent('#error'), /ValidationError \(unknown_role\)/);
  assert.equal(await page.getAttribute('#error', 'role'), 'alert');
});

test('the view: the diff accounts for every line of both sides, in order, fast on 5 MB', () => {
  for (const ex of examples()) {
    const r = new hw.Headroom().compress(ex.text);
    const a = displayLines(JSON.parse(ex.text));
    const b = displayLines(r.request);
    const t0 = performance.now();
    const runs = diffLines(a, b);
    const ms = performance.now() - t0;
    let i = 0;
    let j = 0;
    for (const [op, ai, bj, n] of runs) {
      if (op !== '+') assert.equal(ai, i, `${ex.file}: left side in order`);
      if (op !== '-') assert.equal(bj, j, `${ex.file}: right side in order`);
      if (op === '=') for (let k = 0; k < n; k++) assert.equal(a[ai + k], b[bj + k]);
      if (op !== '+') i += n;
      if (op !== '-') j += n;
    }
    assert.deepEqual([i, j], [a.length, b.length], ex.file);
    assert.ok(ms < 5000, `${ex.file}: diff took ${ms} ms`);
    // Opening every fold draws each line once: a row per unchanged line, and per change block as
    // many rows as its longer side.
    let expected = 0;
    let del = 0;
    let add = 0;
    for (const [op, , , n] of [...runs, ['=', 0, 0, 0]]) {
      if (op === '-') del += n;
      else if (op === '+') add += n;
      else {
        expected += Math.max(del, add) + n;
        del = add = 0;
      }
    }
    let rows = 0;
    for (let f of planRows(runs)) {
      while (f) {
        const got = expandFold(f, 10_000);
        rows += got.rows.length;
        f = got.rest;
      }
    }
    assert.equal(rows, expected, ex.file);
  }
});

test('a marker opens the retrieved original; a fold opens hidden lines', { timeout: 60_000 }, async () => {
  const ex = examples().find((e) => e.file === 'build_log.json');
  await runAndWait(() => page.selectOption('#example', ex.file));
  const hash = await page.getAttribute('#diff button.marker', 'data-hash');
  // The same request, config, options and mode the page says it sent (earlier tests change knobs).
  const { config, options, mode } = (await shown()).sent;
  const hr = new hw.Headroom(config);
  const r = hr.compress(ex.text, { ...options, mode });
  assert.ok(r.markers.includes(hash), `the page's marker ${hash} is one of the engine's: ${r.markers}`);
  const original = hr.retrieve(hash);
  assert.equal(typeof original, 'string');

  // Keyboard: focus the marker in the diff and press Enter.
  await page.focus('#diff button.marker');
  await page.keyboard.press('Enter');
  await page.waitForFunction((h) => document.getElementById('retrieved').open && document.getElementById('retrieved').dataset.hash === h, hash);
  assert.equal(await page.textContent('#retrieved-text'), original);
  assert.match(await page.textContent('#retrieved-meta'), new RegExp(`^${fmt(original.length)} characters`));
  await page.screenshot({ path: join(artifacts, 'www-marker.png') });
  await page.keyboard.press('Escape');
  assert.equal(await page.$eval('#retrieved', (d) => d.open), false);

  // The markers list opens the same original with a click.
  await page.click(`#markers button[data-hash="${hash}"]`);
  await page.waitForFunction(() => document.getElementById('retrieved').open);
  await page.waitForFunction(() => document.getElementById('retrieved-text').textContent.length > 0);
  assert.equal(await page.textContent('#retrieved-text'), original);
  await page.click('#retrieved-close');

  // The README's screenshot (www/screenshot.png is a copy): the result, the diff at the marker.
  await page.evaluate(() => {
    const wrap = document.querySelector('.diff-wrap');
    wrap.style.maxHeight = '560px';
    const m = wrap.querySelector('.marker-line');
    wrap.scrollTop += m.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 220;
  });
  const clip = await page.evaluate(() => {
    const top = document.getElementById('results').getBoundingClientRect().top + window.scrollY - 8;
    const end = document.querySelector('.diff-wrap').getBoundingClientRect().bottom + window.scrollY + 12;
    return { x: 0, y: top, width: 1200, height: end - top };
  });
  await page.screenshot({ path: join(artifacts, 'www-readme.png'), fullPage: true, clip });
  await page.evaluate(() => document.querySelector('.diff-wrap').style.removeProperty('max-height'));

  const rows = () => page.$$eval('#diff .chunk .r', (t) => t.length);
  const before = await rows();
  await page.click('#diff .fold button');
  await page.waitForFunction((n) => document.querySelectorAll('#diff .chunk .r').length > n, before);
  assert.ok((await rows()) > before);
});

test('the view: the ML panel\'s word alignment covers the input exactly', () => {
  const text = '  The cat\n sat on the  mat.\n';
  const a = alignWords(text, 'cat\nthe mat.');
  assert.equal(a.runs.map(([, t]) => t).join(''), text);
  assert.deepEqual(a.runs.filter(([k]) => k === 'kept').map(([, t]) => t), ['cat', 'the  mat.']);
  assert.deepEqual([a.kept, a.dropped], [3, 3]);
  assert.equal(alignWords('a b', 'c'), null);
  // Line by line: the output's line break puts its "a" on the text's second line.
  const byLine = alignWords('x a\na y\n', 'x\na\n');
  assert.deepEqual(byLine.runs, [['kept', 'x'], ['space', ' '], ['dropped', 'a'], ['space', '\n'], ['kept', 'a'], ['space', ' '], ['dropped', 'y'], ['space', '\n']]);
  assert.equal(alignWords('a b\nc', 'a\nb'), null);
  assert.deepEqual(words('a\u00a0b\u3000c \ufeffd'), ['a', 'b', 'c', '\ufeffd']);
});

/** A short text for the ML panel: one window of the default model, a few seconds in wasm. */
const ML_TEXT = `The playground runs the compressor in a Web Worker, so the page stays responsive while the model
scores each word. It keeps the words that carry the most information, such as names, numbers like
2026 and 512, and rare terms, and drops the filler words that a reader can infer from the context.`;

test('the ML panel: loads the default model with progress, compresses at a rate, the ml package\'s numbers', { timeout: 300_000 }, async (t) => {
  if (!hasMl()) {
    t.skip('pkg/ has no ml build with the default model');
    return;
  }
  // The text can be the request's longest string (a request pasted, here filled, into the request box).
  const ex = examples().find((e) => e.file === 'build_log.json');
  await page.fill('#input', ex.text);
  const request = JSON.parse(ex.text);
  let longest = '';
  JSON.stringify(request, (k, v) => {
    if (typeof v === 'string' && v.length > longest.length) longest = v;
    return v;
  });
  await page.click('#ml-from-request');
  await page.waitForFunction(() => document.getElementById('ml-input').value.length > 0);
  assert.equal(await page.inputValue('#ml-input'), longest.slice(0, 40_000));
  assert.equal(await page.textContent('#ml-status'), `Took the request's longest text: ${fmt(longest.length)} characters.`);

  const total = Object.entries(ML_FILES).filter(([k]) => k !== 'entry').reduce((n, [, f]) => n + statSync(join(dist, f)).size, 0);
  // From here on, no main-thread task over 200 ms: loading, compressing, drawing the words.
  await page.evaluate(() => {
    window.__longTasks = [];
    window.__observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    });
    window.__observer.observe({ type: 'longtask' });
    window.__progress = [];
    const bar = document.getElementById('ml-progress');
    new MutationObserver(() => window.__progress.push([bar.value, bar.max])).observe(bar, { attributes: true });
  });

  // Load: the progress bar counts the ml module's and the model's bytes up to 100%.
  const t0 = Date.now();
  await page.click('#ml-load');
  await page.waitForFunction(() => document.getElementById('ml').dataset.loaded === 'true' || !document.getElementById('ml-error').hidden, null, { timeout: 180_000 });
  assert.equal(await page.evaluate(() => document.getElementById('ml-error').hidden), true, await page.textContent('#ml-error'));
  const loadMs = Date.now() - t0;
  const progress = await page.evaluate(() => window.__progress);
  const bar = await page.$eval('#ml-progress', (b) => ({ value: b.value, max: b.max, role: b.matches('progress'), label: b.labels[0]?.textContent }));
  assert.deepEqual(bar, { value: total, max: total, role: true, label: 'Download' });
  assert.match(await page.textContent('#ml-progress-text'), /\(100%\)$/);
  assert.ok(progress.length >= 3, `progress updates: ${JSON.stringify(progress)}`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0] || progress[i][1] !== progress[i - 1][1], 'progress never goes back');
  assert.ok(progress.some(([v, m]) => v > 0 && v < m), 'an intermediate value was shown');

  // A short text at rate 0.30, set from the keyboard.
  await page.fill('#ml-input', ML_TEXT);
  await page.focus('#ml-rate');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
  assert.equal(await page.textContent('#ml-rate-value'), '0.30');
  const prev = Number((await page.getAttribute('#ml', 'data-run')) ?? 0);
  const t1 = Date.now();
  await page.click('#ml-run');
  await page.waitForFunction((p) => Number(document.getElementById('ml').dataset.run ?? 0) > p, prev, { timeout: 120_000 });
  const runMs = Date.now() - t1;
  assert.equal(await page.getAttribute('#ml', 'data-phase'), 'done', await page.textContent('#ml-error'));

  const s = await page.evaluate(() => {
    const v = (id) => Number(document.getElementById(id).dataset.value);
    const box = document.getElementById('ml-text');
    const runs = [...box.childNodes].map((n) => [n.nodeType === 3 ? 'space' : n.tagName === 'DEL' ? 'dropped' : n.className, n.textContent]);
    const del = box.querySelector('del');
    return {
      before: v('ml-tokens-before'),
      after: v('ml-tokens-after'),
      kept: v('ml-kept'),
      dropped: v('ml-dropped'),
      ms: v('ml-time'),
      text: { before: document.getElementById('ml-tokens-before').textContent, after: document.getElementById('ml-tokens-after').textContent },
      sent: JSON.parse(document.getElementById('ml-result').dataset.sent),
      compressed: document.getElementById('ml-compressed').textContent,
      runs,
      strike: del ? getComputedStyle(del).textDecorationLine : null,
    };
  });
  assert.deepEqual(s.sent, { rate: 0.3 });

  // The same text and options through headroom-wasm/ml in Node, with the package's default model.
  const ml = await importFrom(app, 'headroom-wasm/ml');
  const r = (await ml.LLMLinguaCompressor.load()).compress(ML_TEXT, s.sent);
  assert.equal(s.before, r.originalTokens);
  assert.equal(s.after, r.compressedTokens);
  assert.equal(s.text.before, fmt(r.originalTokens));
  assert.equal(s.text.after, fmt(r.compressedTokens));
  assert.equal(s.compressed, r.compressed);
  assert.ok(r.compressedTokens < r.originalTokens && Math.abs(r.compressedTokens - 0.3 * r.originalTokens) <= 2, `${r.compressedTokens} of ${r.originalTokens}`);

  // Kept and dropped words, in order, are the input's words; the kept ones are the output's.
  assert.equal(s.runs.map(([, t]) => t).join(''), ML_TEXT);
  const all = s.runs.filter(([k]) => k !== 'space').flatMap(([k, t]) => words(t).map((w) => [k, w]));
  assert.deepEqual(all.map(([, w]) => w), words(ML_TEXT));
  assert.deepEqual(all.filter(([k]) => k === 'kept').map(([, w]) => w), words(r.compressed));
  assert.deepEqual([s.kept, s.dropped], [words(r.compressed).length, words(ML_TEXT).length - words(r.compressed).length]);
  assert.ok(s.dropped > 0);
  assert.equal(s.strike, 'line-through', 'dropped words are struck through, not only coloured');

  await page.waitForTimeout(300);
  const longTasks = await page.evaluate(() => {
    window.__observer.disconnect();
    return window.__longTasks;
  });
  console.log(`# ML panel: load ${(loadMs / 1000).toFixed(1)} s (${(total / 1048576).toFixed(1)} MB), compress ${(runMs / 1000).toFixed(1)} s end to end (${(s.ms / 1000).toFixed(2)} s in the worker) for ${r.originalTokens} tokens; main-thread long tasks (ms): [${longTasks.map((d) => d.toFixed(0)).join(', ')}]`);
  assert.ok(Math.max(0, ...longTasks) <= 200, `a main-thread task took ${Math.max(...longTasks).toFixed(0)} ms`);

  const axe = await new AxeBuilder({ page }).include('#ml').analyze();
  assert.deepEqual(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`), []);

  // Everything came from this server: the ml module and the model from the package's files.
  assert.deepEqual(foreignRequests, []);
  for (const f of Object.values(ML_FILES)) assert.ok(requested.includes(new URL(f, url).href), f);

  // The screenshot for the README (www/screenshot-ml.png is a copy).
  const clip = await page.$eval('#ml', (el) => {
    const b = el.getBoundingClientRect();
    return { x: 0, y: b.top + window.scrollY - 8, width: 1200, height: b.height + 16 };
  });
  await page.screenshot({ path: join(artifacts, 'www-ml.png'), fullPage: true, clip });

  // Cancel stops a long compression (the build log's text, ~18 windows) by ending the ML worker,
  // and with it the model: the panel asks to load it again.
  await page.fill('#ml-input', longest);
  await page.click('#ml-run');
  await page.waitForFunction(() => document.getElementById('ml').dataset.phase === 'running');
  await page.click('#ml-cancel');
  await page.waitForFunction(() => document.getElementById('ml').dataset.phase !== 'running', null, { timeout: 10_000 });
  assert.equal(await page.getAttribute('#ml', 'data-phase'), 'cancelled');
  assert.equal(await page.getAttribute('#ml', 'data-loaded'), 'false');
  assert.deepEqual(
    await page.evaluate(() => ['ml-load', 'ml-run', 'ml-cancel'].map((id) => document.getElementById(id).disabled)),
    [false, true, true],
  );
  assert.match(await page.textContent('#ml-status'), /^Cancelled/);
  assert.equal(await page.evaluate(() => document.getElementById('ml-error').hidden), true);
  assert.deepEqual(pageErrors, []);
});

test('the 5 MB example: no main-thread task over 200 ms, and the engine\'s numbers', { timeout: 300_000 }, async () => {
  const ex = examples().find((e) => e.file === BIG);
  assert.ok(ex.bytes > 5_000_000, `${ex.bytes} bytes`);
  await page.evaluate(() => {
    window.__longTasks = [];
    window.__observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    });
    window.__observer.observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  await runAndWait(() => page.selectOption('#example', BIG), 240_000);
  const ms = Date.now() - t0;
  // Let entries of the last tasks arrive, then read them.
  await page.waitForTimeout(300);
  const longTasks = await page.evaluate(() => {
    window.__observer.disconnect();
    return window.__longTasks;
  });
  await page.screenshot({ path: join(artifacts, 'www-5mb.png') });
  const worst = Math.max(0, ...longTasks);
  console.log(`# 5 MB example: ${(ms / 1000).toFixed(1)} s end to end; main-thread long tasks (ms): [${longTasks.map((d) => d.toFixed(0)).join(', ')}]`);
  assert.ok(worst <= 200, `a main-thread task took ${worst.toFixed(0)} ms`);
  assertEngineNumbers(await shown(), ex.text, BIG);
});

test('axe: no serious or critical accessibility violations', { timeout: 120_000 }, async () => {
  await runAndWait(() => page.selectOption('#example', 'json_api.json'));
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`),
    [],
  );
  // And with the retrieval dialog open.
  await page.click('#markers button.marker');
  await page.waitForFunction(() => document.getElementById('retrieved-text').textContent.length > 0);
  const inDialog = await new AxeBuilder({ page }).include('#retrieved').analyze();
  assert.deepEqual(inDialog.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id), []);
  await page.keyboard.press('Escape');
  assert.deepEqual(pageErrors, []);
});
