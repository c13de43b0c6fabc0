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
            body.insert("system".into(), sys.raw.clone());
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
