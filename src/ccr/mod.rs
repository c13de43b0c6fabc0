//! Compress-cache-retrieve: every lossy step stores the original here under a content hash and
//! leaves a marker naming that hash, so nothing a user sent is ever lost. Also the marker grammar
//! and the `headroom_retrieve` tool definition in each provider's format.

use crate::clock;
use crate::config::{CcrConfig, Provider};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Hex digits in a retrieval hash (96 bits of SHA-256).
pub const HASH_LEN: usize = 24;
/// The name of the tool the model calls to get an original back.
pub const RETRIEVE_TOOL_NAME: &str = "headroom_retrieve";

/// The retrieval hash of `content`: the first 24 hex digits of its SHA-256.
pub fn hash(content: &str) -> String {
    let mut s = crate::digest::sha256_hex(content.as_bytes());
    s.truncate(HASH_LEN);
    s
}

/// Whether `s` has the shape of a retrieval hash.
pub fn is_hash(s: &str) -> bool {
    s.len() == HASH_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The one-line text marker left where content was removed:
/// `[headroom: <summary>; retrieve the original with headroom_retrieve hash=<hash>]`.
pub fn marker(summary: &str, hash: &str) -> String {
    format!("[headroom: {summary}; retrieve the original with {RETRIEVE_TOOL_NAME} hash={hash}]")
}

/// Every hash named by a marker in `text`, in order of appearance. A marker is what `marker`
/// writes: `[headroom: ` somewhere before `; retrieve the original with headroom_retrieve hash=`,
/// then exactly 24 lowercase hex digits and `]`. The whole tail is matched, not just `hash=`, so
/// text that merely mentions a hash (source code, logs) is never taken for a marker, and a
/// summary may itself quote a marker.
pub fn find_markers(text: &str) -> Vec<String> {
    const TAIL: &str = "; retrieve the original with headroom_retrieve hash=";
    let mut out = Vec::new();
    let Some(first_open) = text.find("[headroom:") else { return out };
    let mut from = first_open;
    while let Some(i) = text.get(from..).and_then(|rest| rest.find(TAIL)).map(|i| from + i) {
        let after = text.get(i + TAIL.len()..).unwrap_or("");
        if let Some(candidate) = after.get(..HASH_LEN) {
            if is_hash(candidate) && after.get(HASH_LEN..).is_some_and(|r| r.starts_with(']')) {
                out.push(candidate.to_string());
            }
        }
        from = i + TAIL.len();
    }
    out
}

struct Entry {
    content: String,
    expires_ms: f64,
    last_used: u64,
}

/// An in-memory LRU store with a TTL, bounded in entries.
pub struct MemoryStore {
    max_entries: usize,
    ttl_ms: f64,
    entries: HashMap<String, Entry>,
    /// last_used tick -> hash, for LRU eviction.
    order: BTreeMap<u64, String>,
    tick: u64,
}

impl MemoryStore {
    pub fn new(config: &CcrConfig) -> MemoryStore {
        MemoryStore {
            max_entries: config.max_entries.max(1) as usize,
            ttl_ms: config.ttl_seconds as f64 * 1000.0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
        }
    }

    fn touch(&mut self, hash: &str) {
        self.tick += 1;
        if let Some(e) = self.entries.get_mut(hash) {
            self.order.remove(&e.last_used);
            e.last_used = self.tick;
            self.order.insert(self.tick, hash.to_string());
        }
    }

    /// Stores `content` and returns its hash.
    pub fn put(&mut self, content: &str) -> String {
        let h = hash(content);
        self.put_hashed(h.clone(), content.to_string());
        h
    }

    /// `put` when the caller already computed `h = hash(content)` (a marker needed it first):
    /// SHA-256 of a large output is a good part of a request's cost, so it is computed once.
    pub fn put_hashed(&mut self, h: String, content: String) {
        let now = clock::unix_ms();
        if let Some(e) = self.entries.get_mut(&h) {
            e.expires_ms = now + self.ttl_ms;
        } else {
            self.entries.insert(h.clone(), Entry { content, expires_ms: now + self.ttl_ms, last_used: 0 });
        }
        self.touch(&h);
        while self.entries.len() > self.max_entries {
            let Some((&tick, _)) = self.order.iter().next() else { break };
            if let Some(old) = self.order.remove(&tick) {
                self.entries.remove(&old);
            }
        }
    }

    /// The original for `hash`, if present and not expired.
    pub fn get(&mut self, hash: &str) -> Option<String> {
        let now = clock::unix_ms();
        let expired = match self.entries.get(hash) {
            None => return None,
            Some(e) => e.expires_ms < now,
        };
        if expired {
            if let Some(e) = self.entries.remove(hash) {
                self.order.remove(&e.last_used);
            }
            return None;
        }
        self.touch(hash);
        self.entries.get(hash).map(|e| e.content.clone())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn max_entries(&self) -> usize {
        self.max_entries
    }
}

/// A store shared by several `Headroom` instances (the module-level API shares the default one's).
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<MemoryStore>>);

impl SharedStore {
    pub fn new(config: &CcrConfig) -> SharedStore {
        SharedStore(Arc::new(Mutex::new(MemoryStore::new(config))))
    }

    pub fn lock(&self) -> MutexGuard<'_, MemoryStore> {
        // A panic elsewhere cannot leave the map half-written in a way that matters here.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn put(&self, content: &str) -> String {
        self.lock().put(content)
    }

    /// See `MemoryStore::put_hashed`.
    pub fn put_hashed(&self, h: String, content: String) {
        self.lock().put_hashed(h, content)
    }

    /// The original for `hash`; a malformed hash is a `ValidationError`, an unknown one `None`.
    pub fn retrieve(&self, hash: &str) -> Result<Option<String>> {
        if !is_hash(hash) {
            return Err(Error::validation(
                "invalid_hash",
                format!("'{}' is not a retrieval hash ({HASH_LEN} lowercase hex digits)", hash.chars().take(64).collect::<String>()),
            ));
        }
        Ok(self.lock().get(hash))
    }
}

