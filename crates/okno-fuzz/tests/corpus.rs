//! Every fuzz target over its committed corpus (`fuzz/corpus/NAME`, seeds and inputs that once
//! found something), then over a fixed-seed batch of mutations of it: the short run the test
//! suite affords on the stable toolchain. Coverage-guided runs are `scripts/fuzz.sh`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

/// Mutated inputs per target.
const MUTATIONS: usize = 300;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a corpus entry").path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).expect("a corpus file")).collect()
}

/// One random edit of `input`, or a splice with `other`: what a mutating fuzzer does, blindly.
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if out.is_empty() { 0 } else { rng.gen_range(0..out.len()) };
        match rng.gen_range(0..6) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.gen_range(0..8),
            1 => out.insert(at, *b"\"\n,\r\\{}[]:=&%\0\xff\xd0".get(rng.gen_range(0..17)).unwrap_or(&b'"')),
            2 if !out.is_empty() => {
                let end = (at + rng.gen_range(1..=16)).min(out.len());
                out.drain(at..end);
            }
            3 if !other.is_empty() => {
                let from = rng.gen_range(0..other.len());
                let piece = &other[from..(from + rng.gen_range(1..=64)).min(other.len())];
                out.splice(at..at, piece.iter().copied());
            }
            4 if !out.is_empty() => {
                let end = (at + rng.gen_range(1..=32)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece.iter().copied().cycle().take(piece.len() * rng.gen_range(1..=8)));
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    for (name, target) in okno_fuzz::TARGETS {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "{name}: no corpus");
        for seed in &seeds {
            target(seed);
        }
        let mut rng = StdRng::seed_from_u64(0x6f6b6e6f);
        for _ in 0..MUTATIONS {
            let (a, b) = (&seeds[rng.gen_range(0..seeds.len())], &seeds[rng.gen_range(0..seeds.len())]);
            target(&mutate(&mut rng, a, b));
        }
        eprintln!("fuzz target {name}: {} corpus inputs and {MUTATIONS} mutations passed", seeds.len());
    }
}

#[test]
fn every_target_has_a_libfuzzer_entry() {
    let entries = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    for (name, _) in okno_fuzz::TARGETS {
        let entry = std::fs::read_to_string(entries.join(format!("{name}.rs"))).unwrap_or_else(|e| panic!("fuzz/fuzz_targets/{name}.rs: {e}"));
        assert!(entry.contains(&format!("okno_fuzz::{name}(data)")), "fuzz/fuzz_targets/{name}.rs calls another target");
    }
}
