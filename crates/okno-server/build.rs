//! Embeds the web UI's built bundle (`web/dist`, made by `npm run build` in `web/`) into the
//! server: each file with its gzip-compressed form. When the bundle has not been built the
//! table is empty and the server answers UI pages with a notice saying how to build it.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../web/dist");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut found = Vec::new();
    files(&dist, &mut found);
    found.sort();
    let mut table = String::from("/// The web UI's files: (path below the site root, bytes, gzip-compressed bytes).\npub static ASSETS: &[(&str, &[u8], &[u8])] = &[\n");
    for (n, path) in found.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(path).expect("reading a web/dist file");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes).expect("compressing in memory");
        let gz_path = out_dir.join(format!("web-{n}.gz"));
        std::fs::write(&gz_path, gz.finish().expect("compressing in memory")).expect("writing to OUT_DIR");
        let relative = path.strip_prefix(&dist).expect("a file under web/dist").to_string_lossy().replace('\\', "/");
        let source = std::fs::canonicalize(path).expect("a readable web/dist file");
        table.push_str(&format!("    ({relative:?}, include_bytes!({source:?}), include_bytes!({gz_path:?})),\n"));
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("web_assets.rs"), table).expect("writing to OUT_DIR");
}
