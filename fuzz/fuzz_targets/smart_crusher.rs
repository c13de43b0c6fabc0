//! Any bytes as a JSON tool output: never a panic, never more tokens, lossless outputs decode to
//! the input, markers retrieve the exact original.
#![no_main]
use headroom::{decode_table, Config, Encoding, Headroom, RequestOptions};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(output) = std::str::from_utf8(data) else { return };
    let req = json!([
        {"role": "user", "content": "find the failed id 42"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "t", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": output},
    ])
    .to_string();
    for cfg in [
        r#"{"smartCrusher":{"minTokensToCrush":0},"contentRouter":{"minTokens":0}}"#,
        r#"{"smartCrusher":{"minTokensToCrush":0,"losslessOnly":true},"contentRouter":{"minTokens":0}}"#,
    ] {
        let mut hr = Headroom::new(Config::from_json(cfg).expect("config")).expect("engine");
        let r = hr.compress(&req, &RequestOptions::default()).expect("a valid request");
        let out = r.messages[2]["content"].as_str().unwrap_or_default().to_string();
        assert!(Encoding::O200kBase.count(&out) <= Encoding::O200kBase.count(output), "tool output grew");
        if r.markers.is_empty() && out != output {
            if let Ok(original) = serde_json::from_str::<Value>(output) {
                let back = if out.starts_with("#headroom-table") { decode_table(&out).expect("decodes") } else { serde_json::from_str(&out).expect("json") };
                let original = match original {
                    Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                    v => v,
                };
                assert_eq!(back, original, "lossless output must decode to the input");
            }
        }
        for h in &r.markers {
            assert_eq!(hr.retrieve(h).expect("hash").as_deref(), Some(output));
        }
    }
});
