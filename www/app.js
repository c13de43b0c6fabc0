// The playground page: reads the inputs, asks the worker (worker.js) to compress and diff, and
// draws what comes back. Nothing heavy runs here: the worker sends numbers and small pages of rows.

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n).toLocaleString('en-US');
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
/** Inputs over this size go to the worker as a URL or File and are not put in the textarea. */
const SHOW_MAX = 300_000;

/**
 * Request/reply over a worker: `call(type, args)` resolves with the worker's `{ id, ok: true }`
 * reply or rejects with its error; messages without an id go to `onEvent` (progress).
 * `call.close(error)` stops the worker and rejects what is pending with `error`.
 */
function connect(w, onEvent) {
  const pending = new Map();
  let seq = 0;
  w.onmessage = ({ data }) => {
    if (data.id === undefined) {
      onEvent?.(data);
      return;
    }
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) p.resolve(data);
    else p.reject(Object.assign(new Error(data.error.message), data.error));
  };
  const call = (type, args = {}) => {
    const id = ++seq;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.postMessage({ id, type, ...args });
    });
  };
  call.close = (error) => {
    w.terminate();
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  return call;
}

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onerror = (e) => showError(`The worker failed: ${e.message}`);
const call = connect(worker);

let defaults = null;
/** What to compress when it is not the textarea's text: { kind: 'url', url, name } or { kind: 'file', file }. */
let bigSource = null;
let runNo = 0;
let downloadUrl = null;

function setStatus(text) {
  $('status').textContent = text;
}
function showError(text) {
  const el = $('error');
  el.textContent = text;
  el.hidden = !text;
}

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => o?.[k], obj);
}
function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
}

/** The config from the settings (every knob, starting from the engine's own defaults) and the options. */
function readSettings() {
  const config = {};
  for (const el of document.querySelectorAll('[data-config]')) {
    let v = el.value;
    if (el.type === 'number') {
      if (v === '') v = getPath(defaults, el.dataset.config);
      else v = Number(v);
    }
    setPath(config, el.dataset.config, v);
  }
  const options = {};
  if ($('model').value.trim()) options.model = $('model').value.trim();
  if ($('provider').value) options.provider = $('provider').value;
  if ($('query').value.trim()) options.query = $('query').value.trim();
  return { config, options, mode: $('mode').value };
}

async function start() {
  const [ready, examples] = await Promise.all([
    call('init'),
    fetch('examples/index.json').then((r) => r.json()),
  ]);
  defaults = ready.defaults;
  for (const el of document.querySelectorAll('[data-config]')) el.value = getPath(defaults, el.dataset.config);
  $('engine-version').textContent = `Engine ${ready.version}.`;
  for (const ex of examples) {
    const o = document.createElement('option');
    o.value = ex.file;
    o.textContent = `${ex.title} (${(ex.bytes / 1024).toFixed(0)} KB)`;
    o.dataset.bytes = ex.bytes;
    $('example').append(o);
  }
  renderMl(ready.ml);
  $('run').disabled = false;
  setStatus('Ready. Pick an example or paste a request.');
  document.body.dataset.ready = 'true';
}

// The ML panel: its own worker (ml-worker.js), created when the model is first loaded.
let mlInfo = null;
let mlCall = null;
let mlRunNo = 0;
const MB = (n) => (n / 1048576).toFixed(1);

function renderMl(ml) {
  mlInfo = ml;
  $('ml').dataset.available = String(ml.available);
  if (ml.available) {
    $('ml-controls').disabled = false;
    mlStatus(`Available: loading fetches the ml module and the default model${ml.bytes ? ` (${MB(ml.bytes)} MB)` : ''} from this server.`);
  } else {
    mlStatus(`Not available in this build: the package in pkg/ has no ML compressor (${ml.missing} is missing; scripts/build-pkg.sh adds it when models/default/ holds the model).`);
  }
}

