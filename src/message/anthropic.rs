//! Anthropic Messages: a top-level `system` (string or text blocks), `user`/`assistant` turns
//! whose content is a string or blocks (`text`, `image`, `tool_use`, `tool_result`, `thinking`...),
//! and `cache_control` breakpoints on blocks.

use super::*;

pub(crate) fn parse(request: Value) -> Result<Conversation> {
    let (mut body, list) = split_body(request, "messages")?;
    let model = body.as_ref().and_then(|b| b.get("model")).and_then(Value::as_str).map(str::to_string);
    let mut messages = Vec::with_capacity(list.len() + 1);
    if let Some(b) = body.as_mut() {
        match b.get("system") {
            None | Some(Value::Null) => {}
            Some(sys) => messages.push(parse_system(sys.clone())?),
        }
    }
    for (i, raw) in list.into_iter().enumerate() {
        messages.push(parse_message(raw, i)?);
    }
    let mut conv = Conversation { provider: Provider::Anthropic, body, messages, model };
    conv.link_tool_names();
    Ok(conv)
}

fn parse_system(raw: Value) -> Result<Message> {
    let mut blocks = Vec::new();
    match &raw {
        Value::String(s) => blocks.push(Block::text_at(BlockKind::Text, s.clone(), vec![], Encoding::Str)),
        Value::Array(parts) => {
            for (i, p) in parts.iter().enumerate() {
                let mut b = match p.get("text") {
                    Some(Value::String(t)) => Block::text_at(
                        BlockKind::Text,
                        t.clone(),
                        vec![Seg::Index(i), Seg::Key("text".into())],
                        Encoding::Str,
                    ),
                    _ => Block::opaque(BlockKind::Other, vec![Seg::Index(i)]),
                };
                b.cache_control = p.get("cache_control").is_some();
                blocks.push(b);
            }
        }
        _ => {
            return Err(Error::validation("invalid_system", "`system` must be a string or an array of text blocks"))
        }
    }
    Ok(Message { role: Role::System, blocks, raw, origin: Origin::SystemField, modified: false, synthetic: false, frozen: false })
}

fn parse_message(raw: Value, index: usize) -> Result<Message> {
    let obj = expect_object(&raw, index)?;
    let role_str = obj.get("role").and_then(Value::as_str).ok_or_else(|| {
        Error::validation("missing_role", format!("message {index} has no string `role`"))
            .with("messageIndex", index as u64)
    })?;
    let role = match role_str {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => return Err(unknown_role(other, index, Provider::Anthropic)),
    };
    let mut blocks = Vec::new();
    match obj.get("content") {
        Some(Value::String(s)) => {
            blocks.push(Block::text_at(BlockKind::Text, s.clone(), vec![Seg::Key("content".into())], Encoding::Str))
        }
        Some(Value::Array(parts)) => {
            for (pi, part) in parts.iter().enumerate() {
                parse_block(part, pi, index, &mut blocks)?;
            }
        }
        _ => {
            return Err(Error::validation(
                "invalid_content",
                format!("message {index}: `content` must be a string or an array of content blocks"),
            )
            .with("messageIndex", index as u64))
        }
    }
    Ok(Message { role, blocks, raw, origin: Origin::List, modified: false, synthetic: false, frozen: false })
}

fn parse_block(part: &Value, pi: usize, index: usize, blocks: &mut Vec<Block>) -> Result<()> {
    let base = vec![Seg::Key("content".into()), Seg::Index(pi)];
    let at = |k: &str| {
        let mut p = base.clone();
        p.push(Seg::Key(k.to_string()));
        p
    };
    let cache = part.get("cache_control").is_some();
    let ty = part.get("type").and_then(Value::as_str).unwrap_or("");
    let start = blocks.len();
    match ty {
        "text" => match part.get("text") {
            Some(Value::String(t)) => blocks.push(Block::text_at(BlockKind::Text, t.clone(), at("text"), Encoding::Str)),
            _ => blocks.push(Block::opaque(BlockKind::Other, base.clone())),
        },
        "image" => blocks.push(Block::opaque(BlockKind::Image, base.clone())),
        "tool_use" | "server_tool_use" => {
            let id = part.get("id").and_then(Value::as_str).ok_or_else(|| {
                Error::validation("invalid_tool_call", format!("message {index}: tool_use block {pi} has no `id`"))
                    .with("messageIndex", index as u64)
            })?;
            let input = part.get("input").map(|v| v.to_string()).unwrap_or_default();
            let mut b = Block::text_at(BlockKind::ToolCall, input, at("input"), Encoding::Json);
            b.editable = false;
            b.tool_id = Some(id.to_string());
            b.tool_name = part.get("name").and_then(Value::as_str).map(str::to_string);
            blocks.push(b);
        }
        "tool_result" => {
            let id = part.get("tool_use_id").and_then(Value::as_str).ok_or_else(|| {
                Error::validation("invalid_tool_result", format!("message {index}: tool_result block {pi} has no `tool_use_id`"))
                    .with("messageIndex", index as u64)
            })?;
            let is_error = part.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            match part.get("content") {
                Some(Value::String(s)) => {
                    blocks.push(Block::text_at(BlockKind::ToolResult, s.clone(), at("content"), Encoding::Str))
                }
                Some(Value::Array(inner)) => {
                    for (ii, ib) in inner.iter().enumerate() {
                        let mut p = at("content");
                        p.push(Seg::Index(ii));
                        match (ib.get("type").and_then(Value::as_str), ib.get("text")) {
                            (Some("text"), Some(Value::String(t))) => {
                                p.push(Seg::Key("text".into()));
                                blocks.push(Block::text_at(BlockKind::ToolResult, t.clone(), p, Encoding::Str));
                            }
                            (Some("image"), _) => blocks.push(Block::opaque(BlockKind::Image, p)),
                            _ => blocks.push(Block::opaque(BlockKind::Other, p)),
                        }
                    }
                }
                _ => {}
            }
            if blocks[start..].iter().all(|b| b.kind != BlockKind::ToolResult) {
                blocks.push(Block::opaque(BlockKind::ToolResult, base.clone()));
            }
            for b in &mut blocks[start..] {
                if b.kind == BlockKind::ToolResult {
                    b.tool_id = Some(id.to_string());
                    b.is_error = is_error;
                }
            }
        }
        _ => blocks.push(Block::opaque(BlockKind::Other, base.clone())),
    }
    for b in &mut blocks[start..] {
        b.cache_control = cache;
    }
    Ok(())
}

