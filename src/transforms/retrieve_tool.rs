//! Retrieve-tool injection: whenever a marker was emitted, the request carries the
//! `headroom_retrieve` tool, in every provider format, so a marker is never a dead end.

use super::{Context, Transform};
use crate::ccr::{retrieve_tool, RETRIEVE_TOOL_NAME};
use crate::config::{InjectTool, Provider};
use crate::error::Result;
use crate::message::Conversation;
use serde_json::{Map, Value};

pub struct RetrieveTool;

/// Whether `body` already declares the retrieve tool.
pub fn body_has_tool(body: &Map<String, Value>) -> bool {
    body.get("tools").and_then(Value::as_array).is_some_and(|t| has_tool(t))
}

fn has_tool(tools: &[Value]) -> bool {
    tools.iter().any(|t| {
        t.get("name").and_then(Value::as_str) == Some(RETRIEVE_TOOL_NAME)
            || t.pointer("/function/name").and_then(Value::as_str) == Some(RETRIEVE_TOOL_NAME)
            || t.get("functionDeclarations")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|f| f.get("name").and_then(Value::as_str) == Some(RETRIEVE_TOOL_NAME)))
    })
}

impl Transform for RetrieveTool {
    fn name(&self) -> &'static str {
        "retrieve_tool"
    }

    fn always_run(&self) -> bool {
        true
    }

    fn apply(&self, conv: &mut Conversation, ctx: &mut Context<'_>) -> Result<bool> {
        let wanted = match ctx.config.ccr.inject_tool {
            InjectTool::Never => false,
            InjectTool::Always => true,
            InjectTool::Auto => !ctx.markers.is_empty(),
        };
        if !wanted {
            return Ok(false);
        }
        let provider = conv.provider;
        let Some(body) = conv.body.as_mut() else {
            // A bare messages array has no `tools`: the result carries the tool to add.
            ctx.tools_to_add.push(retrieve_tool(provider));
            return Ok(false);
        };
        let tools = body.entry("tools").or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(list) = tools else {
            ctx.warnings.push("`tools` is not an array; the retrieve tool was not added".into());
            return Ok(false);
        };
        if has_tool(list) {
            return Ok(false);
        }
        match provider {
            Provider::Google => {
                // Gemini groups declarations inside one tool object.
                let group = list.iter_mut().find(|t| t.get("functionDeclarations").is_some_and(Value::is_array));
                match group.and_then(|g| g.get_mut("functionDeclarations")).and_then(Value::as_array_mut) {
                    Some(decls) => decls.push(retrieve_tool(provider)),
                    None => {
                        let mut g = Map::new();
                        g.insert("functionDeclarations".into(), Value::Array(vec![retrieve_tool(provider)]));
                        list.push(Value::Object(g));
                    }
                }
            }
            _ => list.push(retrieve_tool(provider)),
        }
        Ok(true)
    }
}