function mlStatus(text) {
  $('ml-status').textContent = text;
}
function mlError(text) {
  $('ml-error').textContent = text;
  $('ml-error').hidden = !text;
}
const errText = (e) => `${e.name ?? 'Error'}${e.code ? ` (${e.code})` : ''}: ${e.message}`;

function showProgress(loaded, total) {
  const bar = $('ml-progress');
  bar.max = Math.max(total, 1);
  bar.value = loaded;
  const pct = total ? Math.floor((100 * loaded) / total) : 0;
  $('ml-progress-text').textContent = `${MB(loaded)} of ${MB(total)} MB (${pct}%)`;
  if (total && loaded >= total) mlStatus('Downloaded; preparing the model…');
}

async function mlLoad() {
  $('ml-load').disabled = true;
  mlError('');
  mlStatus('Loading the ml module and the default model…');
  const w = new Worker(new URL('./ml-worker.js', import.meta.url), { type: 'module' });
  const c = connect(w, (ev) => {
    if (ev.type === 'progress') showProgress(ev.loaded, ev.total);
  });
  // A worker that fails outside a request (its script did not load) fails what is pending.
  w.onerror = (e) => c.close(new Error(`the ML worker failed: ${e.message || 'its script did not load'}`));
  try {
    const r = await c('load', { total: mlInfo.bytes });
    showProgress(r.bytes, r.bytes);
    mlCall = c;
    $('ml-run').disabled = false;
    $('ml-load').textContent = 'Model loaded';
    $('ml').dataset.loaded = 'true';
    mlStatus(`Loaded ${MB(r.bytes)} MB in ${(r.ms / 1000).toFixed(1)} s (engine ${r.version}). Choose a rate and compress.`);
  } catch (e) {
    c.close(e);
    $('ml-load').disabled = false;
    mlError(`Could not load the model: ${errText(e)}`);
    mlStatus('Failed to load.');
  }
}

async function mlFromRequest() {
  mlError('');
  const typed = $('input').value.trim() ? { kind: 'text', text: $('input').value } : null;
  try {
    const r = await call('requestText', { source: bigSource ?? typed });
    if (!r.text) {
      mlStatus('No request yet: pick an example or paste a request above first.');
      return;
    }
    $('ml-input').value = r.text;
    mlStatus(`Took the request's longest text: ${fmt(r.chars)} characters${r.cut ? `, cut to the first ${fmt(r.text.length)}` : ''}.`);
  } catch (e) {
    mlError(`Could not read the request: ${errText(e)}`);
  }
}

async function mlRun() {
  const text = $('ml-input').value;
  if (!text.trim()) {
    mlStatus('Paste a text first, or take one from the request.');
    return;
  }
  const n = ++mlRunNo;
  const options = { rate: Number($('ml-rate').value) };
  if ($('model').value.trim()) options.model = $('model').value.trim();
  mlError('');
  $('ml-run').disabled = true;
  $('ml-cancel').disabled = false;
  $('ml').dataset.phase = 'running';
  mlStatus('Compressing in the ML worker (up to about a second per 512-token window)…');
  try {
    const r = await mlCall('compress', { text, options });
    if (n !== mlRunNo) return;
    renderMlResult(r, options);
    mlStatus(`Done: ${fmt(r.result.originalTokens)} → ${fmt(r.result.compressedTokens)} tokens at rate ${options.rate.toFixed(2)}.`);
    $('ml').dataset.phase = 'done';
  } catch (e) {
    if (n !== mlRunNo) return;
    if (e.name === 'AbortError') {
      $('ml').dataset.phase = 'cancelled';
      mlStatus('Cancelled: the ML worker was stopped, and the model with it; load it again to compress.');
    } else {
      $('ml').dataset.phase = 'error';
      mlError(errText(e));
      mlStatus('Failed.');
    }
  } finally {
    $('ml').dataset.run = String(n);
    if (n === mlRunNo) {
      $('ml-run').disabled = !mlCall;
      $('ml-cancel').disabled = true;
    }
  }
}