pub(crate) fn write(conv: &Conversation) -> Value {
    let mut out = join_body(&conv.body, "messages", conv.messages_value());
    if let Value::Object(body) = &mut out {
        if let Some(sys) = conv.messages.iter().find(|m| m.origin == Origin::SystemField) {
            body.insert("system".into(), sys.to_value());
        }
    }
    out
}

pub(crate) fn text_message(role: Role, text: &str) -> Message {
    let role = match role {
        Role::Assistant => Role::Assistant,
        _ => Role::User,
    };
    let mut raw = Map::new();
    raw.insert("role".into(), Value::from(role.as_str()));
    raw.insert("content".into(), Value::from(text));
    Message {
        role,
        blocks: vec![Block::text_at(BlockKind::Text, text.to_string(), vec![Seg::Key("content".into())], Encoding::Str)],
        raw: Value::Object(raw),
        origin: Origin::List,
        modified: true,
        synthetic: true,
        frozen: false,
    }
}

// Cache breakpoints (used by the provider cache optimizer). Both edit `raw` and re-parse the
// message so its blocks and paths stay true; both refuse frozen messages, whose bytes a
// provider cache already holds.

/// Re-parses `m` from `raw`, keeping its flags and the tool names linked from calls.
fn reparse(m: &mut Message, raw: Value) -> bool {
    let parsed = match m.origin {
        Origin::SystemField => parse_system(raw),
        Origin::List => parse_message(raw, 0),
    };
    let Ok(mut new) = parsed else { return false };
    new.detach_texts();
    for b in &mut new.blocks {
        if b.tool_name.is_none() && b.tool_id.is_some() {
            b.tool_name = m.blocks.iter().find(|o| o.tool_id == b.tool_id).and_then(|o| o.tool_name.clone());
        }
    }
    new.modified = true;
    new.synthetic = m.synthetic;
    new.frozen = m.frozen;
    *m = new;
    true
}

fn ephemeral() -> Value {
    let mut cc = Map::new();
    cc.insert("type".into(), Value::from("ephemeral"));
    Value::Object(cc)
}

fn text_part(text: &str) -> Value {
    let mut part = Map::new();
    part.insert("type".into(), Value::from("text"));
    part.insert("text".into(), Value::from(text));
    Value::Object(part)
}

/// Puts an ephemeral `cache_control` breakpoint on the last content block of `m` (a string
/// content becomes one text block). False when frozen, already marked, or the last block cannot
/// carry one (thinking blocks).
pub fn add_cache_breakpoint(m: &mut Message) -> bool {
    if m.frozen {
        return false;
    }
    let mut raw = m.to_value();
    let parts = match m.origin {
        Origin::SystemField => Some(&mut raw),
        Origin::List => raw.get_mut("content"),
    };
    let Some(parts) = parts else { return false };
    if let Value::String(s) = parts {
        *parts = Value::Array(vec![text_part(s)]);
    }
    let Some(last) = parts.as_array_mut().and_then(|a| a.last_mut()).and_then(Value::as_object_mut) else {
        return false;
    };
    if last.contains_key("cache_control")
        || matches!(last.get("type").and_then(Value::as_str), None | Some("thinking" | "redacted_thinking"))
    {
        return false;
    }
    last.insert("cache_control".into(), ephemeral());
    reparse(m, raw)
}

/// Splits the system prompt's last text block at byte `at` into two text blocks, the first
/// carrying a breakpoint: the stable part is cached and the dynamic tail after it is not. The
/// text is unchanged (the blocks concatenate back to it).
pub fn split_system_with_breakpoint(m: &mut Message, at: usize) -> bool {
    if m.frozen || m.origin != Origin::SystemField {
        return false;
    }
    let mut raw = m.to_value();
    let split = |text: &str, base: Option<&Map<String, Value>>| -> Option<(Value, Value)> {
        let (head, tail) = (text.get(..at)?, text.get(at..)?);
        if head.trim().is_empty() || tail.is_empty() {
            return None;
        }
        let mut first = base.cloned().unwrap_or_default();
        first.insert("type".into(), Value::from("text"));
        first.insert("text".into(), Value::from(head));
        first.insert("cache_control".into(), ephemeral());
        Some((Value::Object(first), text_part(tail)))
    };
    match &mut raw {
        Value::String(s) => {
            let Some((a, b)) = split(s, None) else { return false };
            raw = Value::Array(vec![a, b]);
        }
        Value::Array(parts) => {
            let Some(pi) = parts.iter().rposition(|p| p.get("text").is_some_and(Value::is_string)) else {
                return false;
            };
            let Some(part) = parts.get(pi).and_then(Value::as_object) else { return false };
            if part.contains_key("cache_control") {
                return false;
            }
            let text = part.get("text").and_then(Value::as_str).unwrap_or("");
            let Some((a, b)) = split(text, Some(part)) else { return false };
            parts.splice(pi..=pi, [a, b]);
        }
        _ => return false,
    }
    reparse(m, raw)
}
