// The playground's Web Worker: owns the engine and does every heavy step (reading a multi-MB
// request, compressing it, rendering and diffing both sides) so the page's main thread only draws
// small pages of rows. One request in, one reply out, in order: { id, type, ... } -> { id, ok, ... }.
import { serve } from './worker-rpc.js';
import { init, Headroom, version, countTokens } from './pkg/browser.js';
import { displayLines, diffLines, planRows, expandFold, clip, foldLabel, MARKER_RE, EXPAND_ROWS, ML_FILES } from './view.js';

/** Rows sent per page; the page draws them in one go, so this bounds a main-thread task. */
const PAGE_ROWS = 1500;
/** Characters of a retrieved original sent to the page at most. */
const RETRIEVE_MAX = 200_000;

/**
 * The pipeline stages in the engine's order, each with the config that switches it off. The
 * per-transform breakdown runs the pipeline with the stages after one switched off.
 */
const STAGES = [
  ['cache_aligner', { cacheAligner: { mode: 'off' } }],
  ['content_router', { contentRouter: { enabled: false } }],
  ['rolling_window', { rollingWindow: { enabled: false } }],
  ['cache_optimizer', { cacheOptimizer: { enabled: false } }],
  ['retrieve_tool', { ccr: { injectTool: 'never' } }],
];
/** transformsApplied names that the content router runs (`smart_crusher:select+table`, `log:lossy`...). */
const ROUTED = new Set(['smart_crusher', 'search', 'log', 'diff', 'text']);

let store = null; // the engine whose store keeps every original, shared by each run's engine
let current = null; // the last run: its text, settings, result, display lines and folds
let foldSeq = 0;

const handlers = {
  async init() {
    await init();
    store = new Headroom();
    return { version: version(), defaults: store.config(), ml: await detectMl() };
  },

  async run({ source, config, options, mode }) {
    const text = await readSource(source);
    const hr = store.withSharedStore(config);
    const opts = { ...options, mode };
    const result = hr.compress(text, opts);
    const original = JSON.parse(text);
    const after = result.request ?? result.messages;
    const aLines = displayLines(original);
    const bLines = displayLines(after);
    const runs = diffLines(aLines, bLines);
    let removed = 0;
    let added = 0;
    for (const [op, , , n] of runs) {
      if (op === '-') removed += n;
      else if (op === '+') added += n;
    }
    current = { text, config, options, mode, result, aLines, bLines, folds: new Map(), plan: planRows(runs), cursor: 0 };
    const { messages, request, tools, ...summary } = result;
    const out = JSON.stringify(result.tools ? { messages: after, tools } : after, null, 2);
    return {
      summary,
      inputBytes: text.length,
      lines: { before: aLines.length, after: bLines.length, removed, added },
      items: nextPage(),
      download: new Blob([out], { type: 'application/json' }),
    };
  },

  more() {
    return { items: nextPage() };
  },

  /** The text the ML panel compresses, taken from the request (the page's, or the last run's). */
  async requestText({ source }) {
    const text = source ? await readSource(source) : current?.text;
    if (text === undefined) return { text: '', chars: 0, cut: false };
    return longestText(JSON.parse(text));
  },

  expand({ fold }) {
    const f = current?.folds.get(fold);
    if (!f) return { items: [] };
    current.folds.delete(fold);
    return { items: foldItems(f, EXPAND_ROWS) };
  },

  retrieve({ hash }) {
    const text = store.retrieve(hash);
    if (text === null) return { found: false };
    let shown = text;
    let pretty = false;
    const t = text.trimStart();
    if ((t[0] === '[' || t[0] === '{') && text.length <= 5_000_000) {
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
        pretty = true;
      } catch {
        // plain text
      }
    }
    return {
      found: true,
      chars: text.length,
      tokens: countTokens(text, current?.result.model),
      pretty,
      truncated: shown.length > RETRIEVE_MAX,
      text: shown.slice(0, RETRIEVE_MAX),
    };
  },

  /** Tokens and estimated dollars saved by each applied stage (simulate runs, pipeline order). */
  breakdown() {
    const { text, config, options, mode, result } = current;
    const applied = new Map(); // stage -> names from transformsApplied
    const other = [];
    for (const name of result.transformsApplied) {
      const base = name.split(':')[0];
      const stage = STAGES.some(([s]) => s === base) ? base : ROUTED.has(base) ? 'content_router' : null;
      if (!stage) other.push(name);
      else applied.set(stage, [...(applied.get(stage) ?? []), name]);
    }
    const stages = STAGES.map(([s]) => s).filter((s) => applied.has(s));
    const steps = [];
    let prevTokens = result.tokensBefore;
    let prevUsd = 0;
    stages.forEach((stage, k) => {
      let r;
      if (k === stages.length - 1 && mode === 'simulate') {
        r = result;
      } else {
        let cfg = config;
        for (const [s, off] of STAGES.slice(STAGES.findIndex(([s]) => s === stage) + 1)) {
          if (s !== stage) cfg = merge(cfg, off);
        }
        r = new Headroom(cfg).compress(text, { ...options, mode: 'simulate' });
      }
      const usd = r.estimatedSavingsUsd;
      steps.push({
        name: stage,
        detail: applied.get(stage).filter((n) => n !== stage),
        tokensSaved: prevTokens - r.tokensAfter,
        usd: usd === undefined ? null : usd - prevUsd,
        ms: result.timing[stage] ?? null,
      });
      prevTokens = r.tokensAfter;
      prevUsd = usd ?? 0;
    });
    return { steps, other };
  },
};

