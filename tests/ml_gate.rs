// The `llmlingua` config is accepted only in builds with the `ml` feature (the JS entry
// `headroom-wasm/ml`); elsewhere it is a ConfigurationError that says where to go.

use headroom::{Config, ErrorKind};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
#[cfg(not(feature = "ml"))]
fn llmlingua_needs_the_ml_build() {
    for config in [r#"{"llmlingua": {}}"#, r#"{"llmlingua": {"enabled": false}}"#] {
        let e = Config::from_json(config).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Configuration);
        assert_eq!(e.code, "ml_not_built");
        assert!(e.message.contains("headroom-wasm/ml"), "{}", e.message);
    }
    assert!(Config::from_json("{}").is_ok());
}

#[test]
#[cfg(feature = "ml")]
fn llmlingua_config_is_accepted_and_checked() {
    let c = Config::from_json(r#"{"llmlingua": {"rate": 0.4, "codeRate": 0.8, "forceTokens": ["!"], "device": "cpu"}}"#).unwrap();
    let l = c.llmlingua.unwrap();
    assert!(l.enabled && l.rate == 0.4 && l.code_rate == Some(0.8) && l.force_reserve_digit);
    for bad in [r#"{"llmlingua": {"rate": 0}}"#, r#"{"llmlingua": {"textRate": 2}}"#, r#"{"llmlingua": {"device": "tpu"}}"#, r#"{"llmlingua": {"bogus": 1}}"#] {
        assert_eq!(Config::from_json(bad).unwrap_err().kind, ErrorKind::Configuration, "{bad}");
    }
    #[cfg(not(feature = "cuda"))]
    assert_eq!(Config::from_json(r#"{"llmlingua": {"device": "cuda"}}"#).unwrap_err().code, "cuda_not_built");
}
