//! Features of a text: word stems (Snowball, Russian or English by the word's script), stem
//! bigrams, and character n-grams of each word with its boundaries (` яма ` → ` я`, `ям`, …),
//! hashed into a fixed space; plus any extra tokens the caller gives (a territory, a channel).

use crate::normalize::normalize_into;
use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Bits of the hashed feature space.
pub const HASH_BITS: u32 = 20;

/// Entries kept in a thread's stem cache before it is emptied.
const STEM_CACHE_LIMIT: usize = 200_000;

/// Which features are extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Shortest character n-gram.
    pub char_min: usize,
    /// Longest character n-gram (0: none).
    pub char_max: usize,
    /// Whether pairs of neighbouring stems are features.
    pub stem_bigrams: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig { char_min: 3, char_max: 4, stem_bigrams: true }
    }
}

/// A feature as a person reads it (for explanations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum FeatureName {
    /// A word stem.
    Stem(String),
    /// Two neighbouring stems.
    Bigram(String, String),
    /// A character n-gram (spaces mark word boundaries).
    Chars(String),
    /// A token given beside the text.
    Extra(String),
}

impl std::fmt::Display for FeatureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureName::Stem(s) => write!(f, "{s}"),
            FeatureName::Bigram(a, b) => write!(f, "{a} {b}"),
            FeatureName::Chars(c) => write!(f, "«{c}»"),
            FeatureName::Extra(e) => write!(f, "[{e}]"),
        }
    }
}