serve(handlers);

async function readSource(source) {
  if (source.kind === 'text') return source.text;
  if (source.kind === 'file') return source.file.text();
  const res = await fetch(new URL(source.url, self.location.href));
  if (!res.ok) throw new Error(`could not load ${source.url}: HTTP ${res.status}`);
  return res.text();
}

/**
 * The ML compressor is in the package when it was built with its ml module and default model
 * (pkg/ml/, pkg/wasm-ml/, pkg/models/default/); the page offers it only then. Returns the bytes
 * the panel's load will fetch.
 */
async function detectMl() {
  try {
    let bytes = 0;
    for (const [name, path] of Object.entries(ML_FILES)) {
      const res = await fetch(new URL(path, self.location.href), { method: 'HEAD', cache: 'no-store' });
      if (!res.ok) return { available: false, missing: path };
      if (name !== 'entry') bytes += Number(res.headers.get('content-length')) || 0;
    }
    return { available: true, bytes: bytes || null };
  } catch {
    return { available: false, missing: ML_FILES.entry };
  }
}

/** Longest text the ML panel takes from a request: about 20 windows of the default model. */
const ML_TEXT_MAX = 40_000;

/**
 * The longest string in a request (in practice a tool output or a long message), for the ML
 * panel; past ML_TEXT_MAX characters, cut at the last line break (else space) before it.
 */
function longestText(value) {
  let best = '';
  const walk = (v) => {
    if (typeof v === 'string') {
      if (v.length > best.length) best = v;
    } else if (v && typeof v === 'object') {
      for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
    }
  };
  walk(value);
  if (best.length <= ML_TEXT_MAX) return { text: best, chars: best.length, cut: false };
  const head = best.slice(0, ML_TEXT_MAX);
  const at = Math.max(head.lastIndexOf('\n'), head.lastIndexOf(' '));
  return { text: head.slice(0, at > 0 ? at : ML_TEXT_MAX), chars: best.length, cut: true };
}

function merge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? merge(a?.[k] ?? {}, v) : v;
  }
  return out;
}

function nextPage() {
  const items = [];
  let rows = 0;
  const { plan } = current;
  while (current.cursor < plan.length && rows < PAGE_ROWS) {
    const f = plan[current.cursor++];
    const got = foldItems(f, f.show);
    for (const it of got) if (it.type === 'rows') rows += it.rows.length;
    items.push(...got);
  }
  if (current.cursor < plan.length) items.push({ type: 'more' });
  return items;
}

/** Draws up to `limit` rows of a fold and leaves the rest as a fold the page can open. */
function foldItems(f, limit) {
  const items = [];
  const { rows, rest } = limit > 0 ? expandFold(f, limit) : { rows: [], rest: f };
  if (rows.length) items.push({ type: 'rows', rows: rows.map(row) });
  if (rest) {
    const id = ++foldSeq;
    current.folds.set(id, rest);
    items.push({ type: 'fold', id, kind: rest.kind, label: foldLabel(rest) });
  }
  return items;
}

function row({ a, b, op }) {
  const bt = b === null ? null : current.bLines[b];
  const m = bt === null ? null : MARKER_RE.exec(bt);
  return {
    op,
    al: a === null ? null : a + 1,
    at: a === null ? null : clip(current.aLines[a]),
    bl: b === null ? null : b + 1,
    bt: bt === null ? null : clip(bt),
    hash: m ? m[1] : null,
  };
}
