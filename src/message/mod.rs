//! The canonical message model shared by every transform, and the three provider formats that
//! parse into it and write back out of it.
//!
//! Each message keeps its original provider JSON (`raw`). Transforms read and replace the *text*
//! of blocks; a replacement is written into `raw` at the block's path, so everything else in the
//! message (unknown fields, key order, number spelling) passes through untouched, and a message no
//! transform touched is serialised exactly as it came in.

pub mod anthropic;
pub mod google;
pub mod openai;

use crate::config::Provider;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A block's text, shared: cloning a conversation (the engine's rollback snapshot) or storing an
/// original in the CCR store costs a reference count, not a copy of a 10 MB tool output.
pub type Text = Arc<String>;

/// Canonical roles. Google's `model` is `Assistant`; tool results are `Tool` only in OpenAI
/// (Anthropic and Google carry them inside `user` turns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
    /// System and developer prompts: never dropped, first in the request.
    pub fn is_instruction(self) -> bool {
        matches!(self, Role::System | Role::Developer)
    }
}

/// One step in a path inside a message's raw JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// How a block's text is stored at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A JSON string.
    Str,
    /// A JSON value (Anthropic `tool_use.input`, Google `functionCall.args` / `functionResponse.response`);
    /// the block's text is its compact serialisation.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Text,
    ToolCall,
    ToolResult,
    Image,
    /// Anything else (documents, thinking, audio...): counted, never edited.
    Other,
}

/// A unit of content inside a message.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    /// Text for `Text`, arguments for `ToolCall`, content for `ToolResult`; empty for images.
    pub text: Text,
    /// Tool call id linking a `ToolCall` to its `ToolResult`.
    pub tool_id: Option<String>,
    /// Tool (function) name; for results, taken from the matching call.
    pub tool_name: Option<String>,
    pub is_error: bool,
    pub path: Vec<Seg>,
    pub encoding: Encoding,
    /// Whether the text lives at `path` and may be replaced.
    pub editable: bool,
    /// Whether this block sits before (or carries) a provider cache breakpoint.
    pub cache_control: bool,
    /// The text was moved out of `raw` (which holds a null at `path` until `Message::to_value`
    /// puts it back), so it is held once, here.
    pub(crate) detached: bool,
}

impl Block {
    pub(crate) fn text_at(kind: BlockKind, text: String, path: Vec<Seg>, encoding: Encoding) -> Block {
        Block {
            kind,
            text: Arc::new(text),
            tool_id: None,
            tool_name: None,
            is_error: false,
            path,
            encoding,
            editable: true,
            cache_control: false,
            detached: false,
        }
    }
    pub(crate) fn opaque(kind: BlockKind, path: Vec<Seg>) -> Block {
        Block {
            kind,
            text: Text::default(),
            tool_id: None,
            tool_name: None,
            is_error: false,
            path,
            encoding: Encoding::Str,
            editable: false,
            cache_control: false,
            detached: false,
        }
    }
}

/// Where the message lives in the provider body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An element of `messages` / `contents`.
    List,
    /// Anthropic's top-level `system` or Google's `systemInstruction`.
    SystemField,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    pub blocks: Vec<Block>,
    pub raw: Value,
    pub origin: Origin,
    /// Set when a transform changed or created this message.
    pub modified: bool,
    /// Set on messages the engine inserted (markers), not sent by the user.
    pub synthetic: bool,
    /// Inside the frozen prefix (a provider cache already holds it): no transform may change or
    /// drop it. Enforced here, in `set_block_text`, for every transform at once.
    pub frozen: bool,
}

