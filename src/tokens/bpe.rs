//! Rank tables and byte-pair merging, counts only.
//!
//! A vocabulary is embedded as compact binary data (`data/*.bin`, generated from tiktoken-rs by
//! `generate.rs` and tested equal to it): the token count (u32 LE), one length byte per token,
//! then the tokens' bytes, all in rank order. At first use it is indexed by an open-addressing
//! hash table (one u32 per slot: a 14-bit hash tag and the 18-bit rank), which takes a few
//! milliseconds; nothing else is built.
//!
//! Merging is tiktoken's: repeatedly merge the adjacent pair whose bytes have the lowest rank
//! (the leftmost on ties) until no pair is in the vocabulary. Short pieces use tiktoken's
//! quadratic scan over a small vector (fastest when n is small); long ones a heap of candidate
//! pairs over a linked list of parts, O(n log n), which picks the same pair at every step.

use std::collections::BinaryHeap;

const RANK_BITS: u32 = 18;
const RANK_MASK: u32 = (1 << RANK_BITS) - 1;
const EMPTY: u32 = u32::MAX;
/// Pieces at least this long are merged with the heap.
const LARGE_PIECE: usize = 128;

/// Pieces up to this many bytes are cached by [`Vocab::count`].
const PIECE_MAX: usize = 24;
/// Entries of the piece cache (direct-mapped by hash).
const PIECE_CACHE: usize = 4096;

#[derive(Clone, Copy, Default)]
struct CacheEntry {
    hash: u64,
    len: u8,
    count: u8,
    bytes: [u8; PIECE_MAX],
}

/// Reusable working memory for counting with one encoding: the parts vector of the merge and a
/// cache of recent multi-token pieces (most recur: numbers, identifiers, paths).
#[derive(Default)]
pub(crate) struct Scratch {
    parts: Vec<(u32, u32)>,
    cache: Vec<CacheEntry>,
}

/// One encoding's rank table.
pub(crate) struct Vocab {
    bytes: &'static [u8],
    /// Start of each token in `bytes`, plus the end: `n + 1` entries.
    offsets: Vec<u32>,
    slots: Vec<u32>,
    shift: u32,
    /// Length of the longest token: longer keys are rejected without hashing.
    max_len: usize,
}

#[inline(always)]
fn u32_at(k: &[u8], i: usize) -> u64 {
    u32::from_le_bytes([k[i], k[i + 1], k[i + 2], k[i + 3]]) as u64
}

#[inline(always)]
fn u64_at(k: &[u8], i: usize) -> u64 {
    u64::from_le_bytes([k[i], k[i + 1], k[i + 2], k[i + 3], k[i + 4], k[i + 5], k[i + 6], k[i + 7]])
}

/// Keys of up to 16 bytes as two words that, with the length, determine every byte
/// (overlapping loads, no copies: small `copy_from_slice` calls and `memcmp` are slow in wasm).
#[inline(always)]
fn short_words(k: &[u8]) -> (u64, u64) {
    let n = k.len();
    match n {
        0 => (0, 0),
        1..=3 => ((k[0] as u64) | (k[n / 2] as u64) << 8 | (k[n - 1] as u64) << 16, 0),
        4..=8 => (u32_at(k, 0) | u32_at(k, n - 4) << 32, 0),
        _ => (u64_at(k, 0), u64_at(k, n - 8)),
    }
}

