//! Token counting: exact tiktoken counts for OpenAI models, a documented estimator for Claude and
//! Gemini, the model tables (encoding, context limit), and whole-request counting the way
//! providers bill it.
//!
//! The exact counter is our own and needs no regex engine: `pretokenize` splits text the way
//! tiktoken's patterns do (hand-written, linear time), `bpe` merges each piece with tiktoken's
//! rule over rank tables embedded as compact binary data (`data/`), O(n log n) on long pieces.
//! tiktoken-rs is the reference: `generate.rs` derives the data from it and regex-syntax, and the
//! tests (here and `tests/tokens_exact.rs`) hold splits and counts equal to it.

mod bpe;
#[cfg(test)]
mod generate;
pub mod pretokenize;
pub mod pricing;
mod unicode;

use crate::config::Provider;
use crate::message::{Block, BlockKind, Conversation, Message, Origin};
use std::collections::BTreeMap;
use std::sync::OnceLock;

static O200K_DATA: &[u8] = include_bytes!("data/o200k_base.bin");
static CL100K_DATA: &[u8] = include_bytes!("data/cl100k_base.bin");
static O200K: OnceLock<bpe::Vocab> = OnceLock::new();
static CL100K: OnceLock<bpe::Vocab> = OnceLock::new();

thread_local! {
    /// Counting's working memory, per encoding (indexed by `Encoding as usize`).
    static SCRATCH: [std::cell::RefCell<bpe::Scratch>; 2] = Default::default();
}

/// A BPE vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    pub fn from_name(name: &str) -> Option<Encoding> {
        match name {
            "o200k_base" => Some(Encoding::O200kBase),
            "cl100k_base" => Some(Encoding::Cl100kBase),
            _ => None,
        }
    }

    /// The rank table, indexed once per process (or wasm instance) on first use; cl100k_base
    /// only when a cl100k model is counted.
    fn vocab(self) -> &'static bpe::Vocab {
        match self {
            Encoding::O200kBase => O200K.get_or_init(|| bpe::Vocab::parse(O200K_DATA)),
            Encoding::Cl100kBase => CL100K.get_or_init(|| bpe::Vocab::parse(CL100K_DATA)),
        }
    }

    /// Number of ordinary tokens (ranks `0..vocab_size()`).
    pub fn vocab_size(self) -> usize {
        self.vocab().len()
    }

    /// The bytes of the token with `rank` (empty when out of range).
    pub fn token_bytes(self, rank: u32) -> &'static [u8] {
        self.vocab().token(rank)
    }

    /// Exact tiktoken count of `text` as ordinary text (special-token spellings count as text,
    /// as they do inside chat messages). Long texts are memoised.
    pub fn count(self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        if text.len() < CACHE_MIN_BYTES {
            return self.count_uncached(text);
        }
        cache::count(self, text, |t| self.count_uncached(t))
    }

    /// [`Encoding::count`] without the memo (for benchmarks and tests).
    pub fn count_uncached(self, text: &str) -> usize {
        let vocab = self.vocab();
        let s = text.as_bytes();
        let run = |scratch: &mut bpe::Scratch| {
            let (mut pos, mut n) = (0, 0);
            while pos < s.len() {
                let end = pretokenize::piece_end(self, s, pos);
                n += vocab.count(&s[pos..end], scratch);
                pos = end;
            }
            n
        };
        SCRATCH.with(|per_encoding| match per_encoding[self as usize].try_borrow_mut() {
            Ok(mut scratch) => run(&mut scratch),
            Err(_) => run(&mut bpe::Scratch::default()),
        })
    }
}

/// Texts at least this long have their counts memoised (see `cache`).
const CACHE_MIN_BYTES: usize = 512;

/// Memoised counts of long texts. Agents resend the same history and tool outputs on every turn,
/// and one request is counted before and after the pipeline, so most long texts are counted
/// more than once; hashing is far cheaper than BPE. Keyed by (encoding, length, 64-bit hash);
/// bounded, oldest entries evicted first. Per thread (one per wasm instance).
mod cache {
    use super::Encoding;
    use std::cell::RefCell;
    use std::collections::{HashMap, VecDeque};
    use std::hash::{Hash, Hasher};

    const CAPACITY: usize = 8192;
    type Key = (Encoding, usize, u64);

