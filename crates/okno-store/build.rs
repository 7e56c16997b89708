//! Lists the schema's migrations for the store to embed: every `migrations/<backend>/NNNN_name.sql`
//! file, in order. Adding a migration is adding its two files (SQLite and PostgreSQL); the build
//! fails when a backend's numbers have a gap or the two backends' migrations differ in name.

use std::path::{Path, PathBuf};

/// The migrations of one backend: (file stem, path), by number.
fn migrations(dir: &Path) -> Vec<(String, PathBuf)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a migrations folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| (path.file_stem().expect("a file name").to_string_lossy().into_owned(), path))
        .collect();
    found.sort();
    for (n, (stem, _)) in found.iter().enumerate() {
        let number = stem.split('_').next().and_then(|v| v.parse::<usize>().ok());
        assert_eq!(number, Some(n + 1), "migration {stem} in {} is out of sequence: expected number {}", dir.display(), n + 1);
    }
    found
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let sqlite = migrations(&manifest.join("migrations/sqlite"));
    let postgres = migrations(&manifest.join("migrations/postgres"));
    let names = |list: &[(String, PathBuf)]| list.iter().map(|(stem, _)| stem.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sqlite), names(&postgres), "the SQLite and PostgreSQL migrations must be the same steps");
    for (backend, list) in [("sqlite", sqlite), ("postgres", postgres)] {
        let mut code = String::from("&[\n");
        for (stem, path) in list {
            println!("cargo:rerun-if-changed={}", path.display());
            let description = stem.split_once('_').map_or(stem.as_str(), |(_, name)| name).replace('_', " ");
            let source = std::fs::canonicalize(&path).expect("a readable migration");
            code.push_str(&format!("    ({description:?}, include_str!({source:?})),\n"));
        }
        code.push_str("]\n");
        std::fs::write(out_dir.join(format!("migrations_{backend}.rs")), code).expect("writing to OUT_DIR");
    }
}
