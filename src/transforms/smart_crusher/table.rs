//! The lossless table format for arrays of objects, and its decoder.
//!
//! ```text
//! #headroom-table v1
//! {"packages":"@table:1","version":1}          <- the document with each table replaced by a placeholder
//! @table:1 [3] ["name","version",["owner","login"]]
//! "serde","1.0.228","dtolnay"
//! "itoa","1.0.18",
//! "ryu",1,null
//! [headroom: 12 of 15 items omitted; retrieve the original with headroom_retrieve hash=...]
//! ```
//!
//! Line 1 is the signature, line 2 the minified JSON document in which every table stands as
//! the string `"@table:N"`. Each table starts with `@table:N [rows] COLUMNS`, where COLUMNS is a
//! JSON array of column names; a column that is itself an array names a path into a nested
//! object (flattened). Then one line per item: cells separated by `,`, each cell the compact JSON
//! of the value (so types survive: `"1"` is a string, `1` a number) or empty when the item lacks
//! that key. A line starting with `[headroom:` is a CCR marker for items left out of the table.
//!
//! Two more section forms:
//! - a map of records (an object keyed by id): `@table:N {rows} COLUMNS`, each row starting with
//!   the entry's key as a JSON string, then `,` and the cells;
//! - an array of several item shapes (events with a `type`...): one section per shape,
//!   `@table:N.B [rows] COLUMNS` for B = 1, 2, ..., each row starting with the item's index in the
//!   array, then `,` and the cells; the decoder puts the items back in index order.
//!
//! `decode` turns a document back into JSON deep-equal to the original (marker lines aside).

use serde_json::{Map, Value};

pub const SIGNATURE: &str = "#headroom-table v1";
const PLACEHOLDER: &str = "@table:";
const MARKER_PREFIX: &str = "[headroom:";

/// A table column: a top-level key, or a key inside a nested object.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Key(String),
    Path(String, String),
}

impl Column {
    fn header(&self) -> Value {
        match self {
            Column::Key(k) => Value::String(k.clone()),
            Column::Path(a, b) => Value::Array(vec![Value::String(a.clone()), Value::String(b.clone())]),
        }
    }
}

/// Whether `v` is a CCR marker element (the last element of a lossy array).
pub fn is_marker(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(MARKER_PREFIX))
}

/// Columns for `items` if they are objects uniform enough for a table: every key present in at
/// least `core_fraction` of the rows is core, and at least 60% of rows must hold every core key.
/// Nested objects whose values are all scalars are flattened (up to `max_inner` inner keys).
pub fn columns(items: &[Value], core_fraction: f64, max_inner: usize) -> Option<Vec<Column>> {
    let rows: Vec<&Map<String, Value>> = items.iter().map(Value::as_object).collect::<Option<_>>()?;
    if rows.len() < 2 {
        return None;
    }
    let mut keys: Vec<&str> = Vec::new();
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &rows {
        for k in r.keys() {
            let c = counts.entry(k.as_str()).or_insert(0);
            if *c == 0 {
                keys.push(k.as_str());
            }
            *c += 1;
        }
    }
    if keys.is_empty() || keys.len() > 64 {
        return None;
    }
    let n = rows.len() as f64;
    let core: Vec<&str> = keys.iter().copied().filter(|k| counts[k] as f64 >= core_fraction * n).collect();
    if core.is_empty() {
        return None;
    }
    let with_core = rows.iter().filter(|r| core.iter().all(|k| r.contains_key(*k))).count();
    if (with_core as f64) < 0.6 * n {
        return None;
    }
    let mut cols = Vec::new();
    for k in keys {
        match flatten_inner(&rows, k, max_inner) {
            Some(inner) => cols.extend(inner.into_iter().map(|i| Column::Path(k.to_string(), i))),
            None => cols.push(Column::Key(k.to_string())),
        }
    }
    Some(cols)
}

/// Inner keys of `key` when every row holds a non-empty object of scalars there.
fn flatten_inner(rows: &[&Map<String, Value>], key: &str, max_inner: usize) -> Option<Vec<String>> {
    let mut inner: Vec<String> = Vec::new();
    for r in rows {
        let obj = r.get(key)?.as_object()?;
        if obj.is_empty() {
            return None;
        }
        for (k, v) in obj {
            if v.is_object() || v.is_array() {
                return None;
            }
            if !inner.iter().any(|i| i == k) {
                inner.push(k.clone());
                if inner.len() > max_inner {
                    return None;
                }
            }
        }
    }
    Some(inner)
}