/// A fast, deterministic 64-bit hasher (FNV-1a with a final avalanche), the same on every
/// machine and every run, so models stay valid.
#[derive(Default, Clone, Copy)]
pub struct FeatureHasher(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl FeatureHasher {
    /// A hasher for one kind of feature.
    pub fn seeded(seed: u64) -> Self {
        FeatureHasher(FNV_OFFSET ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// Feeds bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    /// The mixed hash of what was fed.
    pub fn value(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl Hasher for FeatureHasher {
    fn finish(&self) -> u64 {
        self.value()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.feed(bytes);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FeatureHasher>>;

thread_local! {
    /// Word → hash of its stem: stemming is the slowest step, and words repeat.
    static STEMS: RefCell<FastMap<String, u64>> = RefCell::new(FastMap::default());
}

const SEED_STEM: u64 = 1;
const SEED_BIGRAM: u64 = 2;
const SEED_CHARS: u64 = 3;
const SEED_EXTRA: u64 = 4;

/// The bucket of a hash in the feature space.
pub fn bucket(hash: u64) -> u32 {
    (hash >> (64 - HASH_BITS)) as u32
}

fn hash_str(seed: u64, s: &str) -> u64 {
    let mut h = FeatureHasher::seeded(seed);
    h.feed(s.as_bytes());
    h.value()
}

/// The token a field's value is given to a model as, beside the text (`district:Невский`);
/// training and prediction must build it the same way.
pub fn extra_token(field: &str, value: &str) -> String {
    format!("{field}:{value}")
}

/// The bucket of a token given beside the text (e.g. `district:Невский`).
pub fn extra_bucket(extra: &str) -> u32 {
    bucket(hash_str(SEED_EXTRA, extra))
}

/// Extracts features; cheap to share between threads.
pub struct Featurizer {
    config: FeatureConfig,
    russian: Stemmer,
    english: Stemmer,
}

/// Text buffers reused from one text to the next.
#[derive(Default)]
struct Buffers {
    normalized: String,
    bounded: String,
    starts: Vec<usize>,
}

/// Buffers reused from one text to the next.
#[derive(Default)]
pub struct Scratch {
    buffers: Buffers,
    buckets: Vec<u32>,
    counts: Vec<(u32, u32)>,
}

impl Featurizer {
    /// A featurizer with this configuration.
    pub fn new(config: FeatureConfig) -> Self {
        Featurizer { config, russian: Stemmer::create(Algorithm::Russian), english: Stemmer::create(Algorithm::English) }
    }

    fn stem_of(&self, word: &str) -> String {
        let stemmer = if word.chars().any(|c| c.is_ascii_alphabetic()) { &self.english } else { &self.russian };
        stemmer.stem(word).into_owned()
    }

    /// The hash of a word's stem, from this thread's cache when it was seen before.
    fn stem_hash(&self, word: &str) -> u64 {
        STEMS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(&hash) = cache.get(word) {
                return hash;
            }
            if cache.len() >= STEM_CACHE_LIMIT {
                cache.clear();
            }
            let hash = hash_str(SEED_STEM, &self.stem_of(word));
            cache.insert(word.to_owned(), hash);
            hash
        })
    }

    /// Calls `emit` with every feature of `text`, in order, with occurrences repeated; `names`
    /// asks for readable names (slower), otherwise `emit` gets `None`.
    fn each(&self, text: &str, buffers: &mut Buffers, names: bool, emit: &mut dyn FnMut(u64, Option<FeatureName>)) {
        let Buffers { normalized, bounded, starts } = buffers;
        normalize_into(text, normalized);
        let mut previous: Option<(u64, String)> = None;
        for word in normalized.split(' ').filter(|w| !w.is_empty()) {
            let (stem_hash, stem) = if names {
                let stem = self.stem_of(word);
                (hash_str(SEED_STEM, &stem), stem)
            } else {
                (self.stem_hash(word), String::new())
            };
            emit(stem_hash, names.then(|| FeatureName::Stem(stem.clone())));
            if self.config.stem_bigrams {
                if let Some((prev_hash, prev)) = &previous {
                    let mut h = FeatureHasher::seeded(SEED_BIGRAM);
                    h.feed(&prev_hash.to_le_bytes());
                    h.feed(&stem_hash.to_le_bytes());
                    emit(h.value(), names.then(|| FeatureName::Bigram(prev.clone(), stem.clone())));
                }
                previous = Some((stem_hash, stem));
            }
            if self.config.char_max >= self.config.char_min && self.config.char_max > 0 {
                bounded.clear();
                bounded.push(' ');
                bounded.push_str(word);
                bounded.push(' ');
                self.char_grams(bounded, starts, names, emit);
            }
        }
    }

    fn char_grams(&self, bounded: &str, starts: &mut Vec<usize>, names: bool, emit: &mut dyn FnMut(u64, Option<FeatureName>)) {
        starts.clear();
        starts.extend(bounded.char_indices().map(|(i, _)| i));
        starts.push(bounded.len());
        let chars = starts.len() - 1;
        let bytes = bounded.as_bytes();
        for first in 0..chars {
            let mut h = FeatureHasher::seeded(SEED_CHARS);
            for n in 1..=self.config.char_max.min(chars - first) {
                h.feed(&bytes[starts[first + n - 1]..starts[first + n]]);
                if n >= self.config.char_min {
                    emit(h.value(), names.then(|| FeatureName::Chars(bounded[starts[first]..starts[first + n]].to_owned())));
                }
            }
        }
    }

    /// The features of `text` as (bucket, occurrences), sorted by bucket (kept in `scratch`).
    pub fn count<'s>(&self, text: &str, scratch: &'s mut Scratch) -> &'s [(u32, u32)] {
        let Scratch { buffers, buckets, counts } = scratch;
        buckets.clear();
        self.each(text, buffers, false, &mut |hash, _| buckets.push(bucket(hash)));
        buckets.sort_unstable();
        counts.clear();
        for &b in buckets.iter() {
            match counts.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => counts.push((b, 1)),
            }
        }
        counts
    }

    /// The readable features of `text` and `extras` with their buckets, each once.
    pub fn named(&self, text: &str, extras: &[&str]) -> Vec<(FeatureName, u32)> {
        let mut out: Vec<(FeatureName, u32)> = extras.iter().map(|e| (FeatureName::Extra((*e).to_owned()), extra_bucket(e))).collect();
        self.each(text, &mut Buffers::default(), true, &mut |hash, name| {
            if let Some(name) = name {
                out.push((name, bucket(hash)));
            }
        });
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_fold_russian_and_english_inflections() {
        let f = Featurizer::new(FeatureConfig { char_min: 3, char_max: 0, stem_bigrams: false });
        let stems = |t: &str| f.named(t, &[]).into_iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        assert_eq!(stems("ямы"), stems("яма"));
        assert_eq!(stems("potholes"), stems("pothole"));
    }

    #[test]
    fn counts_are_sorted_merged_and_match_the_named_features() {
        let f = Featurizer::new(FeatureConfig::default());
        let mut scratch = Scratch::default();
        let counts = f.count("яма яма на дороге", &mut scratch).to_vec();
        assert!(counts.windows(2).all(|w| w[0].0 < w[1].0));
        let stem_count = counts.iter().find(|(b, _)| *b == bucket(hash_str(SEED_STEM, "ям"))).map(|c| c.1);
        assert_eq!(stem_count, Some(2), "the stem of «яма» occurs twice");
        let named = f.named("яма яма на дороге", &["district:Невский"]);
        let mut buckets: Vec<u32> = named.iter().filter(|(n, _)| !matches!(n, FeatureName::Extra(_))).map(|(_, b)| *b).collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert_eq!(buckets, counts.iter().map(|c| c.0).collect::<Vec<_>>());
        assert!(named.iter().any(|(n, _)| *n == FeatureName::Chars(" ям".into())));
        assert!(named.iter().any(|(n, _)| *n == FeatureName::Extra("district:Невский".into())));
    }

    #[test]
    fn hashing_is_stable_across_runs() {
        assert_eq!(hash_str(SEED_STEM, "ям"), 0xc5ae_85f8_3638_9f57, "changing the hash invalidates every model");
    }
}