/** Stops a running compression: the only way to stop wasm mid-call is to end its worker. */
function mlCancel() {
  if (!mlCall) return;
  const c = mlCall;
  mlCall = null;
  $('ml').dataset.loaded = 'false';
  $('ml-load').textContent = 'Load the model';
  $('ml-load').disabled = false;
  showProgress(0, mlInfo.bytes ?? 0);
  c.close(new DOMException('cancelled', 'AbortError'));
}

function renderMlResult({ result: r, ms, words }, options) {
  $('ml-result').hidden = false;
  $('ml-result').dataset.sent = JSON.stringify(options);
  setNumber('ml-tokens-before', r.originalTokens);
  setNumber('ml-tokens-after', r.compressedTokens);
  setNumber('ml-saved', r.originalTokens - r.compressedTokens,
    `${fmt(r.originalTokens - r.compressedTokens)} (${r.savingsPercentage.toFixed(1)}%)`);
  setNumber('ml-time', ms, `${(ms / 1000).toFixed(2)} s`);
  setNumber('ml-kept', words?.kept ?? '', words ? fmt(words.kept) : '–');
  setNumber('ml-dropped', words?.dropped ?? '', words ? fmt(words.dropped) : '–');
  const keptPct = r.originalTokens ? ((100 * r.compressedTokens) / r.originalTokens).toFixed(1) : '0';
  $('ml-meta').textContent =
    `Tokens of ${options.model ?? 'gpt-4o'} · rate ${options.rate.toFixed(2)}: ${keptPct}% of the tokens kept` +
    (words ? ` · ${fmt(words.kept + words.dropped)} words in` : '');
  $('ml-warnings').innerHTML = r.warnings.map((w) => `<li>${esc(w)}</li>`).join('');
  const box = $('ml-text');
  box.replaceChildren();
  if (!words) {
    box.textContent = 'The output could not be matched word by word to the input; see the compressed text below.';
  } else {
    const frag = document.createDocumentFragment();
    for (const [kind, t] of words.runs) {
      if (kind === 'space') {
        frag.append(t);
        continue;
      }
      const el = document.createElement(kind === 'kept' ? 'span' : 'del');
      el.className = kind;
      el.textContent = t;
      frag.append(el);
    }
    box.append(frag);
  }
  $('ml-compressed').textContent = r.compressed;
}

async function loadExample() {
  const opt = $('example').selectedOptions[0];
  if (!opt.value) return;
  const url = `examples/${opt.value}`;
  if (Number(opt.dataset.bytes) > SHOW_MAX) {
    bigSource = { kind: 'url', url, name: opt.value };
    $('input').value = '';
    $('input').placeholder = `${opt.value} (${(opt.dataset.bytes / 1048576).toFixed(1)} MB) is loaded in the worker; type here to replace it.`;
  } else {
    bigSource = null;
    $('input').value = await (await fetch(url)).text();
  }
  await run();
}

async function loadFile() {
  const file = $('file').files[0];
  if (!file) return;
  $('example').value = '';
  if (file.size > SHOW_MAX) {
    bigSource = { kind: 'file', file };
    $('input').value = '';
    $('input').placeholder = `${file.name} (${(file.size / 1048576).toFixed(1)} MB) is loaded in the worker; type here to replace it.`;
  } else {
    bigSource = null;
    $('input').value = await file.text();
  }
  await run();
}

async function run() {
  const n = ++runNo;
  const source = bigSource ?? { kind: 'text', text: $('input').value };
  if (source.kind === 'text' && !source.text.trim()) {
    setStatus('Paste a request or pick an example first.');
    return;
  }
  const { config, options, mode } = readSettings();
  showError('');
  $('results').dataset.phase = 'running';
  $('run').disabled = true;
  setStatus('Compressing in a Web Worker…');
  try {
    const reply = await call('run', { source, config, options, mode });
    if (n !== runNo) return;
    const t0 = performance.now();
    renderResult(reply, { config, options, mode });
    performance.measure('headroom:render', { start: t0, end: performance.now() });
    setStatus('Computing the per-transform breakdown…');
    const bd = await call('breakdown');
    if (n !== runNo) return;
    renderBreakdown(bd, reply.summary);
    setStatus(`Done: ${fmt(reply.summary.tokensBefore)} → ${fmt(reply.summary.tokensAfter)} tokens.`);
    $('results').dataset.phase = 'done';
  } catch (e) {
    if (n !== runNo) return;
    $('results').dataset.run = String(runNo); // the last finished run, failed ones included
    $('results').dataset.phase = 'error';
    showError(`${e.name ?? 'Error'}${e.code ? ` (${e.code})` : ''}: ${e.message}`);
    setStatus('Failed.');
  } finally {
    if (n === runNo) $('run').disabled = false;
  }
}

