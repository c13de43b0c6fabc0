//! SHA-256 (CCR hashes, CacheAligner's prefix hashes), computed through one seam. Natively
//! `sha2` uses the CPU's SHA instructions where there are any. In wasm there are none: hashing a
//! 180 KB tool output was ~0.8 ms in software (about a tenth of its whole compression; Node's
//! digest takes ~0.1 ms), so where the host offers a native digest the wasm build hands it large
//! inputs. The Node entry (pkg-template/node.js) offers `node:crypto`'s
//! under the global symbol `Symbol.for("headroom-wasm.sha256")`: a function from a Uint8Array to
//! the lowercase hex digest. Anything else there, a throw, or an answer that is not 64 lowercase
//! hex digits means the software digest is used: the host can make hashing faster, never
//! different.

use sha2::{Digest, Sha256};

/// Inputs at least this long go to the host's digest (below it, crossing to JS costs more than
/// it saves).
#[cfg(target_arch = "wasm32")]
const HOST_MIN_BYTES: usize = 4096;

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    #[cfg(target_arch = "wasm32")]
    if bytes.len() >= HOST_MIN_BYTES {
        if let Some(hex) = host::sha256_hex(bytes) {
            return hex;
        }
    }
    software_hex(bytes)
}

/// [`sha256_hex`] without the host's digest.
pub fn software_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(any(target_arch = "wasm32", test))]
fn is_digest_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(target_arch = "wasm32")]
mod host {
    use wasm_bindgen::{JsCast, JsValue};

    thread_local! {
        /// The host's function, looked up once per instance (a re-instantiated module looks again).
        static HOST: std::cell::OnceCell<Option<js_sys::Function>> = const { std::cell::OnceCell::new() };
    }

    fn lookup() -> Option<js_sys::Function> {
        let key = js_sys::Symbol::for_("headroom-wasm.sha256");
        js_sys::Reflect::get(&js_sys::global(), &key).ok()?.dyn_into::<js_sys::Function>().ok()
    }

    pub(super) fn sha256_hex(bytes: &[u8]) -> Option<String> {
        let f = HOST.with(|h| h.get_or_init(lookup).clone())?;
        // A copy into the JS heap, not a view on wasm memory: nothing can move it mid-call.
        let arg = js_sys::Uint8Array::from(bytes);
        let hex = f.call1(&JsValue::NULL, &arg).ok()?.as_string()?;
        super::is_digest_hex(&hex).then_some(hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(software_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(software_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b"abc"), software_hex(b"abc"));
        assert!(is_digest_hex(&software_hex(&[7u8; 5000])));
        assert!(!is_digest_hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        assert!(!is_digest_hex("e3b0"));
    }
}
