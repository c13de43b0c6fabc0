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

/// Decodes a table document back into JSON. Errors name the line that is wrong.
pub fn decode(text: &str) -> Result<Decoded, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some(SIGNATURE) {
        return Err(format!("not a headroom table: the first line must be `{SIGNATURE}`"));
    }
    let doc_line = lines.next().ok_or("the document line is missing")?;
    let mut doc: Value = serde_json::from_str(doc_line).map_err(|e| format!("line 2: {e}"))?;
    let mut tables: Vec<(String, Vec<Value>)> = Vec::new();
    let mut current: Option<(String, Vec<Column>, Vec<Value>)> = None;
    let mut markers = Vec::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 3;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix(PLACEHOLDER) {
            if let Some((id, _, rows)) = current.take() {
                tables.push((id, rows));
            }
            let (id, rest) = rest.split_once(' ').ok_or(format!("line {lineno}: bad table header"))?;
            let (_, header) = rest.split_once("] ").ok_or(format!("line {lineno}: bad table header"))?;
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
            current = Some((format!("{PLACEHOLDER}{id}"), cols, Vec::new()));
        } else if line.starts_with(MARKER_PREFIX) {
            markers.push(line.to_string());
        } else {
            let (_, cols, rows) = current.as_mut().ok_or(format!("line {lineno}: a row before any table header"))?;
            rows.push(decode_row(line, cols).map_err(|e| format!("line {lineno}: {e}"))?);
        }
    }
    if let Some((id, _, rows)) = current.take() {
        tables.push((id, rows));
    }
    substitute(&mut doc, &mut tables);
    Ok(Decoded { value: doc, markers })
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

fn substitute(v: &mut Value, tables: &mut Vec<(String, Vec<Value>)>) {
    match v {
        Value::String(s) if s.starts_with(PLACEHOLDER) => {
            if let Some(pos) = tables.iter().position(|(id, _)| id == s) {
                let (_, rows) = tables.swap_remove(pos);
                *v = Value::Array(rows);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, tables)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, tables)),
        _ => {}
    }
}