function setNumber(id, value, text = fmt(value)) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = String(value);
}

function renderResult({ summary: r, lines, items, download, inputBytes }, sent) {
  $('results').hidden = false;
  $('results').dataset.run = String(runNo);
  setNumber('tokens-before', r.tokensBefore);
  setNumber('tokens-after', r.tokensAfter);
  const pct = r.tokensBefore ? (100 * r.tokensSaved) / r.tokensBefore : 0;
  setNumber('tokens-saved', r.tokensSaved, `${fmt(r.tokensSaved)} (${pct.toFixed(1)}%)`);
  if (r.mode === 'audit') {
    setNumber('tokens-saved', r.tokensSaved, `${fmt(r.tokensSaved)} (audit: ${fmt(r.potentialTokensSaved ?? 0)} possible)`);
  }
  setNumber('savings-usd', r.estimatedSavingsUsd ?? '', r.estimatedSavings ?? (r.mode === 'simulate' ? 'no price for this model' : 'simulate mode only'));
  setNumber('time-total', r.timing.total, `${r.timing.total.toFixed(1)} ms`);
  setNumber('marker-count', r.markers.length);
  $('meta').textContent =
    `${r.provider} · ${r.model} · ${r.mode} · ${(inputBytes / 1024).toFixed(0)} KB in · transforms: ${r.transformsApplied.join(', ') || 'none'}` +
    ` · cache alignment ${(100 * r.cacheAlignmentScore).toFixed(0)}% · cacheable ${fmt(r.cacheableTokens)} tokens`;

  $('warnings').innerHTML = r.warnings.map((w) => `<li>${esc(w)}</li>`).join('');
  $('warnings-box').hidden = r.warnings.length === 0;

  $('markers').innerHTML = r.markers.map((h) => `<li>${markerButton(h)}</li>`).join('');
  $('markers-box').hidden = r.markers.length === 0;

  const sim = r.blockBreakdown !== undefined;
  $('simulate-box').hidden = !sim;
  if (sim) {
    fillTable('block-breakdown', r.blockBreakdown);
    fillTable('waste-signals', r.wasteSignals, 'none');
  }

  $('chart-tokens').innerHTML = '<p class="muted">Computing…</p>';
  delete $('chart-tokens').dataset.steps;
  $('chart-time').innerHTML = barChart(
    'chart-time-cap',
    Object.entries(r.timing)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => ({ label: k, value: v, text: `${v.toFixed(1)} ms` })),
    'ms',
  );

  $('diff-stats').textContent = `${fmt(lines.before)} lines before, ${fmt(lines.after)} after: ${fmt(lines.removed)} removed, ${fmt(lines.added)} added.`;
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(download);
  $('download').href = downloadUrl;
  $('download').hidden = false;

  for (const g of $('diff').querySelectorAll('.chunk')) g.remove();
  appendItems(items);
  $('config-sent').textContent = JSON.stringify(sent, null, 2);
}

