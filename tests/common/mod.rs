// Helpers shared by integration tests (`mod common;`). Cargo does not build this folder as a test.

/// tract's logits against ONNX Runtime's recorded ones (`samples`: `[{text, ids, logits}]`, as
/// models/fixtures/*.py write them): the token ids must match exactly; returns the largest
/// absolute logit difference. `what` names the model in failure messages.
#[cfg(feature = "ml")]
pub fn largest_logit_difference(model: &headroom::ml::MlModel, samples: &[serde_json::Value], what: &str) -> f32 {
    let mut worst = 0f32;
    for s in samples {
        let text = s["text"].as_str().unwrap();
        let ids: Vec<i64> = s["ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(model.encode_with_specials(text).unwrap(), ids, "{what}: token ids of {text:?}");
        let got = model.logits(&ids).unwrap();
        let want = s["logits"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{what}: logits of {text:?}");
        for (g, w) in got.iter().zip(want) {
            for c in 0..2 {
                worst = worst.max((g[c] - w[c].as_f64().unwrap() as f32).abs());
            }
        }
    }
    worst
}
