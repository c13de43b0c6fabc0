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
    thread_local! {
        /// `performance` and its `now`, looked up once per instance (a lookup through the global
        /// object on every call cost ~2% of a 50 KB request's time).
        static NOW: std::cell::OnceCell<Option<(js_sys::Object, js_sys::Function)>> = const { std::cell::OnceCell::new() };
    }
    let lookup = || {
        let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok()?.dyn_into::<js_sys::Object>().ok()?;
        let now = js_sys::Reflect::get(&perf, &"now".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        Some((perf, now))
    };
    // Workers freeze performance.now() between I/O, which is fine: it never goes backwards.
    NOW.with(|cell| cell.get_or_init(lookup).as_ref().and_then(|(perf, now)| now.call0(perf).ok()?.as_f64()))
        .unwrap_or_else(js_sys::Date::now)
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
