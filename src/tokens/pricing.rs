//! Per-model list prices (USD per million tokens) for `simulate()`'s cost estimates, matched by
//! the longest model-name prefix like the model table, and overridable per instance with the
//! config's `pricing`.
//!
//! The built-in table holds list prices as of 2026-11, verify before relying on them: providers
//! change prices, add tiers (long-context surcharges, batch discounts, cache-write premiums) and
//! rename models, and none of that is modelled here. The estimates are for comparing plans, not
//! for billing.

use crate::config::PriceConfig;
use std::collections::BTreeMap;

/// Prices of one model, USD per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: f64,
    pub output: f64,
}

/// (prefix, input, cached input, output). Longest matching prefix wins; a family prefix
/// (`claude`, `gemini`) is the fallback for models the table does not name.
const PRICES: &[(&str, f64, f64, f64)] = &[
    // OpenAI
    ("gpt-5", 1.25, 0.125, 10.0),
    ("gpt-5-mini", 0.25, 0.025, 2.0),
    ("gpt-5-nano", 0.05, 0.005, 0.40),
    ("gpt-4.1", 2.0, 0.50, 8.0),
    ("gpt-4.1-mini", 0.40, 0.10, 1.60),
    ("gpt-4.1-nano", 0.10, 0.025, 0.40),
    ("gpt-4o", 2.50, 1.25, 10.0),
    ("chatgpt-4o", 5.0, 5.0, 15.0),
    ("gpt-4o-mini", 0.15, 0.075, 0.60),
    ("o1", 15.0, 7.50, 60.0),
    ("o1-mini", 1.10, 0.55, 4.40),
    ("o3", 2.0, 0.50, 8.0),
    ("o3-mini", 1.10, 0.55, 4.40),
    ("o4-mini", 1.10, 0.275, 4.40),
    ("gpt-4-turbo", 10.0, 10.0, 30.0),
    ("gpt-4", 30.0, 30.0, 60.0),
    ("gpt-3.5-turbo", 0.50, 0.50, 1.50),
    // Anthropic (cached input = cache reads; cache writes cost more and are not modelled)
    ("claude", 3.0, 0.30, 15.0),
    ("claude-opus-4", 15.0, 1.50, 75.0),
    ("claude-opus-4-5", 5.0, 0.50, 25.0),
    ("claude-sonnet-4", 3.0, 0.30, 15.0),
    ("claude-haiku-4", 1.0, 0.10, 5.0),
    ("claude-3-7-sonnet", 3.0, 0.30, 15.0),
    ("claude-3-5-sonnet", 3.0, 0.30, 15.0),
    ("claude-3-5-haiku", 0.80, 0.08, 4.0),
    ("claude-3-haiku", 0.25, 0.03, 1.25),
    ("claude-3-opus", 15.0, 1.50, 75.0),
    // Google (prompts up to 200k tokens where the price is tiered)
    ("gemini", 0.30, 0.075, 2.50),
    ("gemini-3-pro", 2.0, 0.20, 12.0),
    ("gemini-2.5-pro", 1.25, 0.31, 10.0),
    ("gemini-2.5-flash", 0.30, 0.075, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.025, 0.40),
    ("gemini-2.0-flash", 0.10, 0.025, 0.40),
    ("gemini-2.0-flash-lite", 0.075, 0.075, 0.30),
    ("gemini-1.5-pro", 1.25, 0.3125, 5.0),
    ("gemini-1.5-flash", 0.075, 0.01875, 0.30),
];

/// The price of `model`: the config's `pricing` overrides first (longest prefix), then the table.
/// `None` for a model neither knows.
pub fn price_for(model: &str, overrides: &BTreeMap<String, PriceConfig>) -> Option<Price> {
    let name = model.trim().trim_start_matches("models/");
    let lower = name.to_ascii_lowercase();
    let lower = lower.rsplit('/').next().unwrap_or(&lower).to_string();
    let custom = overrides
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix.as_str()) || lower.starts_with(&prefix.to_ascii_lowercase()))
        .max_by_key(|(prefix, _)| prefix.len());
    if let Some((_, p)) = custom {
        return Some(Price { input: p.input, cached_input: p.cached_input.unwrap_or(p.input), output: p.output });
    }
    PRICES
        .iter()
        .filter(|(prefix, ..)| lower.starts_with(prefix))
        .max_by_key(|(prefix, ..)| prefix.len())
        .map(|&(_, input, cached_input, output)| Price { input, cached_input, output })
}

/// USD for `tokens` input tokens at `per_million`.
pub fn usd(tokens: u64, per_million: f64) -> f64 {
    tokens as f64 * per_million / 1_000_000.0
}

/// The human form the seed's `SimulationResult.estimated_savings` uses: `"$0.0042 per request"`.
pub fn format_per_request(usd: f64) -> String {
    format!("${usd:.4} per request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_and_overrides() {
        let none = BTreeMap::new();
        assert_eq!(price_for("gpt-4o-mini-2024-07-18", &none).map(|p| p.input), Some(0.15));
        assert_eq!(price_for("gpt-4o", &none).map(|p| p.input), Some(2.50));
        assert_eq!(price_for("claude-sonnet-4-5", &none).map(|p| p.output), Some(15.0));
        assert_eq!(price_for("claude-opus-4-5-20251101", &none).map(|p| p.input), Some(5.0));
        assert_eq!(price_for("models/gemini-2.5-flash-lite", &none).map(|p| p.input), Some(0.10));
        assert_eq!(price_for("llama-3", &none), None);
        let mut o = BTreeMap::new();
        o.insert("gpt-4o".to_string(), PriceConfig { input: 1.0, cached_input: None, output: 2.0 });
        assert_eq!(price_for("gpt-4o-mini", &o), Some(Price { input: 1.0, cached_input: 1.0, output: 2.0 }));
        assert_eq!(format_per_request(usd(1000, 4.2)), "$0.0042 per request");
    }
}
