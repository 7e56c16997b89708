//! The `okno` command: see `okno --help`.

/// mimalloc for every allocation in the process, Rust's and (through its `override` feature)
/// SQLite's `malloc`: sqlx hands each value between the async runtime and SQLite's worker
/// thread, and glibc's allocator spent a quarter of an import and a third of loading the
/// rollups in those cross-thread frees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    okno::cli::main()
}