impl Message {
    /// All editable text of the message, joined (what relevance scoring and counting read).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            if !b.text.is_empty() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&b.text);
            }
        }
        out
    }

    pub fn has_kind(&self, kind: BlockKind) -> bool {
        self.blocks.iter().any(|b| b.kind == kind)
    }

    /// Replaces the text of block `i`, writing it into `raw`. Returns false (and changes nothing)
    /// when the block is not editable.
    pub fn set_block_text(&mut self, i: usize, text: String) -> bool {
        let Some(block) = self.blocks.get(i) else { return false };
        if !block.editable || self.frozen {
            return false;
        }
        if !block.detached {
            let new_value = match block.encoding {
                Encoding::Str => Value::String(text.clone()),
                Encoding::Json => json_slot_value(&text),
            };
            let Some(slot) = value_at_mut(&mut self.raw, &block.path) else { return false };
            *slot = new_value;
        }
        if let Some(block) = self.blocks.get_mut(i) {
            block.text = Arc::new(text);
        }
        self.modified = true;
        true
    }

    /// Moves the text of every string-valued text, tool-call and tool-result block out of `raw`
    /// into the block (no copy), leaving a null at its path: the text is then held once.
    pub(crate) fn detach_texts(&mut self) {
        for b in &mut self.blocks {
            if b.detached || b.encoding != Encoding::Str || !b.editable {
                continue;
            }
            if let Some(slot @ Value::String(_)) = value_at_mut(&mut self.raw, &b.path) {
                if let Value::String(s) = slot.take() {
                    b.text = Arc::new(s);
                    b.detached = true;
                }
            }
        }
    }

    /// The message as provider JSON: `raw` with every block's text in place.
    pub fn to_value(&self) -> Value {
        let mut v = self.raw.clone();
        for b in self.blocks.iter().filter(|b| b.detached) {
            if let Some(slot) = value_at_mut(&mut v, &b.path) {
                *slot = Value::String(b.text.as_ref().clone());
            }
        }
        v
    }
}

/// What goes into a JSON-valued slot (an object in Google's `functionResponse.response`):
/// the text itself when it is a JSON object, else `{"output": text}` as Google documents.
fn json_slot_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let mut m = Map::new();
            m.insert("output".into(), Value::String(text.to_string()));
            Value::Object(m)
        }
    }
}

pub(crate) fn value_at_mut<'a>(root: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = root;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A parsed request: the messages in canonical form plus the rest of the body.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub provider: Provider,
    /// The body without its messages (and system) field; `None` when a bare messages array was given.
    pub body: Option<Map<String, Value>>,
    pub messages: Vec<Message>,
    /// The model named in the body, if any.
    pub model: Option<String>,
}

impl Conversation {
    /// Parses a request (a messages array or a whole body) in the given or detected format.
    pub fn parse(request: Value, provider: Option<Provider>) -> Result<Conversation> {
        let provider = match provider {
            Some(p) => p,
            None => detect_provider(&request)?,
        };
        let mut conv = match provider {
            Provider::Openai => openai::parse(request)?,
            Provider::Anthropic => anthropic::parse(request)?,
            Provider::Google => google::parse(request)?,
        };
        conv.check_tool_pairs()?;
        for m in &mut conv.messages {
            m.detach_texts();
        }
        Ok(conv)
    }

    /// The request as the caller gave it: the whole body when one was passed, else the array.
    pub fn to_request(&self) -> Value {
        match self.provider {
            Provider::Openai => openai::write(self),
            Provider::Anthropic => anthropic::write(self),
            Provider::Google => google::write(self),
        }
    }

    /// The provider-shaped messages array (Anthropic's `system` and Google's
    /// `systemInstruction` are not part of it).
    pub fn messages_value(&self) -> Value {
        Value::Array(
            self.messages.iter().filter(|m| m.origin == Origin::List).map(Message::to_value).collect(),
        )
    }

    /// Tool definitions in the body, if any (`tools`).
    pub fn tools(&self) -> Option<&Value> {
        self.body.as_ref().and_then(|b| b.get("tools"))
    }

    /// A new plain-text message in this provider's format (used for markers).
    pub fn new_text_message(&self, role: Role, text: &str) -> Message {
        match self.provider {
            Provider::Openai => openai::text_message(role, text),
            Provider::Anthropic => anthropic::text_message(role, text),
            Provider::Google => google::text_message(role, text),
        }
    }