const RETRIEVE_DESCRIPTION: &str = "Retrieve original content that Headroom compressed. Call this with the hash from a \
[headroom: ...] marker when you need the omitted items or lines; optionally pass a query to get only the matching parts.";

fn retrieve_parameters() -> Value {
    json!({
        "type": "object",
        "properties": {
            "hash": { "type": "string", "description": "The hash from the marker (24 hex digits)." },
            "query": { "type": "string", "description": "Optional: only return the parts of the original that match this query." }
        },
        "required": ["hash"]
    })
}

/// The `headroom_retrieve` tool definition in `provider`'s format.
pub fn retrieve_tool(provider: Provider) -> Value {
    match provider {
        Provider::Openai => json!({
            "type": "function",
            "function": { "name": RETRIEVE_TOOL_NAME, "description": RETRIEVE_DESCRIPTION, "parameters": retrieve_parameters() }
        }),
        Provider::Anthropic => json!({
            "name": RETRIEVE_TOOL_NAME, "description": RETRIEVE_DESCRIPTION, "input_schema": retrieve_parameters()
        }),
        Provider::Google => json!({
            "name": RETRIEVE_TOOL_NAME, "description": RETRIEVE_DESCRIPTION, "parameters": retrieve_parameters()
        }),
    }
}

/// A `headroom_retrieve` call the model made, in any of the three provider formats.
struct RetrieveCall {
    provider: Provider,
    id: Option<String>,
    hash: String,
    query: Option<String>,
}

fn parse_retrieve_call(call: &Value) -> Result<RetrieveCall> {
    let bad = |why: &str| Error::validation("invalid_tool_call", format!("not a {RETRIEVE_TOOL_NAME} call: {why}"));
    let (provider, id, name, args) = if let Some(f) = call.get("function") {
        // OpenAI: arguments are JSON text.
        let args: Value = match f.get("arguments") {
            Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| bad("arguments are not JSON"))?,
            Some(v) => v.clone(),
            None => Value::Null,
        };
        (Provider::Openai, call.get("id").and_then(Value::as_str).map(str::to_string), f.get("name"), args)
    } else if call.get("type").and_then(Value::as_str) == Some("tool_use") {
        (Provider::Anthropic, call.get("id").and_then(Value::as_str).map(str::to_string), call.get("name"), call.get("input").cloned().unwrap_or(Value::Null))
    } else {
        let fc = call.get("functionCall").unwrap_or(call);
        (Provider::Google, fc.get("id").and_then(Value::as_str).map(str::to_string), fc.get("name"), fc.get("args").cloned().unwrap_or(Value::Null))
    };
    if name.and_then(Value::as_str) != Some(RETRIEVE_TOOL_NAME) {
        return Err(bad("the tool name is not headroom_retrieve"));
    }
    let hash = args.get("hash").and_then(Value::as_str).ok_or_else(|| bad("no `hash` argument"))?.trim().to_string();
    let query = args.get("query").and_then(Value::as_str).map(str::to_string).filter(|q| !q.trim().is_empty());
    if provider != Provider::Google && id.is_none() {
        return Err(bad("the call has no id"));
    }
    Ok(RetrieveCall { provider, id, hash, query })
}

