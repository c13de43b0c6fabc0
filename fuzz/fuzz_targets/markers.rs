//! Marker parsing, hash validation, table decoding and `headroom_retrieve` calls on any input:
//! never a panic; every hash `find_markers` returns is well-formed; a stored original comes back
//! exactly; a table that decodes re-encodes to equal JSON.
#![no_main]
use headroom::{decode_table, find_markers, marker, Headroom};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for h in find_markers(s) {
        assert!(h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "bad hash {h}");
    }
    let hr = Headroom::new(Default::default()).expect("engine");
    let _ = hr.retrieve(s);
    // A marker built around any summary is found again, with its hash.
    let h = hr.store().put(s);
    let m = marker(s, &h);
    assert!(find_markers(&m).contains(&h), "marker not found: {m}");
    assert_eq!(hr.retrieve(&h).expect("hash").as_deref(), Some(s));
    if let Ok(v) = decode_table(s) {
        let again = headroom::transforms::smart_crusher::render_tables(&v, &Default::default());
        if let Some(t) = again {
            assert_eq!(decode_table(&t).expect("our own table decodes"), v, "table round trip");
        }
    }
    if let Ok(call) = serde_json::from_str(s) {
        let _ = hr.answer_retrieve_call(&call);
    }
});