fn cell(item: &Map<String, Value>, col: &Column) -> Option<String> {
    let v = match col {
        Column::Key(k) => item.get(k)?,
        Column::Path(a, b) => item.get(a)?.get(b)?,
    };
    Some(v.to_string())
}

/// Renders one table section (header, rows and, for a lossy array, its marker line).
pub fn render_section(id: usize, items: &[Value], cols: &[Column], out: &mut String) {
    let (rows, marker) = match items.last() {
        Some(last) if is_marker(last) => (&items[..items.len() - 1], last.as_str()),
        _ => (items, None),
    };
    let header = Value::Array(cols.iter().map(Column::header).collect());
    out.push_str(&format!("{PLACEHOLDER}{id} [{}] {header}\n", rows.len()));
    for item in rows {
        if let Some(obj) = item.as_object() {
            let cells: Vec<String> = cols.iter().map(|c| cell(obj, c).unwrap_or_default()).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    if let Some(m) = marker {
        out.push_str(m);
        out.push('\n');
    }
}

/// Groups items of several shapes into buckets that each fit a table: by a discriminator field
/// (a string field every item has, with 2 to 8 values, such as `type`), else by key set. Returns
/// each bucket's item indices and columns; `None` when the items are not all objects, fall in
/// one bucket only or in more than 8, or a bucket does not fit a table.
pub fn buckets(items: &[Value]) -> Option<Vec<(Vec<usize>, Vec<Column>)>> {
    const MAX_BUCKETS: usize = 8;
    let rows: Vec<&Map<String, Value>> = items.iter().map(Value::as_object).collect::<Option<_>>()?;
    let first = rows.first()?;
    let distinct = |key: &str| -> Option<Vec<&str>> {
        let mut vals: Vec<&str> = Vec::new();
        for r in &rows {
            let v = r.get(key)?.as_str()?;
            if !vals.contains(&v) {
                vals.push(v);
                if vals.len() > MAX_BUCKETS {
                    return None;
                }
            }
        }
        (vals.len() >= 2).then_some(vals)
    };
    const PREFERRED: &[&str] = &["type", "kind", "event", "event_type", "eventType", "@type", "object", "action"];
    let discriminator = PREFERRED
        .iter()
        .copied()
        .filter(|k| first.contains_key(*k))
        .chain(first.keys().map(String::as_str))
        .find(|k| distinct(k).is_some());
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let sig = match discriminator {
            Some(k) => r.get(k).and_then(Value::as_str).unwrap_or_default().to_string(),
            None => r.keys().map(String::as_str).collect::<Vec<_>>().join("\u{0}"),
        };
        match groups.iter_mut().find(|(s, _)| *s == sig) {
            Some((_, idx)) => idx.push(i),
            None => {
                if groups.len() == MAX_BUCKETS {
                    return None;
                }
                groups.push((sig, vec![i]));
            }
        }
    }
    if groups.len() < 2 {
        return None;
    }
    groups
        .into_iter()
        .map(|(_, idx)| {
            let group: Vec<Value> = idx.iter().filter_map(|&i| items.get(i).cloned()).collect();
            let cols = match group.as_slice() {
                [one] => {
                    let keys: Vec<Column> = one.as_object()?.keys().map(|k| Column::Key(k.clone())).collect();
                    (!keys.is_empty()).then_some(keys)?
                }
                _ => columns(&group, 0.8, 6)?,
            };
            Some((idx, cols))
        })
        .collect()
}

/// Share of a table's cells that hold a value (1.0: every item has every column).
pub fn fill_rate(items: &[Value], cols: &[Column]) -> f64 {
    let total = items.len() * cols.len();
    if total == 0 {
        return 1.0;
    }
    let filled: usize = items.iter().filter_map(Value::as_object).map(|o| cols.iter().filter(|c| cell(o, c).is_some()).count()).sum();
    filled as f64 / total as f64
}

fn row_cells(item: &Value, cols: &[Column]) -> String {
    match item.as_object() {
        Some(obj) => cols.iter().map(|c| cell(obj, c).unwrap_or_default()).collect::<Vec<_>>().join(","),
        None => String::new(),
    }
}

/// Renders an array of several shapes as one section per bucket (see the module docs).
pub fn render_buckets(id: usize, items: &[Value], buckets: &[(Vec<usize>, Vec<Column>)], out: &mut String) {
    let marker = items.last().filter(|m| is_marker(m)).and_then(Value::as_str);
    for (b, (idx, cols)) in buckets.iter().enumerate() {
        let header = Value::Array(cols.iter().map(Column::header).collect());
        out.push_str(&format!("{PLACEHOLDER}{id}.{} [{}] {header}\n", b + 1, idx.len()));
        for &i in idx {
            if let Some(item) = items.get(i) {
                out.push_str(&format!("{i},{}\n", row_cells(item, cols)));
            }
        }
    }
    if let Some(m) = marker {
        out.push_str(m);
        out.push('\n');
    }
}

/// Renders a map of records (see the module docs); `marker` is the reduced map's marker.
pub fn render_map_section(id: usize, entries: &[(&String, &Value)], cols: &[Column], marker: Option<&str>, out: &mut String) {
    let header = Value::Array(cols.iter().map(Column::header).collect());
    out.push_str(&format!("{PLACEHOLDER}{id} {{{}}} {header}\n", entries.len()));
    for (k, v) in entries {
        out.push_str(&format!("{},{}\n", Value::String((*k).clone()), row_cells(v, cols)));
    }
    if let Some(m) = marker {
        out.push_str(m);
        out.push('\n');
    }
}

/// The placeholder string that stands for table `id` in the document line.
pub fn placeholder(id: usize) -> Value {
    Value::String(format!("{PLACEHOLDER}{id}"))
}

/// Whether any string in `v` could be mistaken for a placeholder (then tables are not used).
pub fn has_placeholder_like(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with(PLACEHOLDER),
        Value::Array(a) => a.iter().any(has_placeholder_like),
        Value::Object(o) => o.values().any(has_placeholder_like),
        _ => false,
    }
}