/// The lines of `original` that mention a word of `query`; all of it when none do.
fn focus(original: &str, query: &str) -> String {
    let terms = crate::transforms::relevance::query_terms(query);
    let hits: Vec<&str> = original
        .lines()
        .filter(|l| {
            let lower = l.to_lowercase();
            terms.iter().any(|t| lower.contains(t.as_str()))
        })
        .collect();
    if hits.is_empty() { original.to_string() } else { hits.join("\n") }
}

/// Turns the model's `headroom_retrieve` call into the tool-result message to append: the
/// original (or the lines matching the call's `query`), or a clear not-found error.
pub fn answer_retrieve_call(store: &SharedStore, call: &Value) -> Result<Value> {
    let c = parse_retrieve_call(call)?;
    let (content, is_error) = match store.retrieve(&c.hash) {
        Ok(Some(original)) => (c.query.as_deref().map_or(original.clone(), |q| focus(&original, q)), false),
        Ok(None) => (format!("Error: no original is stored under hash {} (it may have expired). Re-run the tool that produced it to get the full output.", c.hash), true),
        Err(_) => (format!("Error: '{}' is not a retrieval hash. Use the hash=... value from a [headroom: ...] marker.", c.hash.chars().take(64).collect::<String>()), true),
    };
    let id = c.id.unwrap_or_default();
    Ok(match c.provider {
        Provider::Openai => json!({ "role": "tool", "tool_call_id": id, "content": content }),
        Provider::Anthropic => {
            let mut block = json!({ "type": "tool_result", "tool_use_id": id, "content": content });
            if is_error {
                block["is_error"] = Value::Bool(true);
            }
            json!({ "role": "user", "content": [block] })
        }
        Provider::Google => {
            let key = if is_error { "error" } else { "output" };
            let mut fr = json!({ "name": RETRIEVE_TOOL_NAME, "response": { key: content } });
            if !id.is_empty() {
                fr["id"] = Value::String(id);
            }
            json!({ "role": "user", "parts": [{ "functionResponse": fr }] })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_retrieve_calls_in_every_format() -> Result<()> {
        let store = SharedStore::new(&CcrConfig::default());
        let h = store.put("alpha line\nbeta line\ngamma");
        let openai = json!({"id": "c1", "type": "function", "function": {"name": "headroom_retrieve", "arguments": format!("{{\"hash\":\"{h}\"}}")}});
        let a = answer_retrieve_call(&store, &openai)?;
        assert_eq!(a, json!({"role": "tool", "tool_call_id": "c1", "content": "alpha line\nbeta line\ngamma"}));
        let anthropic = json!({"type": "tool_use", "id": "t1", "name": "headroom_retrieve", "input": {"hash": h, "query": "beta"}});
        let a = answer_retrieve_call(&store, &anthropic)?;
        assert_eq!(a["content"][0]["content"], "beta line");
        let google = json!({"functionCall": {"name": "headroom_retrieve", "args": {"hash": "0123456789abcdef01234567"}}});
        let a = answer_retrieve_call(&store, &google)?;
        assert!(a["parts"][0]["functionResponse"]["response"]["error"].as_str().is_some_and(|e| e.contains("Re-run")));
        assert!(answer_retrieve_call(&store, &json!({"type": "tool_use", "id": "x", "name": "other", "input": {}})).is_err());
        Ok(())
    }

    #[test]
    fn marker_round_trip() {
        let h = hash("original");
        assert!(is_hash(&h));
        let m = marker("480 of 500 items omitted", &h);
        assert_eq!(find_markers(&format!("before {m} after")), vec![h.clone()]);
        assert!(find_markers("hash=0123456789abcdef01234567 without a marker").is_empty());
    }

    #[test]
    fn lru_and_validation() {
        let cfg = CcrConfig { max_entries: 2, ..CcrConfig::default() };
        let store = SharedStore::new(&cfg);
        let a = store.put("a");
        let b = store.put("b");
        assert_eq!(store.retrieve(&a).ok().flatten().as_deref(), Some("a"));
        store.put("c"); // evicts b, the least recently used
        assert_eq!(store.retrieve(&b).ok().flatten(), None);
        assert_eq!(store.retrieve(&a).ok().flatten().as_deref(), Some("a"));
        assert!(store.retrieve("not a hash").is_err());
    }
}
