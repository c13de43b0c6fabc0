//! Time, read through one seam. `std::time::Instant::now()` panics on `wasm32-unknown-unknown`,
//! so in wasm the host's `performance.now()` (or `Date.now()` where there is no `performance`)
//! is used instead.

/// Milliseconds from an arbitrary, monotonic-where-possible origin.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = ORIGIN.get_or_init(Instant::now);
    origin.elapsed().as_secs_f64() * 1000.0
}

#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    use wasm_bindgen::JsCast;
    // Workers freeze performance.now() between I/O, which is fine: it never goes backwards.
    let global = js_sys::global();
    if let Ok(perf) = js_sys::Reflect::get(&global, &"performance".into()) {
        if let Some(perf) = perf.dyn_ref::<js_sys::Object>() {
            if let Ok(now) = js_sys::Reflect::get(perf, &"now".into()) {
                if let Some(f) = now.dyn_ref::<js_sys::Function>() {
                    if let Ok(v) = f.call0(perf) {
                        if let Some(ms) = v.as_f64() {
                            return ms;
                        }
                    }
                }
            }
        }
    }
    js_sys::Date::now()
}

/// Wall-clock milliseconds since the Unix epoch (for TTLs and timestamps).
#[cfg(not(target_arch = "wasm32"))]
pub fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

#[cfg(target_arch = "wasm32")]
pub fn unix_ms() -> f64 {
    js_sys::Date::now()
}

/// Measures one span of work.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(f64);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(now_ms())
    }
    pub fn elapsed_ms(&self) -> f64 {
        (now_ms() - self.0).max(0.0)
    }
}