function fillTable(id, data, empty) {
  const entries = Object.entries(data ?? {});
  $(id).tBodies[0].innerHTML = entries.length
    ? entries.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${fmt(v)}</td></tr>`).join('')
    : `<tr><td colspan="2">${empty}</td></tr>`;
}

function renderBreakdown({ steps, other }, r) {
  $('chart-tokens').dataset.steps = JSON.stringify(steps.map((s) => [s.name, s.tokensSaved]));
  if (steps.length === 0) {
    $('chart-tokens').innerHTML = '<p>No transform changed this request.</p>';
    return;
  }
  const data = steps.map((s) => {
    const usd = s.usd === null ? '' : ` · ${s.usd < 0 ? '+' : '−'}$${Math.abs(s.usd).toFixed(4)}`;
    const sign = s.tokensSaved < 0 ? '+' : '−';
    return {
      label: s.name,
      sub: s.detail.join(', '),
      value: s.tokensSaved,
      text: `${sign}${fmt(Math.abs(s.tokensSaved))} tokens${usd}`,
    };
  });
  let html = barChart('chart-tokens-cap', data, 'tokens');
  html += `<p class="muted">Measured with simulate runs of the pipeline, switching the stages on one at a time in order; a
  <span class="sign-add">+</span> step adds tokens (the retrieve tool's definition, cache breakpoints).${
    other.length ? ` Counted in the next step: ${esc(other.join(', '))}.` : ''
  }${r.mode === 'audit' ? ' Audit mode sends the request unchanged; these are what optimize would do.' : ''}</p>`;
  $('chart-tokens').innerHTML = html;
}

/** A horizontal bar chart as inline SVG; negative values (tokens added) are drawn in orange. */
function barChart(captionId, data, unit) {
  if (data.length === 0) return '<p>Nothing to show.</p>';
  const W = 640;
  const labelW = 210;
  const textW = 190;
  const twoLines = data.some((d) => d.sub);
  const rowH = twoLines ? 38 : 26;
  const barMax = W - labelW - textW;
  const max = Math.max(...data.map((d) => Math.abs(d.value)), 1e-9);
  const H = data.length * rowH + 4;
  const desc = data.map((d) => `${d.label}${d.sub ? ` (${d.sub})` : ''}: ${d.text}`).join('; ');
  const cut = (s) => (s.length > 28 ? `${s.slice(0, 27)}…` : s);
  let body = '';
  data.forEach((d, i) => {
    const y = i * rowH + 2;
    const mid = y + rowH / 2;
    const w = Math.max(1, (Math.abs(d.value) / max) * barMax);
    const cls = d.value < 0 ? 'bar neg' : unit === 'ms' ? 'bar time' : 'bar';
    const label = d.sub
      ? `<text x="${labelW - 8}" y="${mid - 3}" text-anchor="end" class="label">${esc(cut(d.label))}</text>` +
        `<text x="${labelW - 8}" y="${mid + 11}" text-anchor="end" class="sub"><title>${esc(d.sub)}</title>${esc(cut(d.sub))}</text>`
      : `<text x="${labelW - 8}" y="${mid + 5}" text-anchor="end" class="label">${esc(cut(d.label))}</text>`;
    body +=
      label +
      `<rect x="${labelW}" y="${mid - 9}" width="${w.toFixed(1)}" height="18" class="${cls}"></rect>` +
      `<text x="${labelW + w + 6}" y="${mid + 5}" class="value">${esc(d.text)}</text>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="${captionId}" aria-describedby="${captionId}-desc">` +
    `<desc id="${captionId}-desc">${esc(desc)}</desc>${body}</svg>`;
}

function markerButton(hash) {
  return `<button type="button" class="marker" data-hash="${esc(hash)}">hash=${esc(hash)}<span class="sr-only">: show the original</span></button>`;
}

const SIGN = { '=': ['', ''], '-': ['del', ''], '+': ['', 'add'], '~': ['del', 'add'] };

function rowHtml(r) {
  const [ac, bc] = SIGN[r.op];
  const left = r.at === null ? '' : `${ac ? '<span class="sign">−</span>' : ''}${esc(r.at)}`;
  let right = r.bt === null ? '' : `${bc ? '<span class="sign">+</span>' : ''}${esc(r.bt)}`;
  let bcls = bc;
  if (r.hash) {
    bcls = `${bc} marker-line`;
    const needle = esc(`hash=${r.hash}`);
    right = right.includes(needle) ? right.replace(needle, markerButton(r.hash)) : `${right} ${markerButton(r.hash)}`;
  }
  return `<div role="row" class="r"><span role="cell" class="ln">${r.al ?? ''}</span><span role="cell" class="code ${ac}">${left}</span>` +
    `<span role="cell" class="ln">${r.bl ?? ''}</span><span role="cell" class="code ${bcls}">${right}</span></div>`;
}

const CHUNK_ROWS = 100;

/**
 * Draws worker items (rows, folds, a "more" row), in row groups of CHUNK_ROWS that the browser
 * lays out only when scrolled near (content-visibility), or in place of the fold row `replace`.
 */
function appendItems(items, replace = null) {
  const rows = [];
  for (const it of items) {
    if (it.type === 'rows') for (const r of it.rows) rows.push(rowHtml(r));
    else if (it.type === 'fold') {
      rows.push(`<div role="row" class="fold ${it.kind}"><span role="cell"><button type="button" data-fold="${it.id}">Show ${esc(it.label)}</button></span></div>`);
    } else if (it.type === 'more') {
      rows.push('<div role="row" class="fold more"><span role="cell"><button type="button" data-more="1">Show more rows</button></span></div>');
    }
  }
  const groups = [];
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) groups.push(`<div role="rowgroup" class="chunk">${rows.slice(i, i + CHUNK_ROWS).join('')}</div>`);
  const box = document.createElement('div');
  box.innerHTML = groups.join('');
  if (replace) replace.replaceWith(...[...box.children].flatMap((g) => [...g.children]));
  else $('diff').append(...box.children);
}

async function openFold(button) {
  const tr = button.closest('[role="row"]');
  button.disabled = true;
  const n = runNo;
  const reply = button.dataset.more ? await call('more') : await call('expand', { fold: Number(button.dataset.fold) });
  if (n !== runNo) return;
  const next = tr.nextElementSibling;
  appendItems(reply.items, tr);
  (next?.querySelector('button') ?? $('diff').closest('.diff-wrap')).focus();
}

async function showOriginal(hash) {
  const dlg = $('retrieved');
  $('retrieved-h').textContent = `Original behind marker ${hash}`;
  $('retrieved-meta').textContent = 'Retrieving…';
  $('retrieved-text').textContent = '';
  dlg.showModal();
  try {
    const r = await call('retrieve', { hash });
    if (!r.found) {
      $('retrieved-meta').textContent = 'Not in the store (expired, or from an earlier page load).';
      return;
    }
    $('retrieved-meta').textContent =
      `${fmt(r.chars)} characters, ${fmt(r.tokens)} tokens${r.pretty ? ', JSON pretty-printed for reading' : ''}` +
      `${r.truncated ? '; only the first 200,000 characters are shown' : ''}.`;
    $('retrieved-text').textContent = r.text;
    dlg.dataset.hash = hash;
  } catch (e) {
    $('retrieved-meta').textContent = `Failed: ${e.message}`;
  }
}

document.addEventListener('click', (e) => {
  const t = e.target.closest('button');
  if (!t) return;
  if (t.dataset.hash) showOriginal(t.dataset.hash);
  else if (t.dataset.fold || t.dataset.more) openFold(t);
});
$('run').addEventListener('click', () => run());
$('ml-load').addEventListener('click', () => mlLoad());
$('ml-run').addEventListener('click', () => mlRun());
$('ml-cancel').addEventListener('click', () => mlCancel());
$('ml-from-request').addEventListener('click', () => mlFromRequest());
$('ml-rate').addEventListener('input', () => {
  $('ml-rate-value').textContent = Number($('ml-rate').value).toFixed(2);
});
$('example').addEventListener('change', () => loadExample());
$('file').addEventListener('change', () => loadFile());
$('input').addEventListener('input', () => {
  bigSource = null;
  $('input').placeholder = '';
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    run();
  }
});

start().catch((e) => {
  showError(`Could not start the engine: ${e.message}`);
  setStatus('Failed to load.');
});
