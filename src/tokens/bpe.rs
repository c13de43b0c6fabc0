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
fn hash(key: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (key.len() as u64).wrapping_mul(K);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^ (h >> 29)
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
        let h = hash(key);
        let tag = Self::tag(h);
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        loop {
            let v = self.slots[i];
            if v == EMPTY {
                return None;
            }
            if v >> RANK_BITS == tag && self.token(v & RANK_MASK) == key {
                return Some(v & RANK_MASK);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    fn rank_or_max(&self, key: &[u8]) -> u32 {
        self.rank(key).unwrap_or(u32::MAX)
    }

    /// Number of tokens `piece` encodes to.
    #[inline]
    pub(crate) fn count(&self, piece: &[u8], scratch: &mut Vec<(u32, u32)>) -> usize {
        if piece.len() <= 1 || self.rank(piece).is_some() {
            return piece.len().min(1);
        }
        if piece.len() < LARGE_PIECE {
            self.merge_small(piece, scratch)
        } else {
            self.merge_large(piece)
        }
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
                        }
                    }
                }
            }
        }
    }
}
