//! The `okno` binary's library: command-line interface, demo region, imports and exports
//! (the benchmarks, in `okno-bench`, drive the same code).
//! Kept as a library so integration tests drive the same code the binary runs.

pub mod alerts;
pub mod classify;
pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod geo;
pub mod import;
pub mod outbox;
pub mod problems;
pub mod process;
pub mod sla;
