//! Okno's use-cases: what the system does, as plain Rust calls with their own errors, callable
//! from the HTTP edge (`okno-server`), the command line (`okno`) and periodic jobs alike. The
//! edges parse their input, make one call here and translate the answer; nothing here knows
//! about HTTP or command-line flags.
//!
//! - [`jobs`]: the runner of periodic work (deadline checks, scans, deliveries).

pub mod jobs;