    /// Marks the frozen prefix: every message up to and including the last one that carries a
    /// provider cache breakpoint (Anthropic `cache_control`), and at least the first
    /// `at_least` messages. Returns how many messages are frozen.
    pub fn freeze_prefix(&mut self, at_least: usize) -> usize {
        let last_breakpoint =
            self.messages.iter().rposition(|m| m.blocks.iter().any(|b| b.cache_control)).map_or(0, |i| i + 1);
        let n = last_breakpoint.max(at_least).min(self.messages.len());
        for m in &mut self.messages[..n] {
            m.frozen = true;
        }
        n
    }

    /// Number of frozen messages at the start.
    pub fn frozen_len(&self) -> usize {
        self.messages.iter().take_while(|m| m.frozen).count()
    }

    /// The query a tool output is compressed against: the nearest user text before it plus its
    /// own call's arguments. It depends only on what precedes the output, so the same output
    /// compresses the same way on every later turn (stable bytes, stable prompt caches).
    pub fn query_for_result(&self, message_index: usize, tool_id: Option<&str>) -> String {
        let mut parts = Vec::new();
        for m in self.messages[..message_index.min(self.messages.len())].iter().rev() {
            if m.role == Role::User && !m.synthetic {
                let text: Vec<&str> =
                    m.blocks.iter().filter(|b| b.kind == BlockKind::Text).map(|b| b.text.as_str()).collect();
                if !text.is_empty() {
                    parts.push(text.join("\n"));
                    break;
                }
            }
        }
        if let Some(id) = tool_id {
            let call = self.messages.iter().flat_map(|m| &m.blocks).find(|b| b.kind == BlockKind::ToolCall && b.tool_id.as_deref() == Some(id));
            if let Some(call) = call {
                // The argument values, not the JSON punctuation around them.
                match serde_json::from_str::<Value>(&call.text) {
                    Ok(args) => collect_scalars(&args, &mut parts),
                    Err(_) => parts.push(call.text.to_string()),
                }
            }
        }
        parts.join("\n")
    }

