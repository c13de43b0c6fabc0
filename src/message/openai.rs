//! OpenAI Chat Completions messages: `system`/`developer`, `user`, `assistant` (with
//! `tool_calls`), `tool`, and the legacy `function` role; content as a string or content parts.

use super::*;

pub(crate) fn parse(request: Value) -> Result<Conversation> {
    let (body, list) = split_body(request, "messages")?;
    let model = body.as_ref().and_then(|b| b.get("model")).and_then(Value::as_str).map(str::to_string);
    let mut messages = Vec::with_capacity(list.len());
    for (i, raw) in list.into_iter().enumerate() {
        messages.push(parse_message(raw, i)?);
    }
    let mut conv = Conversation { provider: Provider::Openai, body, messages, model };
    conv.link_tool_names();
    Ok(conv)
}

fn parse_message(raw: Value, index: usize) -> Result<Message> {
    let obj = expect_object(&raw, index)?;
    let role_str = obj.get("role").and_then(Value::as_str).ok_or_else(|| {
        Error::validation("missing_role", format!("message {index} has no string `role`"))
            .with("messageIndex", index as u64)
    })?;
    let role = match role_str {
        "system" => Role::System,
        "developer" => Role::Developer,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" | "function" => Role::Tool,
        other => return Err(unknown_role(other, index, Provider::Openai)),
    };
    let mut blocks = Vec::new();
    let result_id = match role_str {
        "tool" => Some(
            obj.get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::validation("missing_tool_call_id", format!("tool message {index} has no `tool_call_id`"))
                        .with("messageIndex", index as u64)
                })?
                .to_string(),
        ),
        "function" => Some(format!("function:{}", obj.get("name").and_then(Value::as_str).unwrap_or(""))),
        _ => None,
    };
    let content_kind = if result_id.is_some() { BlockKind::ToolResult } else { BlockKind::Text };
    match obj.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            blocks.push(Block::text_at(content_kind, s.clone(), vec![Seg::Key("content".into())], Encoding::Str))
        }
        Some(Value::Array(parts)) => {
            for (pi, part) in parts.iter().enumerate() {
                let base = vec![Seg::Key("content".into()), Seg::Index(pi)];
                let ty = part.get("type").and_then(Value::as_str).unwrap_or("");
                let block = match (ty, part.get("text"), part.get("refusal")) {
                    ("text", Some(Value::String(t)), _) => {
                        let mut p = base.clone();
                        p.push(Seg::Key("text".into()));
                        Block::text_at(content_kind, t.clone(), p, Encoding::Str)
                    }
                    ("refusal", _, Some(Value::String(t))) => {
                        let mut p = base.clone();
                        p.push(Seg::Key("refusal".into()));
                        Block::text_at(BlockKind::Text, t.clone(), p, Encoding::Str)
                    }
                    ("image_url", _, _) => Block::opaque(BlockKind::Image, base),
                    _ => Block::opaque(BlockKind::Other, base),
                };
                blocks.push(block);
            }
        }
        Some(_) => {
            return Err(Error::validation(
                "invalid_content",
                format!("message {index}: `content` must be a string, an array of content parts or null"),
            )
            .with("messageIndex", index as u64))
        }
    }
    if let Some(id) = &result_id {
        for b in blocks.iter_mut().filter(|b| b.kind == BlockKind::ToolResult) {
            b.tool_id = Some(id.clone());
        }
        if blocks.is_empty() {
            // An empty tool result still answers its call.
            let mut b = Block::opaque(BlockKind::ToolResult, vec![Seg::Key("content".into())]);
            b.tool_id = Some(id.clone());
            blocks.push(b);
        }
    }
    if role == Role::Assistant {
        match obj.get("tool_calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                for (ci, call) in calls.iter().enumerate() {
                    let id = call.get("id").and_then(Value::as_str).ok_or_else(|| {
                        Error::validation("invalid_tool_call", format!("message {index}: tool call {ci} has no `id`"))
                            .with("messageIndex", index as u64)
                    })?;
                    let func = call.get("function");
                    let name = func.and_then(|f| f.get("name")).and_then(Value::as_str).map(str::to_string);
                    let args = func.and_then(|f| f.get("arguments"));
                    let mut b = match args {
                        Some(Value::String(a)) => Block::text_at(
                            BlockKind::ToolCall,
                            a.clone(),
                            vec![
                                Seg::Key("tool_calls".into()),
                                Seg::Index(ci),
                                Seg::Key("function".into()),
                                Seg::Key("arguments".into()),
                            ],
                            Encoding::Str,
                        ),
                        _ => Block::opaque(BlockKind::ToolCall, vec![Seg::Key("tool_calls".into()), Seg::Index(ci)]),
                    };
                    b.editable = false;
                    b.tool_id = Some(id.to_string());
                    b.tool_name = name;
                    blocks.push(b);
                }
            }
            Some(_) => {
                return Err(Error::validation("invalid_tool_call", format!("message {index}: `tool_calls` must be an array"))
                    .with("messageIndex", index as u64))
            }
        }
        if let Some(fc) = obj.get("function_call").and_then(Value::as_object) {
            let name = fc.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let mut b = Block::opaque(BlockKind::ToolCall, vec![Seg::Key("function_call".into())]);
            b.text = std::sync::Arc::new(fc.get("arguments").and_then(Value::as_str).unwrap_or("").to_string());
            b.tool_id = Some(format!("function:{name}"));
            b.tool_name = Some(name);
            blocks.push(b);
        }
    }
    if role_str == "function" {
        let name = obj.get("name").and_then(Value::as_str).map(str::to_string);
        for b in blocks.iter_mut() {
            b.tool_name = name.clone();
        }
    }
    Ok(Message { role, blocks, raw, origin: Origin::List, modified: false, synthetic: false, frozen: false })
}

pub(crate) fn write(conv: &Conversation) -> Value {
    join_body(&conv.body, "messages", conv.messages_value())
}

pub(crate) fn text_message(role: Role, text: &str) -> Message {
    let role_name = match role {
        Role::Tool => "user",
        r => r.as_str(),
    };
    let mut raw = Map::new();
    raw.insert("role".into(), Value::from(role_name));
    raw.insert("content".into(), Value::from(text));
    Message {
        role: if role == Role::Tool { Role::User } else { role },
        blocks: vec![Block::text_at(BlockKind::Text, text.to_string(), vec![Seg::Key("content".into())], Encoding::Str)],
        raw: Value::Object(raw),
        origin: Origin::List,
        modified: true,
        synthetic: true,
        frozen: false,
    }
}
