// Pure functions behind the side-by-side view, run in the worker (and testable in Node): a
// readable line rendering of a request, a line diff between two renderings, and the row plan the
// page draws (long unchanged or removed runs folded so the DOM stays small for multi-MB inputs).

/** A line that holds a CCR marker; group 1 is the retrieval hash. */
export const MARKER_RE = /\[headroom:[^\]]*?hash=([0-9a-f]{16,64})\]/;

const BLOCK_MIN_JSON = 200;

/**
 * Renders a JSON value as pretty JSON lines, except that strings holding line breaks are shown as
 * blocks between `"""` lines, and long strings holding JSON text are pretty-printed inside such a
 * block. Tool outputs then diff line by line instead of as one huge escaped string.
 */
export function displayLines(value) {
  const out = [];
  emit(value, '', '', '', out);
  return out;
}

function blockOf(s) {
  if (s.length >= BLOCK_MIN_JSON) {
    const t = s.trimStart();
    if (t[0] === '{' || t[0] === '[') {
      try {
        return { lines: JSON.stringify(JSON.parse(s), null, 2).split('\n'), note: ' JSON text, pretty-printed' };
      } catch {
        // Not JSON after all: shown as text.
      }
    }
  }
  if (s.includes('\n')) return { lines: s.split('\n'), note: '' };
  return null;
}

function emit(v, indent, prefix, suffix, out) {
  if (v === null || typeof v !== 'object') {
    const block = typeof v === 'string' ? blockOf(v) : null;
    if (!block) {
      out.push(indent + prefix + JSON.stringify(v) + suffix);
      return;
    }
    out.push(`${indent}${prefix}"""${block.note}`);
    const inner = indent + '  ';
    for (const line of block.lines) out.push(inner + line);
    out.push(`${indent}"""${suffix}`);
    return;
  }
  const isArray = Array.isArray(v);
  const keys = isArray ? null : Object.keys(v);
  const n = isArray ? v.length : keys.length;
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (n === 0) {
    out.push(indent + prefix + open + close + suffix);
    return;
  }
  out.push(indent + prefix + open);
  const inner = indent + '  ';
  for (let i = 0; i < n; i++) {
    const comma = i < n - 1 ? ',' : '';
    if (isArray) emit(v[i], inner, '', comma, out);
    else emit(v[keys[i]], inner, `${JSON.stringify(keys[i])}: `, comma, out);
  }
  out.push(indent + close + suffix);
}

/**
 * Line diff of `a` and `b` as runs `[op, aStart, bStart, length]`, op one of '=', '-', '+'.
 * Patience-style: lines unique to both sides anchor the match (longest increasing run of them),
 * the gaps between anchors are matched the same way, and gaps without anchors fall back to an
 * exact LCS when small, else to "all removed, all added". Near-linear on large inputs.
 */
export function diffLines(a, b) {
  const runs = [];
  const push = (op, i, j, n) => {
    if (n <= 0) return;
    const last = runs[runs.length - 1];
    if (last && last[0] === op && last[1] + (op === '+' ? 0 : last[3]) === i && last[2] + (op === '-' ? 0 : last[3]) === j) {
      last[3] += n;
    } else {
      runs.push([op, i, j, n]);
    }
  };
  // Work stack of ranges to diff and runs to emit, popped in order.
  const stack = [{ a0: 0, a1: a.length, b0: 0, b1: b.length }];
  while (stack.length) {
    const t = stack.pop();
    if (t.run) {
      push(...t.run);
      continue;
    }
    let { a0, a1, b0, b1 } = t;
    let pre = 0;
    while (a0 + pre < a1 && b0 + pre < b1 && a[a0 + pre] === b[b0 + pre]) pre++;
    push('=', a0, b0, pre);
    a0 += pre;
    b0 += pre;
    let suf = 0;
    while (a1 - suf > a0 && b1 - suf > b0 && a[a1 - suf - 1] === b[b1 - suf - 1]) suf++;
    const tail = suf ? { run: ['=', a1 - suf, b1 - suf, suf] } : null;
    a1 -= suf;
    b1 -= suf;
    const todo = [];
    if (a0 === a1 || b0 === b1) {
      todo.push({ run: ['-', a0, b0, a1 - a0] }, { run: ['+', a1, b0, b1 - b0] });
    } else {
      const anchors = uniqueAnchors(a, a0, a1, b, b0, b1);
      if (anchors.length === 0) {
        todo.push(...smallGap(a, a0, a1, b, b0, b1));
      } else {
        let pa = a0;
        let pb = b0;
        for (const [i, j] of anchors) {
          todo.push({ a0: pa, a1: i, b0: pb, b1: j }, { run: ['=', i, j, 1] });
          pa = i + 1;
          pb = j + 1;
        }
        todo.push({ a0: pa, a1, b0: pb, b1 });
      }
    }
    if (tail) todo.push(tail);
    for (let k = todo.length - 1; k >= 0; k--) stack.push(todo[k]);
  }
  return runs;
}