/// A decoded document: the JSON value, and the CCR marker lines found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub value: Value,
    pub markers: Vec<String>,
}

/// How a section's rows map back to JSON.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Array,
    Map,
    Bucket,
}

/// One section being read.
struct Section {
    id: String,
    form: Form,
    cols: Vec<Column>,
    rows: Vec<(Value, Value)>,
}

/// Decodes a table document back into JSON. Errors name the line that is wrong.
pub fn decode(text: &str) -> Result<Decoded, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some(SIGNATURE) {
        return Err(format!("not a headroom table: the first line must be `{SIGNATURE}`"));
    }
    let doc_line = lines.next().ok_or("the document line is missing")?;
    let mut doc: Value = serde_json::from_str(doc_line).map_err(|e| format!("line 2: {e}"))?;
    let mut sections: Vec<Section> = Vec::new();
    let mut markers = Vec::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 3;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix(PLACEHOLDER) {
            let bad = || format!("line {lineno}: bad table header");
            let (id, rest) = rest.split_once(' ').ok_or_else(bad)?;
            let (count, header) = rest.split_once(' ').ok_or_else(bad)?;
            let (base, bucket) = match id.split_once('.') {
                Some((b, n)) => (b, Some(n)),
                None => (id, None),
            };
            if base.is_empty() || !base.bytes().all(|b| b.is_ascii_digit()) || bucket.is_some_and(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit())) {
                return Err(bad());
            }
            let form = match (count.as_bytes().first(), count.as_bytes().last(), bucket) {
                (Some(b'['), Some(b']'), None) => Form::Array,
                (Some(b'['), Some(b']'), Some(_)) => Form::Bucket,
                (Some(b'{'), Some(b'}'), None) => Form::Map,
                _ => return Err(bad()),
            };
            let header: Vec<Value> = serde_json::from_str(header).map_err(|e| format!("line {lineno}: {e}"))?;
            let cols = header
                .into_iter()
                .map(|h| match h {
                    Value::String(k) => Ok(Column::Key(k)),
                    Value::Array(p) => match (p.first().and_then(Value::as_str), p.get(1).and_then(Value::as_str), p.len()) {
                        (Some(a), Some(b), 2) => Ok(Column::Path(a.to_string(), b.to_string())),
                        _ => Err(format!("line {lineno}: bad column path")),
                    },
                    _ => Err(format!("line {lineno}: bad column")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            sections.push(Section { id: format!("{PLACEHOLDER}{base}"), form, cols, rows: Vec::new() });
        } else if line.starts_with(MARKER_PREFIX) {
            markers.push(line.to_string());
        } else {
            let s = sections.last_mut().ok_or(format!("line {lineno}: a row before any table header"))?;
            let (lead, rest) = match s.form {
                Form::Array => (Value::Null, line),
                Form::Map | Form::Bucket => lead_cell(line, s.form).map_err(|e| format!("line {lineno}: {e}"))?,
            };
            let row = decode_row(rest, &s.cols).map_err(|e| format!("line {lineno}: {e}"))?;
            s.rows.push((lead, row));
        }
    }
    let mut tables: Vec<(String, Value)> = Vec::new();
    let mut buckets: Vec<(String, Vec<(u64, Value)>)> = Vec::new();
    for s in sections {
        match s.form {
            Form::Array => tables.push((s.id, Value::Array(s.rows.into_iter().map(|(_, r)| r).collect()))),
            Form::Map => {
                let mut m = Map::new();
                for (k, r) in s.rows {
                    if let Value::String(k) = k {
                        m.insert(k, r);
                    }
                }
                tables.push((s.id, Value::Object(m)));
            }
            Form::Bucket => {
                let rows = s.rows.into_iter().map(|(i, r)| (i.as_u64().unwrap_or(u64::MAX), r));
                match buckets.iter_mut().find(|(id, _)| *id == s.id) {
                    Some((_, all)) => all.extend(rows),
                    None => buckets.push((s.id, rows.collect())),
                }
            }
        }
    }
    for (id, mut rows) in buckets {
        rows.sort_by_key(|(i, _)| *i);
        if rows.iter().enumerate().any(|(j, (i, _))| *i != j as u64) {
            return Err(format!("{id}: the bucket rows' indices are not 0..{}", rows.len()));
        }
        tables.push((id, Value::Array(rows.into_iter().map(|(_, r)| r).collect())));
    }
    substitute(&mut doc, &mut tables);
    Ok(Decoded { value: doc, markers })
}

