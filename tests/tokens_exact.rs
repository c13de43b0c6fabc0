//! Our token counter against the reference, tiktoken-rs 0.12: pretokenizer splits equal
//! fancy-regex's matches of tiktoken-rs's patterns, and counts equal `count_ordinary`, for both
//! encodings, on every text file of the repository, on generated strings mixing scripts, cases,
//! marks, digits, punctuation, whitespace, contractions and emoji, and on adversarial runs.

#![allow(clippy::expect_used, clippy::panic)]

use headroom::tokens::pretokenize;
use headroom::Encoding;
use std::path::Path;

/// tiktoken-rs 0.12's cl100k_base pattern (private in that crate; copied verbatim).
const CL100K_PAT: &str = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

struct Reference {
    enc: Encoding,
    bpe: &'static tiktoken_rs::CoreBPE,
    pattern: fancy_regex::Regex,
}

fn references() -> Vec<Reference> {
    vec![
        Reference {
            enc: Encoding::O200kBase,
            bpe: tiktoken_rs::o200k_base_singleton(),
            pattern: fancy_regex::Regex::new(tiktoken_rs::O200K_BASE_PAT_STR).expect("o200k pattern"),
        },
        Reference {
            enc: Encoding::Cl100kBase,
            bpe: tiktoken_rs::cl100k_base_singleton(),
            pattern: fancy_regex::Regex::new(CL100K_PAT).expect("cl100k pattern"),
        },
    ]
}

/// Asserts splits and counts equal the reference on `text`.
fn check(r: &Reference, text: &str, what: &str) {
    let ours: Vec<&str> = pretokenize::split(r.enc, text).collect();
    let theirs: Vec<&str> = r.pattern.find_iter(text).map(|m| m.expect("regex match").as_str()).collect();
    if ours != theirs {
        let at = ours.iter().zip(&theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
        let lo = at.saturating_sub(2);
        panic!(
            "{} splits differ on {what} at piece {at}: ours {:?} theirs {:?}",
            r.enc.as_str(),
            &ours[lo..(at + 3).min(ours.len())],
            &theirs[lo..(at + 3).min(theirs.len())]
        );
    }
    assert_eq!(r.enc.count_uncached(text), r.bpe.count_ordinary(text), "{} count of {what}", r.enc.as_str());
}

fn text_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(name.as_str(), ".git" | "target" | "node_modules" | "pkg" | ".tools" | "fuzz-target") {
                text_files(&path, out);
            }
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            if text.len() <= 4_000_000 {
                out.push((path.display().to_string(), text));
            }
        }
    }
}

