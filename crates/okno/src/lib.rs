//! The `okno` binary's library: the command line (an adapter over `okno-app`: each command
//! parses its flags, makes one call and prints the answer), configuration files, the demo
//! region, training and evaluating classifier models from files, and running `okno serve` as
//! a child process. Kept as a library so integration tests and `okno-bench` drive the same code.

pub mod alerts;
pub mod classify;
pub mod cli;
pub mod config;
pub mod demo;
pub mod problems;
pub mod process;
pub mod serve;