/** Lines occurring exactly once in each range, as [i, j] pairs forming the longest increasing chain. */
function uniqueAnchors(a, a0, a1, b, b0, b1) {
  const seen = new Map(); // line -> [countA, indexA, countB, indexB]
  for (let i = a0; i < a1; i++) {
    const e = seen.get(a[i]);
    if (e) e[0]++;
    else seen.set(a[i], [1, i, 0, -1]);
  }
  for (let j = b0; j < b1; j++) {
    const e = seen.get(b[j]);
    if (e) {
      e[2]++;
      e[3] = j;
    }
  }
  const pairs = [];
  for (const e of seen.values()) if (e[0] === 1 && e[2] === 1) pairs.push([e[1], e[3]]);
  if (pairs.length === 0) return pairs;
  pairs.sort((x, y) => x[0] - y[0]);
  // Longest increasing subsequence on j (patience sorting with back links).
  const tails = [];
  const prev = new Array(pairs.length);
  for (let k = 0; k < pairs.length; k++) {
    const j = pairs[k][1];
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tails[mid]][1] < j) lo = mid + 1;
      else hi = mid;
    }
    prev[k] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = k;
  }
  const chain = [];
  for (let k = tails[tails.length - 1]; k >= 0; k = prev[k]) chain.push(pairs[k]);
  return chain.reverse();
}

const LCS_MAX_CELLS = 400_000;

/** A gap with no unique anchors: exact LCS when small, else removed-then-added. */
function smallGap(a, a0, a1, b, b0, b1) {
  const n = a1 - a0;
  const m = b1 - b0;
  if (n * m > LCS_MAX_CELLS) return [{ run: ['-', a0, b0, n] }, { run: ['+', a1, b0, m] }];
  const w = m + 1;
  const dp = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] = a[a0 + i] === b[b0 + j] ? dp[(i + 1) * w + j + 1] + 1 : Math.max(dp[(i + 1) * w + j], dp[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[a0 + i] === b[b0 + j]) out.push({ run: ['=', a0 + i++, b0 + j++, 1] });
    else if (dp[(i + 1) * w + j] >= dp[i * w + j + 1]) out.push({ run: ['-', a0 + i++, b0 + j, 1] });
    else out.push({ run: ['+', a0 + i, b0 + j++, 1] });
  }
  if (i < n) out.push({ run: ['-', a0 + i, b0 + j, n - i] });
  if (j < m) out.push({ run: ['+', a0 + n, b0 + j, m - j] });
  return out;
}

const CONTEXT = 3;
const CHANGE_ROWS = 40;
const MAX_CHANGE_ROWS = 1200;
export const EXPAND_ROWS = 500;
const MAX_LINE = 2000;

/**
 * Turns diff runs into folds, ranges of rows of which the first `show` are drawn at once;
 * `expandFold` turns a fold into rows (and a smaller fold for what is left).
 * Unchanged runs keep CONTEXT lines each side; a change block shows CHANGE_ROWS rows, or all its
 * added lines up to MAX_CHANGE_ROWS (added lines hold the markers, so they are never the first to
 * be hidden).
 */
export function planRows(runs) {
  const items = [];
  let k = 0;
  while (k < runs.length) {
    const [op, i, j, n] = runs[k];
    if (op === '=') {
      const first = k === 0;
      const last = k === runs.length - 1;
      const head = first ? 0 : CONTEXT;
      const tail = last ? 0 : CONTEXT;
      if (n > head + tail + 2) {
        if (head) items.push(fold('same', i, j, head, head, head));
        items.push(fold('same', i + head, j + head, n - head - tail, n - head - tail));
        if (tail) items.push(fold('same', i + n - tail, j + n - tail, tail, tail, tail));
      } else {
        items.push(fold('same', i, j, n, n, n));
      }
      k++;
      continue;
    }
    // A change block: consecutive '-' and '+' runs.
    let del = 0;
    let add = 0;
    let a0 = i;
    let b0 = j;
    let first = true;
    while (k < runs.length && runs[k][0] !== '=') {
      const [o, ii, jj, nn] = runs[k];
      if (first) {
        a0 = ii;
        b0 = jj;
        first = false;
      }
      if (o === '-') del += nn;
      else add += nn;
      k++;
    }
    const rows = Math.max(del, add);
    const show = Math.min(rows, Math.max(CHANGE_ROWS, Math.min(add + CONTEXT, MAX_CHANGE_ROWS)));
    items.push(fold('change', a0, b0, del, add, show));
  }
  return items;
}

/** A range of the diff; `show` rows of it are drawn at once, the rest stay folded. */
function fold(kind, a0, b0, aCount, bCount, show = 0) {
  return { kind, a0, b0, aCount, bCount, show };
}

/**
 * Rows for (up to `limit` rows of) a fold; returns the rows and the fold left over (or null).
 * A row is `{ a: lineIndex|null, b: lineIndex|null, op }`: op '=' same, '-' removed on the left,
 * '+' added on the right, '~' a removed line beside an added one.
 */