#[test]
fn every_repository_file_counts_like_tiktoken() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    text_files(root, &mut files);
    let fixtures = files.iter().filter(|(p, _)| p.contains("tests/fixtures")).count();
    assert!(files.len() > 100 && fixtures > 5, "found {} files, {fixtures} fixtures", files.len());
    for r in references() {
        for (path, text) in &files {
            check(&r, text, path);
        }
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const ATOMS: &[&str] = &[
    // ASCII words in every case, and contractions in mixed case (incl. U+017F long s).
    "hello", "Hello", "HELLO", "hELLo", "a", "I", "x", "don", "'s", "'S", "'t", "'T", "'re", "'RE", "'rE", "'ve",
    "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'\u{17F}", "'", "''", "'x", "'r", "'v", "'l",
    // Digits and numbers of other scripts (Nd, Nl, No).
    "0", "7", "12", "123", "4567", "٣٤", "௫", "½", "²", "Ⅻ", "①", "𝟘",
    // Punctuation and symbols, slashes, quotes, operators.
    ".", ",", "!", "?", "...", "/", "//", "\\", "-", "_", "(", ")", "{", "}", "[", "]", "<", ">", "=", "==", "=>",
    "\"", "`", "~", "@", "#", "$", "%", "^", "&", "*", "+", "|", ";", ":", "«", "»", "—", "…", "€", "©", "°",
    // Whitespace of every kind.
    " ", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\r\n\r\n", "\u{a0}", "\u{3000}", "\u{2028}",
    "\u{2029}", "\u{85}", "\u{b}", "\u{c}", "\u{2003}", "\u{200b}", "\u{feff}", " \n ", "\n \n",
    // Scripts: Latin accents, Greek, Cyrillic, Arabic, Hebrew, Devanagari (with marks), Thai,
    // CJK, kana, Hangul.
    "café", "naïve", "ÉCOLE", "Straße", "ǅ", "ǈa", "ʰ", "ª", "ΑΒΓ", "αβγ", "Привет", "МИР", "مرحبا", "שלום",
    "नमस्ते", "हिन्दी", "สวัสดี", "中文", "漢字測試", "ひらがな", "カタカナ", "한국어", "가",
    // Lone and stacked combining marks, enclosing marks, variation selectors.
    "\u{301}", "\u{308}\u{301}", "e\u{301}", "E\u{301}", "\u{20dd}", "\u{fe0f}", "\u{93e}", "\u{94d}",
    // Emoji: modifiers, ZWJ sequences, flags, keycaps.
    "👍", "👍🏽", "👨\u{200d}👩\u{200d}👧", "🇺🇸", "1\u{fe0f}\u{20e3}", "🤖", "✅",
    // Special-token spellings count as text.
    "<|endoftext|>", "<|fim_prefix|>",
];

fn random_text(rng: &mut Rng) -> String {
    let mut s = String::new();
    let atoms = 1 + rng.below(40);
    for _ in 0..atoms {
        match rng.below(20) {
            0 => {
                // Any valid codepoint, including unassigned and private-use ones.
                let c = loop {
                    if let Some(c) = char::from_u32(rng.below(0x11_0000) as u32) {
                        break c;
                    }
                };
                s.push(c);
            }
            1 => {
                // Any BMP codepoint below the surrogates (dense in letters and marks).
                if let Some(c) = char::from_u32(0x80 + rng.below(0xD000) as u32) {
                    s.push(c);
                }
            }
            _ => s.push_str(rng.pick(ATOMS)),
        }
    }
    s
}

#[test]
fn generated_strings_count_like_tiktoken() {
    let refs = references();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for i in 0..6000 {
        let text = random_text(&mut rng);
        for r in &refs {
            check(r, &text, &format!("generated string {i} {text:?}"));
        }
    }
}

#[test]
fn adversarial_strings_count_like_tiktoken() {
    let refs = references();
    let mut cases: Vec<String> = vec![
        "a".repeat(20_000),
        "ab".repeat(5_000),
        "aA".repeat(3_000),
        "A".repeat(5_000),
        " ".repeat(10_000),
        " ".repeat(10_000) + "x",
        "\n".repeat(5_000),
        "\r\n".repeat(3_000),
        " \n".repeat(3_000) + "  ",
        "\u{a0}".repeat(3_000),
        "\u{3000}".repeat(2_000) + "a",
        "1".repeat(10_000),
        "!".repeat(10_000),
        "/".repeat(5_000) + "\n\n/",
        "e\u{301}".repeat(3_000),
        "\u{301}".repeat(5_000),
        "中".repeat(5_000),
        "👍🏽".repeat(1_000),
        "'s".repeat(3_000),
        "A'S".repeat(2_000),
    ];
    // A long run of random lowercase letters without spaces.
    let mut rng = Rng(42);
    cases.push((0..20_000).map(|_| (b'a' + rng.below(26) as u8) as char).collect());
    // Long runs of random ATOMS without whitespace atoms.
    let dense: Vec<&str> = ATOMS.iter().copied().filter(|a| !a.chars().any(char::is_whitespace)).collect();
    for _ in 0..4 {
        cases.push((0..3_000).map(|_| rng.pick(&dense)).collect());
    }
    for r in &refs {
        for (i, text) in cases.iter().enumerate() {
            check(r, text, &format!("adversarial case {i}"));
        }
    }
}

#[test]
fn vocabulary_round_trips_through_the_reference() {
    for r in references() {
        assert!(r.enc.vocab_size() > 100_000);
        for rank in (0..r.enc.vocab_size() as u32).step_by(97) {
            assert_eq!(r.enc.token_bytes(rank), r.bpe.decode_bytes(&[rank]).expect("rank decodes").as_slice());
        }
        assert!(r.enc.token_bytes(r.enc.vocab_size() as u32).is_empty());
    }
}