/// The leading cell of a map row (the key, a string) or a bucket row (the index), and the rest
/// of the line after its `,`.
fn lead_cell(line: &str, form: Form) -> Result<(Value, &str), String> {
    let mut stream = serde_json::Deserializer::from_str(line).into_iter::<Value>();
    let v = stream.next().ok_or("missing leading cell")?.map_err(|e| e.to_string())?;
    let ok = match form {
        Form::Map => v.is_string(),
        _ => v.as_u64().is_some(),
    };
    if !ok {
        return Err(if form == Form::Map { "a map row must start with its key".into() } else { "a bucket row must start with its index".into() });
    }
    let rest = line[stream.byte_offset()..].strip_prefix(',').ok_or("expected ',' after the leading cell")?;
    Ok((v, rest))
}

fn decode_row(line: &str, cols: &[Column]) -> Result<Value, String> {
    let mut obj = Map::new();
    let mut rest = line;
    for (ci, col) in cols.iter().enumerate() {
        let value = if rest.is_empty() || rest.starts_with(',') {
            None
        } else {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            let v = stream.next().ok_or("missing cell")?.map_err(|e| e.to_string())?;
            rest = &rest[stream.byte_offset()..];
            Some(v)
        };
        if let Some(v) = value {
            match col {
                Column::Key(k) => {
                    obj.insert(k.clone(), v);
                }
                Column::Path(a, b) => {
                    let inner = obj.entry(a.clone()).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = inner {
                        m.insert(b.clone(), v);
                    }
                }
            }
        }
        if ci + 1 < cols.len() {
            rest = rest.strip_prefix(',').ok_or(format!("expected ',' after cell {}", ci + 1))?;
        }
    }
    if !rest.is_empty() {
        return Err("more cells than columns".into());
    }
    Ok(Value::Object(obj))
}

fn substitute(v: &mut Value, tables: &mut Vec<(String, Value)>) {
    match v {
        Value::String(s) if s.starts_with(PLACEHOLDER) => {
            if let Some(pos) = tables.iter().position(|(id, _)| id == s) {
                let (_, table) = tables.swap_remove(pos);
                *v = table;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, tables)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, tables)),
        _ => {}
    }
}
