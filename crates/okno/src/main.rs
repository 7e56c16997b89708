//! The `okno` command: see `okno --help`.

fn main() -> std::process::ExitCode {
    okno::cli::main()
}
