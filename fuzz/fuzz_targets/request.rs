//! Any bytes as a request, in each provider format and detected: never a panic; a result never
//! has more tokens than its input; compressing the output again changes nothing.
#![no_main]
use headroom::{Config, Headroom, Provider, RequestOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut hr = Headroom::new(Config::default()).expect("default config");
    for provider in [None, Some(Provider::Openai), Some(Provider::Anthropic), Some(Provider::Google)] {
        let opts = RequestOptions { provider, ..Default::default() };
        if let Ok(r) = hr.compress(text, &opts) {
            assert!(r.tokens_after <= r.tokens_before + 64, "tokens grew: {} -> {}", r.tokens_before, r.tokens_after);
            let out = r.request.as_ref().unwrap_or(&r.messages).to_string();
            let again = hr.compress(&out, &opts).expect("our own output parses");
            assert_eq!(again.request.as_ref().unwrap_or(&again.messages), r.request.as_ref().unwrap_or(&r.messages), "not idempotent");
            for h in &r.markers {
                assert!(hr.retrieve(h).expect("valid hash").is_some(), "marker {h} not retrievable");
            }
        }
    }
});