export function expandFold(f, limit) {
  const rows = [];
  const total = f.kind === 'same' ? f.aCount : Math.max(f.aCount, f.bCount);
  const n = Math.min(total, limit);
  for (let r = 0; r < n; r++) {
    if (f.kind === 'same') rows.push({ a: f.a0 + r, b: f.b0 + r, op: '=' });
    else {
      const a = r < f.aCount ? f.a0 + r : null;
      const b = r < f.bCount ? f.b0 + r : null;
      rows.push({ a, b, op: a !== null && b !== null ? '~' : a !== null ? '-' : '+' });
    }
  }
  let rest = null;
  if (n < total) {
    rest =
      f.kind === 'same'
        ? fold('same', f.a0 + n, f.b0 + n, f.aCount - n, f.bCount - n)
        : fold('change', f.a0 + n, f.b0 + n, Math.max(0, f.aCount - n), Math.max(0, f.bCount - n));
  }
  return { rows, rest };
}

/** A display line, capped so one huge line cannot stall layout. */
export function clip(line) {
  if (line.length <= MAX_LINE) return line;
  return `${line.slice(0, MAX_LINE)} … (+${(line.length - MAX_LINE).toLocaleString('en-US')} chars)`;
}

/** The label of a folded range. */
export function foldLabel(f) {
  if (f.kind === 'same') return `${f.aCount.toLocaleString('en-US')} unchanged lines`;
  const parts = [];
  if (f.aCount) parts.push(`${f.aCount.toLocaleString('en-US')} removed`);
  if (f.bCount) parts.push(`${f.bCount.toLocaleString('en-US')} added`);
  return `${parts.join(', ')} lines`;
}

/**
 * The files of the ML compressor, relative to the page: the `headroom-wasm/ml` browser entry, its
 * wasm module and the default model the package ships. The page offers the ML panel when all are
 * served; their sizes make the download's progress total.
 */
export const ML_FILES = {
  entry: './pkg/ml/browser.js',
  wasm: './pkg/wasm-ml/headroom_bg.wasm',
  model: './pkg/models/default/model.onnx',
  tokenizer: './pkg/models/default/tokenizer.json',
};

/** Whitespace as the ML compressor splits words (Rust's `char::is_whitespace`). */
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WORD_OR_SPACE = new RegExp(`[${WS}]+|[^${WS}]+`, 'gu');
const SPACE = new RegExp(`^[${WS}]`, 'u');

/** The whitespace-separated words of `text`, as the ML compressor splits them. */
export function words(text) {
  return (text.match(WORD_OR_SPACE) ?? []).filter((p) => !SPACE.test(p));
}

/**
 * Which words of `text` the ML compressor kept. Its output is the kept words' original text in
 * order; between two kept words it puts a line break exactly when the text has one between them
 * (else a space, or the original gap when nothing between them was dropped). So each line of the
 * output holds kept words of one line of the text, lines in order: each output line is matched to
 * the first later text line holding its words in order, and the words within it likewise. Where
 * a repeated word could be either occurrence in a line, the first one is shown kept.
 * Returns runs `[kind, text]` covering `text` exactly, kind 'kept', 'dropped' or 'space'
 * (whitespace between a kept and a dropped run; whitespace between two words of one kind stays in
 * their run), and the counts; or null when the output cannot be matched that way (force tokens
 * split off inside a word, which the playground does not use).
 */
export function alignWords(text, compressed) {
  const parts = text.match(WORD_OR_SPACE) ?? [];
  // The text's lines, each as the indices (into parts) of its words.
  const lines = [[]];
  parts.forEach((p, i) => {
    if (!SPACE.test(p)) lines[lines.length - 1].push(i);
    else for (let n = p.split('\n').length - 1; n > 0; n--) lines.push([]);
  });
  const keep = new Set();
  let line = 0;
  for (const outLine of compressed.split('\n')) {
    const want = words(outLine);
    if (want.length === 0) continue;
    let hit = null;
    for (; line < lines.length && hit === null; line++) hit = subsequence(want, lines[line], parts);
    if (hit === null) return null;
    for (const i of hit) keep.add(i);
  }
  const runs = [];
  let kept = 0;
  let dropped = 0;
  let gap = null; // whitespace waiting to join the next word's run or stand alone
  parts.forEach((part, i) => {
    if (SPACE.test(part)) {
      gap = part;
      return;
    }
    const kind = keep.has(i) ? 'kept' : 'dropped';
    if (kind === 'kept') kept++;
    else dropped++;
    const last = runs[runs.length - 1];
    if (last && last[0] === kind) {
      last[1] += (gap ?? '') + part;
    } else {
      if (gap !== null) runs.push(['space', gap]);
      runs.push([kind, part]);
    }
    gap = null;
  });
  if (gap !== null) runs.push(['space', gap]);
  return { runs, kept, dropped };
}

/** The first indices of `line` (into parts) whose words are `want` in order, or null. */
function subsequence(want, line, parts) {
  const hit = [];
  for (const i of line) {
    if (hit.length < want.length && parts[i] === want[hit.length]) hit.push(i);
  }
  return hit.length === want.length ? hit : null;
}