    #[derive(Default)]
    struct Cache {
        map: HashMap<Key, usize>,
        order: VecDeque<Key>,
    }

    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    }

    pub(super) fn count(enc: Encoding, text: &str, compute: impl FnOnce(&str) -> usize) -> usize {
        // SipHash, not FastHasher: the memo outlives a call and an instance may serve many
        // users, so a text crafted to collide with a known one must not be able to plant a
        // wrong count (FastHasher collisions are easy to craft; SipHash's are not).
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = (enc, text.len(), h.finish());
        if let Some(n) = CACHE.with(|c| c.borrow().map.get(&key).copied()) {
            return n;
        }
        let n = compute(text);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.map.insert(key, n).is_none() {
                c.order.push_back(key);
                while c.order.len() > CAPACITY {
                    if let Some(old) = c.order.pop_front() {
                        c.map.remove(&old);
                    }
                }
            }
        });
        n
    }
}

/// How a model's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Counting {
    /// Exact: the model's own tiktoken encoding.
    Exact(Encoding),
    /// Estimated: o200k_base count times `factor`, rounded up. Used for Claude and Gemini, whose
    /// tokenizers are not public; the factor leans high so budgets err on the safe side.
    Estimate { factor: f64 },
}

/// Claude tokenizers produce more tokens than o200k_base on English and code.
pub const CLAUDE_ESTIMATE_FACTOR: f64 = 1.15;
/// Gemini's SentencePiece vocabulary is close to o200k_base on English and code.
pub const GEMINI_ESTIMATE_FACTOR: f64 = 1.05;
/// Tokens charged for one image (OpenAI's cost of a 1024x1024 image at high detail); an estimate.
pub const IMAGE_TOKENS: usize = 765;
/// Chat-format overhead per message and for priming the reply (OpenAI's published formula).
pub const TOKENS_PER_MESSAGE: usize = 3;
pub const TOKENS_PER_NAME: usize = 1;
pub const REPLY_PRIMING_TOKENS: usize = 3;

/// What the engine knows of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub model: String,
    pub provider: Provider,
    pub counting: Counting,
    pub context_limit: u64,
}

/// (prefix, provider, encoding or estimate, context limit). The longest matching prefix wins.
const MODELS: &[(&str, Provider, Option<Encoding>, u64)] = &[
    ("gpt-5", Provider::Openai, Some(Encoding::O200kBase), 400_000),
    ("gpt-4.1", Provider::Openai, Some(Encoding::O200kBase), 1_047_576),
    ("gpt-4.5", Provider::Openai, Some(Encoding::O200kBase), 128_000),
    ("gpt-4o", Provider::Openai, Some(Encoding::O200kBase), 128_000),
    ("chatgpt-4o", Provider::Openai, Some(Encoding::O200kBase), 128_000),
    ("gpt-oss", Provider::Openai, Some(Encoding::O200kBase), 131_072),
    ("o1", Provider::Openai, Some(Encoding::O200kBase), 200_000),
    ("o1-mini", Provider::Openai, Some(Encoding::O200kBase), 128_000),
    ("o1-preview", Provider::Openai, Some(Encoding::O200kBase), 128_000),
    ("o3", Provider::Openai, Some(Encoding::O200kBase), 200_000),
    ("o4", Provider::Openai, Some(Encoding::O200kBase), 200_000),
    ("gpt-4-turbo", Provider::Openai, Some(Encoding::Cl100kBase), 128_000),
    ("gpt-4-1106", Provider::Openai, Some(Encoding::Cl100kBase), 128_000),
    ("gpt-4-0125", Provider::Openai, Some(Encoding::Cl100kBase), 128_000),
    ("gpt-4-32k", Provider::Openai, Some(Encoding::Cl100kBase), 32_768),
    ("gpt-4", Provider::Openai, Some(Encoding::Cl100kBase), 8_192),
    ("gpt-3.5-turbo", Provider::Openai, Some(Encoding::Cl100kBase), 16_385),
    ("text-embedding-3", Provider::Openai, Some(Encoding::Cl100kBase), 8_191),
    ("claude", Provider::Anthropic, None, 200_000),
    ("gemini-1.5-pro", Provider::Google, None, 2_097_152),
    ("gemini", Provider::Google, None, 1_048_576),
];

/// Looks a model up: user overrides (`modelContextLimits`, prefix match) first, then the table.
/// Unknown models count with o200k_base and a 128k context, the most common shape today.
pub fn model_info(model: &str, overrides: &BTreeMap<String, u64>) -> ModelInfo {
    let name = model.trim().trim_start_matches("models/");
    let lower = name.to_ascii_lowercase();
    let lower = lower.rsplit('/').next().unwrap_or(&lower).to_string();
    let entry = MODELS
        .iter()
        .filter(|(prefix, ..)| lower.starts_with(prefix))
        .max_by_key(|(prefix, ..)| prefix.len());
    let (provider, counting, mut limit) = match entry {
        Some((_, p, Some(enc), limit)) => (*p, Counting::Exact(*enc), *limit),
        Some((_, Provider::Anthropic, None, limit)) => {
            (Provider::Anthropic, Counting::Estimate { factor: CLAUDE_ESTIMATE_FACTOR }, *limit)
        }
        Some((_, p, None, limit)) => (*p, Counting::Estimate { factor: GEMINI_ESTIMATE_FACTOR }, *limit),
        None => (Provider::Openai, Counting::Exact(Encoding::O200kBase), 128_000),
    };
    if let Some((_, l)) = overrides
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix.as_str()) || lower.starts_with(&prefix.to_ascii_lowercase()))
        .max_by_key(|(prefix, _)| prefix.len())
    {
        limit = *l;
    }
    ModelInfo { model: name.to_string(), provider, counting, context_limit: limit }
}

