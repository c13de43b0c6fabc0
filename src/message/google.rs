//! Google Gemini `generateContent`: `contents` of `parts` (`text`, `inlineData`, `functionCall`,
//! `functionResponse`...), roles `user`/`model`, and a top-level `systemInstruction`.
//! Function calls carry no id unless the caller set one; calls and responses are then paired by
//! name, in order, the way Gemini pairs them.

use super::*;
use std::collections::HashMap;

pub(crate) fn parse(request: Value) -> Result<Conversation> {
    let (body, list) = split_body(request, "contents")?;
    let model = body.as_ref().and_then(|b| b.get("model")).and_then(Value::as_str).map(str::to_string);
    let mut messages = Vec::with_capacity(list.len() + 1);
    if let Some(sys) = body.as_ref().and_then(|b| b.get("systemInstruction").or_else(|| b.get("system_instruction"))) {
        let mut m = parse_content(sys.clone(), 0, &mut Pairing::default(), true)?;
        m.role = Role::System;
        m.origin = Origin::SystemField;
        messages.push(m);
    }
    let mut pairing = Pairing::default();
    for (i, raw) in list.into_iter().enumerate() {
        messages.push(parse_content(raw, i, &mut pairing, false)?);
    }
    let mut conv = Conversation { provider: Provider::Google, body, messages, model };
    conv.link_tool_names();
    Ok(conv)
}

/// Synthesises ids for id-less calls: the k-th call of `name` pairs with the k-th response.
#[derive(Default)]
struct Pairing {
    calls: HashMap<String, usize>,
    responses: HashMap<String, usize>,
}

fn parse_content(raw: Value, index: usize, pairing: &mut Pairing, system: bool) -> Result<Message> {
    let obj = expect_object(&raw, index)?;
    let role = match obj.get("role").and_then(Value::as_str) {
        None if system => Role::System,
        None | Some("user") => Role::User,
        Some("model") => Role::Assistant,
        Some("function") | Some("tool") => Role::User,
        Some("system") if system => Role::System,
        Some(other) => return Err(unknown_role(other, index, Provider::Google)),
    };
    let parts = match obj.get("parts") {
        Some(Value::Array(p)) => p,
        _ => {
            return Err(Error::validation("invalid_content", format!("content {index} has no `parts` array"))
                .with("messageIndex", index as u64))
        }
    };
    let mut blocks = Vec::new();
    for (pi, part) in parts.iter().enumerate() {
        let base = vec![Seg::Key("parts".into()), Seg::Index(pi)];
        let at = |k: &[&str]| {
            let mut p = base.clone();
            p.extend(k.iter().map(|s| Seg::Key(s.to_string())));
            p
        };
        if let Some(Value::String(t)) = part.get("text") {
            blocks.push(Block::text_at(BlockKind::Text, t.clone(), at(&["text"]), Encoding::Str));
        } else if let Some(fc) = part.get("functionCall") {
            let name = fc.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let id = match fc.get("id").and_then(Value::as_str) {
                Some(id) => id.to_string(),
                None => {
                    let k = pairing.calls.entry(name.clone()).or_insert(0);
                    *k += 1;
                    format!("{name}#{k}")
                }
            };
            let args = fc.get("args").map(|v| v.to_string()).unwrap_or_default();
            let mut b = Block::text_at(BlockKind::ToolCall, args, at(&["functionCall", "args"]), Encoding::Json);
            b.editable = false;
            b.tool_id = Some(id);
            b.tool_name = Some(name);
            blocks.push(b);
        } else if let Some(fr) = part.get("functionResponse") {
            let name = fr.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let id = match fr.get("id").and_then(Value::as_str) {
                Some(id) => id.to_string(),
                None => {
                    let k = pairing.responses.entry(name.clone()).or_insert(0);
                    *k += 1;
                    format!("{name}#{k}")
                }
            };
            let response = fr.get("response").cloned().unwrap_or(Value::Null);
            // A response that is {"output": "<text>"} (or "content"/"result") is that text; any other
            // object is its JSON.
            let (text, path, enc) = match text_field(&response) {
                Some((key, t)) => (t, at(&["functionResponse", "response", key]), Encoding::Str),
                None => (response.to_string(), at(&["functionResponse", "response"]), Encoding::Json),
            };
            let mut b = Block::text_at(BlockKind::ToolResult, text, path, enc);
            b.tool_id = Some(id);
            b.tool_name = Some(name);
            b.is_error = response.get("error").is_some();
            blocks.push(b);
        } else if part.get("inlineData").is_some() || part.get("fileData").is_some() {
            blocks.push(Block::opaque(BlockKind::Image, base.clone()));
        } else {
            blocks.push(Block::opaque(BlockKind::Other, base.clone()));
        }
    }
    Ok(Message { role, blocks, raw, origin: Origin::List, modified: false, synthetic: false, frozen: false })
}

fn text_field(response: &Value) -> Option<(&'static str, String)> {
    let obj = response.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    for key in ["output", "content", "result"] {
        if let Some(Value::String(s)) = obj.get(key) {
            return Some((key, s.clone()));
        }
    }
    None
}

pub(crate) fn write(conv: &Conversation) -> Value {
    let mut out = join_body(&conv.body, "contents", conv.messages_value());
    if let Value::Object(body) = &mut out {
        if let Some(sys) = conv.messages.iter().find(|m| m.origin == Origin::SystemField) {
            let key = if body.contains_key("system_instruction") { "system_instruction" } else { "systemInstruction" };
            body.insert(key.into(), sys.to_value());
        }
    }
    out
}

pub(crate) fn text_message(role: Role, text: &str) -> Message {
    let (role, role_name) = match role {
        Role::Assistant => (Role::Assistant, "model"),
        _ => (Role::User, "user"),
    };
    let mut part = Map::new();
    part.insert("text".into(), Value::from(text));
    let mut raw = Map::new();
    raw.insert("role".into(), Value::from(role_name));
    raw.insert("parts".into(), Value::Array(vec![Value::Object(part)]));
    Message {
        role,
        blocks: vec![Block::text_at(
            BlockKind::Text,
            text.to_string(),
            vec![Seg::Key("parts".into()), Seg::Index(0), Seg::Key("text".into())],
            Encoding::Str,
        )],
        raw: Value::Object(raw),
        origin: Origin::List,
        modified: true,
        synthetic: true,
        frozen: false,
    }
}
