//! The transform abstraction and the pipeline's fixed order. Each transform reads and edits the
//! canonical conversation; the engine runs them in order, times each, and rolls back any that
//! fails (its content stays unchanged and a warning says why).
//!
//! Order: CacheAligner → ContentRouter (SmartCrusher and the text compressors) → ML compressor
//! (opt-in) → RollingWindow → provider cache optimizer → retrieve-tool injection.

pub mod retrieve_tool;

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
    /// What the user is asking about (for relevance scoring).
    pub query: String,
    pub store: &'a SharedStore,
    pub warnings: Vec<String>,
    /// Retrieval hashes of markers emitted so far.
    pub markers: Vec<String>,
}

impl Context<'_> {
    /// Stores `original` and returns its hash, recording it as a marker of this request.
    pub fn store_original(&mut self, original: &str) -> String {
        let h = self.store.put(original);
        if !self.markers.contains(&h) {
            self.markers.push(h.clone());
        }
        h
    }

    /// Whether results of `tool` must pass through untouched.
    pub fn skip_tool(&self, tool: Option<&str>) -> bool {
        let Some(tool) = tool else { return false };
        self.config.exclude_tools.iter().any(|t| t == tool)
            || self.tool_profiles.get(tool).is_some_and(|p| p.skip_compression)
    }
}

/// One step of the pipeline.
pub trait Transform: Send + Sync {
    /// Stable name used in `transformsApplied`, `timing` and stats.
    fn name(&self) -> &'static str;

    /// Edits the conversation; returns whether anything changed.
    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool>;

    /// Whether the transform must run even past the deadline (cheap bookkeeping steps).
    fn always_run(&self) -> bool {
        false
    }
}

/// The pipeline in its fixed order. Later issues add their transforms here.
pub fn default_pipeline() -> Vec<Box<dyn Transform>> {
    vec![Box::new(retrieve_tool::RetrieveTool)]
}