/// Counts text for one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenCounter {
    pub counting: Counting,
}

impl TokenCounter {
    pub fn for_model(info: &ModelInfo) -> TokenCounter {
        TokenCounter { counting: info.counting }
    }

    pub fn exact(encoding: Encoding) -> TokenCounter {
        TokenCounter { counting: Counting::Exact(encoding) }
    }

    pub fn count(&self, text: &str) -> usize {
        match self.counting {
            Counting::Exact(enc) => enc.count(text),
            Counting::Estimate { factor } => {
                let base = Encoding::O200kBase.count(text);
                (base as f64 * factor).ceil() as usize
            }
        }
    }

    /// Tokens one message costs: its text, images, tool-call names and the per-message overhead.
    pub fn count_message(&self, m: &Message) -> usize {
        let mut n = if m.origin == Origin::List { TOKENS_PER_MESSAGE } else { 0 };
        for b in &m.blocks {
            n += self.count_block(m, b);
        }
        if m.raw.get("name").is_some() {
            n += TOKENS_PER_NAME;
        }
        n
    }

    /// Tokens one block of `m` costs (without the message's overhead).
    pub fn count_block(&self, m: &Message, b: &Block) -> usize {
        match b.kind {
            BlockKind::Image => IMAGE_TOKENS,
            BlockKind::ToolCall => {
                self.count(&b.text) + b.tool_name.as_deref().map_or(0, |s| self.count(s)) + TOKENS_PER_NAME
            }
            BlockKind::Other => {
                // Opaque parts (documents, thinking): count their JSON as text.
                let mut v = &m.raw;
                for seg in &b.path {
                    let next = match (seg, v) {
                        (crate::message::Seg::Key(k), serde_json::Value::Object(o)) => o.get(k),
                        (crate::message::Seg::Index(i), serde_json::Value::Array(a)) => a.get(*i),
                        _ => None,
                    };
                    match next {
                        Some(x) => v = x,
                        None => break,
                    }
                }
                if std::ptr::eq(v, &m.raw) { 0 } else { self.count(&v.to_string()) }
            }
            _ => self.count(&b.text),
        }
    }

    /// Tokens the whole request costs: every message, the tool definitions (as compact JSON) and
    /// the reply priming.
    pub fn count_conversation(&self, conv: &Conversation) -> usize {
        let mut n = REPLY_PRIMING_TOKENS;
        for m in &conv.messages {
            n += self.count_message(m);
        }
        if let Some(tools) = conv.tools() {
            n += self.count(&tools.to_string());
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefers_longest_prefix_and_overrides() {
        let none = BTreeMap::new();
        assert_eq!(model_info("gpt-4o-mini", &none).counting, Counting::Exact(Encoding::O200kBase));
        assert_eq!(model_info("gpt-4-turbo-2024", &none).context_limit, 128_000);
        assert_eq!(model_info("gpt-4", &none).context_limit, 8_192);
        assert_eq!(model_info("gpt-4", &none).counting, Counting::Exact(Encoding::Cl100kBase));
        assert_eq!(model_info("o1-mini", &none).context_limit, 128_000);
        assert_eq!(model_info("claude-sonnet-4-5", &none).provider, Provider::Anthropic);
        assert_eq!(model_info("models/gemini-2.0-flash", &none).provider, Provider::Google);
        let mut o = BTreeMap::new();
        o.insert("gpt-4".to_string(), 1000);
        o.insert("gpt-4o".to_string(), 2000);
        assert_eq!(model_info("gpt-4o-mini", &o).context_limit, 2000);
        assert_eq!(model_info("gpt-4-turbo", &o).context_limit, 1000);
    }

    #[test]
    fn counts_known_strings() {
        // Reference values from OpenAI's tiktoken.
        assert_eq!(Encoding::Cl100kBase.count("hello world"), 2);
        assert_eq!(Encoding::O200kBase.count("hello world"), 2);
        assert_eq!(Encoding::O200kBase.count(""), 0);
    }
}