#[inline(always)]
fn hash(key: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (key.len() as u64).wrapping_mul(K);
    if key.len() <= 16 {
        let (a, b) = short_words(key);
        h = (h ^ a).wrapping_mul(K);
        h = (h.rotate_left(23) ^ b).wrapping_mul(K);
    } else {
        let mut i = 0;
        while i + 8 <= key.len() {
            h = (h.rotate_left(23) ^ u64_at(key, i)).wrapping_mul(K);
            i += 8;
        }
        h = (h.rotate_left(23) ^ u64_at(key, key.len() - 8)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// Byte equality without a `memcmp` call for the short keys that dominate.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && if a.len() <= 16 { short_words(a) == short_words(b) } else { a == b }
}

impl Vocab {
    /// Indexes embedded data. Malformed data (impossible for the committed files, which a test
    /// checks) yields a table that holds only its well-formed prefix.
    pub(crate) fn parse(data: &'static [u8]) -> Vocab {
        let n = data.get(..4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])) as usize;
        let n = n.min(RANK_MASK as usize).min(data.len().saturating_sub(4));
        let lens = data.get(4..4 + n).unwrap_or(&[]);
        let bytes = data.get(4 + n..).unwrap_or(&[]);
        let mut offsets = Vec::with_capacity(n + 1);
        let mut at = 0u32;
        offsets.push(0);
        for &l in lens {
            if (at + l as u32) as usize > bytes.len() {
                break;
            }
            at += l as u32;
            offsets.push(at);
        }
        let n = offsets.len() - 1;
        let bits = (2 * n.max(1)).next_power_of_two().trailing_zeros();
        let mask = (1usize << bits) - 1;
        let max_len = lens[..n].iter().copied().max().unwrap_or(0) as usize;
        let mut v = Vocab { bytes, offsets, slots: vec![EMPTY; mask + 1], shift: 64 - bits, max_len };
        for rank in 0..n as u32 {
            let h = hash(v.token(rank));
            let mut i = (h >> v.shift) as usize;
            while v.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            v.slots[i] = Self::tag(h) << RANK_BITS | rank;
        }
        v
    }

    #[inline(always)]
    fn tag(h: u64) -> u32 {
        (h as u32) >> RANK_BITS
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The bytes of token `rank` (empty if out of range).
    #[inline(always)]
    pub(crate) fn token(&self, rank: u32) -> &'static [u8] {
        let r = rank as usize;
        match (self.offsets.get(r), self.offsets.get(r + 1)) {
            (Some(&a), Some(&b)) => self.bytes.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The rank of `key`, if it is a token.
    #[inline]
    pub(crate) fn rank(&self, key: &[u8]) -> Option<u32> {
        if key.len() > self.max_len {
            return None;
        }
        self.rank_hashed(key, hash(key))
    }

    /// [`Vocab::rank`] with the key's hash already computed.
    #[inline]
    fn rank_hashed(&self, key: &[u8], h: u64) -> Option<u32> {
        let tag = Self::tag(h);
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        loop {
            let v = self.slots[i];
            if v == EMPTY {
                return None;
            }
            if v >> RANK_BITS == tag && same(self.token(v & RANK_MASK), key) {
                return Some(v & RANK_MASK);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    fn rank_or_max(&self, key: &[u8]) -> u32 {
        self.rank(key).unwrap_or(u32::MAX)
    }

    /// Number of tokens `piece` encodes to. Pieces of up to `PIECE_MAX` bytes go through
    /// `scratch`'s cache of recent pieces first (keyed by the full bytes, so exact): most pieces
    /// recur (words, numbers, identifiers), and a hit avoids the rank table's cache misses.
    #[inline]
    pub(crate) fn count(&self, piece: &[u8], scratch: &mut Scratch) -> usize {
        let n = piece.len();
        if n <= 1 {
            return n;
        }
        let h = hash(piece);
        if n > PIECE_MAX {
            if n <= self.max_len && self.rank_hashed(piece, h).is_some() {
                return 1;
            }
            return if n < LARGE_PIECE { self.merge_small(piece, &mut scratch.parts) } else { self.merge_large(piece) };
        }
        if scratch.cache.is_empty() {
            scratch.cache = vec![CacheEntry::default(); PIECE_CACHE];
        }
        let slot = h as usize & (PIECE_CACHE - 1);
        let e = &scratch.cache[slot];
        if e.hash == h && same(&e.bytes[..e.len as usize], piece) {
            return e.count as usize;
        }
        let count = if self.rank_hashed(piece, h).is_some() { 1 } else { self.merge_small(piece, &mut scratch.parts) };
        let mut bytes = [0u8; PIECE_MAX];
        bytes[..n].copy_from_slice(piece);
        scratch.cache[slot] = CacheEntry { hash: h, len: n as u8, count: count as u8, bytes };
        count
    }

    /// tiktoken's merge: `parts` holds (start, rank of the pair starting there); each step
    /// scans for the lowest rank (leftmost on ties), merges, and re-ranks the two neighbours.
    pub(crate) fn merge_small(&self, piece: &[u8], parts: &mut Vec<(u32, u32)>) -> usize {
        parts.clear();
        let n = piece.len();
        let mut min = (u32::MAX, usize::MAX);
        for i in 0..n - 1 {
            let r = self.rank_or_max(&piece[i..i + 2]);
            if r < min.0 {
                min = (r, i);
            }
            parts.push((i as u32, r));
        }
        parts.push(((n - 1) as u32, u32::MAX));
        parts.push((n as u32, u32::MAX));
        let rank_at = |parts: &Vec<(u32, u32)>, i: usize| -> u32 {
            if i + 3 < parts.len() {
                self.rank_or_max(&piece[parts[i].0 as usize..parts[i + 3].0 as usize])
            } else {
                u32::MAX
            }
        };
        while min.0 != u32::MAX {
            let i = min.1;
            if i > 0 {
                parts[i - 1].1 = rank_at(parts, i - 1);
            }
            parts[i].1 = rank_at(parts, i);
            parts.remove(i + 1);
            min = (u32::MAX, usize::MAX);
            for (j, &(_, r)) in parts[..parts.len() - 1].iter().enumerate() {
                if r < min.0 {
                    min = (r, j);
                }
            }
        }
        parts.len() - 1
    }

    /// The same merge order with a heap of candidate pairs over a linked list of parts.
    ///
    /// A candidate is (rank, start) packed in a u64, so the heap orders by rank, then leftmost.
    /// `pair[s]` is the rank of the pair starting at live part `s` (u32::MAX if none, or if `s`
    /// was merged away). A pair at `s` only ever grows (its left or right part merged), and a
    /// longer byte string is a different token, so a candidate is current exactly when its rank
    /// still equals `pair[start]`; stale ones are skipped when popped.
    pub(crate) fn merge_large(&self, piece: &[u8]) -> usize {
        let n = piece.len();
        // next[i]: start of the part after the part starting at i (n at the end); prev[i]: the
        // start of the part before it. Meaningful for live parts only.
        let mut next: Vec<u32> = (1..=n as u32).collect();
        let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
        let mut pair = vec![u32::MAX; n];
        let key = |rank: u32, start: usize| !((rank as u64) << 32 | start as u64);
        let mut candidates = Vec::with_capacity(n);
        for i in 0..n - 1 {
            if let Some(r) = self.rank(&piece[i..i + 2]) {
                pair[i] = r;
                candidates.push(key(r, i));
            }
        }
        // Keys are inverted so the max-heap pops the lowest rank, then the leftmost start.
        let mut heap = BinaryHeap::from(candidates);
        let mut parts = n;
        while let Some(k) = heap.pop() {
            let k = !k;
            let (rank, s) = ((k >> 32) as u32, (k & 0xFFFF_FFFF) as usize);
            if pair[s] != rank {
                continue;
            }
            // Merge the part at s with the one after it (at m, ending at e).
            let m = next[s] as usize;
            let e = next[m] as usize;
            next[s] = e as u32;
            pair[m] = u32::MAX;
            if e < n {
                prev[e] = s as u32;
            }
            parts -= 1;
            // The pair at s now spans [s, next[e]); the pair before it ends at e.
            pair[s] = u32::MAX;
            if e < n {
                if let Some(r) = self.rank(&piece[s..next[e] as usize]) {
                    pair[s] = r;
                    heap.push(key(r, s));
                }
            }
            if s > 0 {
                let p = prev[s] as usize;
                pair[p] = u32::MAX;
                if let Some(r) = self.rank(&piece[p..e]) {
                    pair[p] = r;
                    heap.push(key(r, p));
                }
            }
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::Scratch;
    use crate::tokens::Encoding;

    /// The heap merge picks the same pairs as tiktoken's scan: equal counts on every prefix of
    /// texts with long runs (words without spaces, repeats, multi-byte characters).
    #[test]
    fn heap_merge_equals_scan_merge() {
        let texts = [
            "abababababaaaaaaaabbbbbbbbbbbbbaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "internationalizationcounterrevolutionariesantidisestablishmentarianismpneumonoultramicroscopicsilicovolcanoconiosis",
            "ÄäÖöÜüßÄäÖöÜüß中文字符测试中文字符测试👍🏽👍🏽👍🏽\u{301}\u{301}\u{301}\u{301}ĳĳĳĳĳĳĳĳ                 !!!!!!!!",
        ];
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let vocab = enc.vocab();
            let mut scratch = Vec::new();
            let mut counted = Scratch::default();
            for text in texts {
                let b = text.as_bytes();
                for end in 2..=b.len() {
                    for start in [0, end / 3, end / 2] {
                        let piece = &b[start..end];
                        if piece.len() >= 2 {
                            assert_eq!(
                                vocab.merge_small(piece, &mut scratch),
                                vocab.merge_large(piece),
                                "{} on {piece:?}",
                                enc.as_str()
                            );
                            // Twice: computed, then from the piece cache.
                            for _ in 0..2 {
                                assert_eq!(vocab.count(piece, &mut counted), vocab.merge_large(piece));
                            }
                        }
                    }
                }
            }
        }
    }
}
