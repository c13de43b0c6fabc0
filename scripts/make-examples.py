#!/usr/bin/env python3
"""Regenerates examples/: request bodies that each carry a large, real tool output captured on a
development machine (cargo metadata, grep over crate sources, a cargo install log, a unified diff
between two releases of serde_json), plus a long chat and a system prompt with a date, both built
from this repository's own files. Run from the repo root; needs cargo and the crates in the
local registry. The outputs are committed, so `make demo` needs none of this."""
import glob, json, os, subprocess, sys

REG = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/"))[0]
OUT = "examples"

def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw).stdout

def write(name, body):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(body, f, ensure_ascii=False, indent=1)
        f.write("\n")

def json_api():
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--offline"]))
    keep = ["name", "version", "id", "license", "description", "source", "edition", "rust_version", "repository"]
    pkgs = [{k: p.get(k) for k in keep} | {"dependencies": len(p.get("dependencies", [])), "targets": len(p.get("targets", []))}
            for p in meta["packages"]]
    out = json.dumps({"packages": pkgs, "workspace_root": "/work/main", "version": 1})
    write("json_api.json", {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a build assistant for a Rust project."},
            {"role": "user", "content": "Which dependencies have no license recorded, and which version of serde_json do we use?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_meta", "type": "function",
              "function": {"name": "cargo_metadata", "arguments": "{\"format_version\":1}"}}]},
            {"role": "tool", "tool_call_id": "call_meta", "content": out},
        ],
        "tools": [{"type": "function", "function": {"name": "cargo_metadata", "description": "Run cargo metadata",
                   "parameters": {"type": "object", "properties": {"format_version": {"type": "integer"}}}}}],
    })

def grep_output():
    base = REG
    out = run(["grep", "-rn", "--include=*.rs", "unwrap()", "serde_json-1.0.149/src", "regex-1.13.1/src", "tiktoken-rs-0.12.1/src"], cwd=base)
    write("grep_output.json", {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a code reviewer.",
        "messages": [
            {"role": "user", "content": "Where does the deserializer call unwrap() in serde_json's de.rs?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_grep", "name": "grep",
              "input": {"pattern": "unwrap()", "path": "."}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_grep", "content": out}]},
        ],
        "tools": [{"name": "grep", "description": "Search files", "input_schema": {"type": "object",
                   "properties": {"pattern": {"type": "string"}, "path": {"type": "string"}}}}],
    })

def build_log(path):
    with open(path) as f:
        log = f.read()
    write("build_log.json", {
        "model": "gemini-2.0-flash",
        "contents": [
            {"role": "user", "parts": [{"text": "Did the wasm-bindgen-cli install succeed? Any warnings?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "read_log", "args": {"path": "/tmp/setup.log"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "read_log", "response": {"output": log}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "read_log", "parameters": {"type": "object",
                   "properties": {"path": {"type": "string"}}}}]}],
    })

def diff():
    out = run(["diff", "-ru", "serde_json-1.0.149/src", "serde_json-1.0.154/src"], cwd=REG)
    write("diff.json", {
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "Summarise what changed in serde_json's parser between 1.0.149 and 1.0.154."},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_diff", "type": "function",
              "function": {"name": "shell", "arguments": "{\"cmd\":\"diff -ru serde_json-1.0.149/src serde_json-1.0.154/src\"}"}}]},
            {"role": "tool", "tool_call_id": "call_diff", "content": out},
        ],
    })

def module_doc(path):
    """The //! doc comment of a Rust file, as one paragraph."""
    with open(path) as f:
        return " ".join(l[3:].strip() for l in f if l.startswith("//!")).strip()

def long_chat():
    # A review session that reads one engine module per turn. Model gpt-4 (8,192-token context)
    # so the chat is over its window and RollingWindow has to drop the oldest turns.
    files = ["src/clock.rs", "src/error.rs", "src/tokens/pricing.rs", "src/transforms/retrieve_tool.rs",
             "src/transforms/mod.rs", "src/ccr/mod.rs", "src/config.rs"]
    messages = [
        {"role": "system", "content": "You are a senior Rust reviewer on the headroom-wasm project. Read the files you are asked about with read_file and answer briefly."},
        {"role": "user", "content": "Let's review the engine one module at a time, looking for panics on wasm32 and unclear error handling."},
        {"role": "assistant", "content": "Sure. Name the first module and I will read it."},
    ]
    for i, path in enumerate(files):
        call = f"call_read_{i}"
        with open(path) as f:
            src = f.read()
        messages += [
            {"role": "user", "content": f"Next: {path}. What is its job, and does anything in it panic on wasm32?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": call, "type": "function",
              "function": {"name": "read_file", "arguments": json.dumps({"path": path})}}]},
            {"role": "tool", "tool_call_id": call, "content": src},
            {"role": "assistant", "content": f"{path}: {module_doc(path)} I see no unwrap() on input-dependent values in it; errors go through the crate's Error type."},
        ]
    messages.append({"role": "user", "content": "Thanks. Of everything we read, which module should get a property test first, and why?"})
    write("long_chat.json", {
        "model": "gpt-4",
        "messages": messages,
        "tools": [{"type": "function", "function": {"name": "read_file", "description": "Read a file of the repository",
                   "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}],
    })

def system_date():
    # The common agent pattern that defeats prompt caching: the date and a session id near the top
    # of an otherwise stable system prompt (cacheAligner detects it; mode "rewrite" fixes it).
    with open("ARCHITECTURE.md") as f:
        arch = f.read()
    system = ("You are a coding assistant working in the headroom-wasm repository.\n"
              "Today's date is 2025-11-21. The current time is 07:12 UTC.\n"
              "Session id: 5f0c9a2e-8d41-4b7a-9c3e-2a6f1d8b7e44.\n\n"
              "Answer questions about the code base using the architecture notes below. Prefer short answers "
              "that name the module and the function involved. If you are not sure, say so.\n\n" + arch)
    write("system_date.json", {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": system,
        "messages": [{"role": "user", "content": "Where is a request's nesting depth checked, and what error does a too-deep request get?"}],
    })

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    json_api(); grep_output(); diff(); long_chat(); system_date()
    build_log(sys.argv[1] if len(sys.argv) > 1 else "/tmp/setup.log")