    /// Every tool result must answer a call that comes before it.
    fn check_tool_pairs(&self) -> Result<()> {
        let mut calls = std::collections::HashSet::new();
        for (mi, m) in self.messages.iter().enumerate() {
            for b in &m.blocks {
                match b.kind {
                    BlockKind::ToolCall => {
                        if let Some(id) = &b.tool_id {
                            calls.insert(id.clone());
                        }
                    }
                    BlockKind::ToolResult => {
                        let id = b.tool_id.clone().unwrap_or_default();
                        if !calls.contains(&id) {
                            return Err(Error::validation(
                                "orphan_tool_result",
                                format!("message {mi} holds a tool result for call '{id}', but no earlier assistant message makes that call"),
                            )
                            .with("messageIndex", mi as u64)
                            .with("toolCallId", id));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Fills `tool_name` on results from their calls.
    pub(crate) fn link_tool_names(&mut self) {
        let mut names = std::collections::HashMap::new();
        for m in &self.messages {
            for b in &m.blocks {
                if b.kind == BlockKind::ToolCall {
                    if let (Some(id), Some(name)) = (&b.tool_id, &b.tool_name) {
                        names.insert(id.clone(), name.clone());
                    }
                }
            }
        }
        for m in &mut self.messages {
            for b in &mut m.blocks {
                if b.kind == BlockKind::ToolResult && b.tool_name.is_none() {
                    if let Some(id) = &b.tool_id {
                        b.tool_name = names.get(id).cloned();
                    }
                }
            }
        }
    }
}

fn collect_scalars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| collect_scalars(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_scalars(x, out)),
        _ => {}
    }
}

/// Guesses the provider from the request's shape. An ambiguous request (plain user/assistant text)
/// is OpenAI's: every provider would read it the same way.
pub fn detect_provider(request: &Value) -> Result<Provider> {
    let messages = match request {
        Value::Array(a) => a,
        Value::Object(body) => {
            if body.contains_key("contents") || body.contains_key("systemInstruction") {
                return Ok(Provider::Google);
            }
            if let Some(model) = body.get("model").and_then(Value::as_str) {
                let model = model.to_ascii_lowercase();
                if model.starts_with("claude") {
                    return Ok(Provider::Anthropic);
                }
                if model.starts_with("gemini") || model.starts_with("models/gemini") {
                    return Ok(Provider::Google);
                }
            }
            if body.contains_key("system") && body.contains_key("messages") {
                return Ok(Provider::Anthropic);
            }
            match body.get("messages") {
                Some(Value::Array(a)) => a,
                Some(_) => {
                    return Err(Error::validation("invalid_request", "`messages` must be an array"))
                }
                None => {
                    return Err(Error::validation(
                        "invalid_request",
                        "the request has neither `messages` nor `contents`: pass a messages array or a provider request body",
                    ))
                }
            }
        }
        _ => {
            return Err(Error::validation(
                "invalid_request",
                "a request must be a messages array or a provider request body (an object)",
            ))
        }
    };
    for m in messages {
        let Some(obj) = m.as_object() else { continue };
        if obj.contains_key("parts") {
            return Ok(Provider::Google);
        }
        if let Some(role) = obj.get("role").and_then(Value::as_str) {
            if role == "model" {
                return Ok(Provider::Google);
            }
            if role == "tool" || role == "system" || role == "developer" || role == "function" {
                return Ok(Provider::Openai);
            }
        }
        if obj.contains_key("tool_calls") || obj.contains_key("tool_call_id") {
            return Ok(Provider::Openai);
        }
        if let Some(Value::Array(parts)) = obj.get("content") {
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("tool_use" | "tool_result" | "image" | "document" | "thinking" | "redacted_thinking") => {
                        return Ok(Provider::Anthropic)
                    }
                    Some("image_url" | "input_audio" | "file" | "refusal") => return Ok(Provider::Openai),
                    _ => {}
                }
                if p.get("cache_control").is_some() {
                    return Ok(Provider::Anthropic);
                }
            }
        }
    }
    Ok(Provider::Openai)
}

/// The object at the top of a message, or a validation error naming its index.
pub(crate) fn expect_object(v: &Value, index: usize) -> Result<&Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        Error::validation("invalid_message", format!("message {index} is not an object"))
            .with("messageIndex", index as u64)
    })
}

pub(crate) fn unknown_role(role: &str, index: usize, provider: Provider) -> Error {
    Error::validation(
        "unknown_role",
        format!("message {index} has role '{role}', which {} requests do not allow", provider.as_str()),
    )
    .with("messageIndex", index as u64)
    .with("role", role)
    .with("provider", provider.as_str())
}

/// A request split into its body (if any) and its message list.
type SplitBody = (Option<Map<String, Value>>, Vec<Value>);

/// Splits the request into the body (if any) and the messages array under `key`.
pub(crate) fn split_body(request: Value, key: &str) -> Result<SplitBody> {
    match request {
        Value::Array(a) => Ok((None, a)),
        Value::Object(mut body) => {
            let list = match body.get_mut(key).map(Value::take) {
                Some(Value::Array(a)) => a,
                Some(_) => {
                    return Err(Error::validation("invalid_request", format!("`{key}` must be an array")))
                }
                None => {
                    return Err(Error::validation("invalid_request", format!("the request body has no `{key}` array")))
                }
            };
            Ok((Some(body), list))
        }
        _ => Err(Error::validation(
            "invalid_request",
            "a request must be a messages array or a provider request body (an object)",
        )),
    }
}

/// Puts `list` back into the body under `key`, in the key's original position.
pub(crate) fn join_body(body: &Option<Map<String, Value>>, key: &str, list: Value) -> Value {
    match body {
        None => list,
        Some(b) => {
            let mut out = b.clone();
            out.insert(key.to_string(), list);
            Value::Object(out)
        }
    }
}
