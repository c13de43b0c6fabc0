//! The transform abstraction and the pipeline's fixed order. Each transform reads and edits the
//! canonical conversation; the engine runs them in order, times each, and rolls back any that
//! fails (its content stays unchanged and a warning says why).
//!
//! Order: CacheAligner → ContentRouter (SmartCrusher and the text compressors) → ML compressor
//! (opt-in) → RollingWindow → provider cache optimizer → retrieve-tool injection.

pub mod cache_aligner;
pub mod cache_optimizer;
pub mod detect;
pub mod diff;
pub mod log;
pub mod mixed;
pub mod relevance;
pub mod retrieve_tool;
pub mod rolling_window;
pub mod router;
pub mod search;
pub mod smart_crusher;
pub mod text;
pub mod text_common;

use crate::ccr::SharedStore;
use crate::config::{Config, Mode, ToolProfile};
use crate::error::Result;
use crate::message::Conversation;
use crate::tokens::{ModelInfo, TokenCounter};
use std::collections::BTreeMap;

/// What a transform may read, and where it reports.
pub struct Context<'a> {
    pub config: &'a Config,
    pub mode: Mode,
    pub model: &'a ModelInfo,
    pub counter: TokenCounter,
    pub output_buffer_tokens: u64,
    pub keep_turns: u64,
    pub tool_profiles: &'a BTreeMap<String, ToolProfile>,
    /// The caller's query override (`options.query`); see `query_for`.
    pub query: Option<String>,
    pub store: &'a SharedStore,
    pub warnings: Vec<String>,
    /// Retrieval hashes of markers emitted so far.
    pub markers: Vec<String>,
    /// Set by the engine when no marker may be emitted (CCR off, or the retrieve tool could not
    /// be added without breaking a cached prefix): only lossless steps are allowed.
    pub lossless_only: bool,
    /// Tool definitions the caller must add (a bare messages array has no `tools`).
    pub tools_to_add: Vec<serde_json::Value>,
    /// Finer-grained steps a transform took (`smart_crusher:table`), listed in
    /// `transformsApplied` after the transform's own name.
    pub notes: Vec<String>,
    /// Messages whose text the ML compressor may compress (`options.compressibleMessages`).
    pub compressible_messages: Vec<usize>,
}

impl Context<'_> {
    /// Stores `original` for a lossy step and returns its hash, recording it as a marker of this
    /// request. `None` means lossy steps are not allowed here: the caller must keep the content
    /// (or compress it losslessly). This is the one gate every lossy transform goes through.
    pub fn store_original(&mut self, original: &str) -> Option<String> {
        self.store_original_hashed(original.to_string(), crate::ccr::hash(original))
    }

    /// `store_original` when the caller already has `h = ccr::hash(original)`.
    /// Takes the original by value: a large output is not copied again into the store.
    pub fn store_original_hashed(&mut self, original: String, h: String) -> Option<String> {
        if self.lossless_only {
            return None;
        }
        self.store.put_hashed(h.clone(), original);
        if !self.markers.contains(&h) {
            self.markers.push(h.clone());
        }
        Some(h)
    }

    /// Records a finer-grained step for `transformsApplied` (each label once).
    pub fn note(&mut self, label: String) {
        if !self.notes.contains(&label) {
            self.notes.push(label);
        }
    }

    /// The query the tool output at `message_index` is compressed against.
    pub fn query_for(&self, conv: &Conversation, message_index: usize, tool_id: Option<&str>) -> String {
        match &self.query {
            Some(q) => q.clone(),
            None => conv.query_for_result(message_index, tool_id),
        }
    }

    /// The profile for `tool`, if any.
    pub fn profile(&self, tool: Option<&str>) -> Option<&ToolProfile> {
        tool.and_then(|t| self.tool_profiles.get(t))
    }

    /// Whether results of `tool` must pass through untouched (`excludeTools` globs, or a
    /// profile's `skipCompression`).
    pub fn skip_tool(&self, tool: Option<&str>) -> bool {
        let Some(tool) = tool else { return false };
        self.config.exclude_tools.iter().any(|pattern| glob_match(pattern, tool))
            || self.profile(Some(tool)).is_some_and(|p| p.skip_compression)
    }
}

/// `*` matches any run of characters, `?` one character; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("mcp__*", "mcp__github__search"));
        assert!(glob_match("read_?ile", "read_file"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("grep", "grep2"));
        assert!(!glob_match("*_x", "a_y"));
    }
}

/// One step of the pipeline.
pub trait Transform: Send + Sync {
    /// Stable name used in `transformsApplied`, `timing` and stats.
    fn name(&self) -> &'static str;

    /// Edits the conversation; returns whether anything changed.
    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool>;

    /// Whether the transform may add a few tokens on purpose (CacheAligner's dynamic-tail
    /// separator, the cache optimizer's split at a breakpoint: both buy a cacheable prefix). Such additions are allowed by the engine's
    /// never-more-tokens rule; everything else must pay for itself.
    fn may_add_tokens(&self) -> bool {
        false
    }

    /// Whether the transform must run even past the deadline (cheap bookkeeping steps).
    fn always_run(&self) -> bool {
        false
    }
}

/// The pipeline in its fixed order. Later issues add their transforms here.
pub fn default_pipeline() -> Vec<Box<dyn Transform>> {
    vec![
        Box::new(cache_aligner::CacheAligner),
        Box::new(router::ContentRouter),
        // The ML compressor (opt-in): idle until a model is attached (`Headroom::set_ml_model`).
        #[cfg(feature = "ml")]
        Box::new(crate::ml::transform::MlCompressor::default()),
        Box::new(rolling_window::RollingWindow),
        Box::new(cache_optimizer::CacheOptimizer),
        Box::new(retrieve_tool::RetrieveTool),
    ]
}
