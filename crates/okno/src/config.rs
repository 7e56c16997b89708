//! Layered configuration: built-in defaults, then `okno.toml`, then `OKNO_…` environment
//! variables, then command-line flags, each overriding the one before. The file is optional;
//! `okno serve` with no configuration at all works.
//!
//! The file is flat: its keys are the long flag names (`db`, `listen`, `submit_per_minute`…,
//! `-` or `_` alike). A key that no command knows is an error, so a typo is not silently ignored.
//!
//! Also the files commands read their rules from: spike and problem rules (`load_rules`), the
//! deadline configuration (`load_deadlines`) and the base a calibration starts from
//! (`calibration_base`).

use anyhow::{bail, Context, Result};
use clap::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file read when neither `--config` nor `OKNO_CONFIG` names one (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "okno.toml";

/// The configuration file to read, if any: `--config PATH` or `--config=PATH` on the command
/// line, else `OKNO_CONFIG`, else `./okno.toml` when present.
pub fn config_path(args: &[String]) -> Option<PathBuf> {
    let from_args = args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--config") {
        Some("") => args.get(i + 1).cloned(),
        Some(rest) => rest.strip_prefix('=').map(String::from),
        None => None,
    });
    from_args
        .or_else(|| std::env::var("OKNO_CONFIG").ok())
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()))
}

/// Reads a configuration file into flag id → value.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = text.parse().with_context(|| format!("parsing {}", path.display()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => bail!("{}: {key} must be a string, number or boolean, not {}", path.display(), other.type_str()),
            };
            Ok((key.replace('-', "_"), value))
        })
        .collect()
}

fn known_ids(command: &Command, ids: &mut Vec<String>) {
    ids.extend(command.get_arguments().map(|a| a.get_id().to_string()));
    for sub in command.get_subcommands() {
        known_ids(sub, ids);
    }
}

fn with_defaults(command: Command, values: &BTreeMap<String, String>) -> Command {
    command
        .mut_args(|arg| match values.get(arg.get_id().as_str()) {
            Some(v) => arg.default_value(v.clone()),
            None => arg,
        })
        .mut_subcommands(|sub| with_defaults(sub, values))
}

/// The command line with the file's values as defaults (below environment and flags).
pub fn apply(command: Command, values: &BTreeMap<String, String>, path: &Path) -> Result<Command> {
    let mut ids = Vec::new();
    known_ids(&command, &mut ids);
    if let Some(unknown) = values.keys().find(|k| !ids.contains(k)) {
        bail!("{}: unknown setting {unknown:?}", path.display());
    }
    Ok(with_defaults(command, values))
}

/// Rules of `what` kind read from a TOML file (defaults for the fields left out) and checked by
/// `validated`, which refuses values out of range; the defaults when there is no file.
pub fn load_rules<T: serde::de::DeserializeOwned + Default>(path: Option<&Path>, what: &str, validated: impl FnOnce(T) -> Result<T, String>) -> Result<T> {
    let Some(path) = path else { return Ok(T::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rules: T = toml::from_str(&text).with_context(|| format!("{} is not valid {what}", path.display()))?;
    validated(rules).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The deadline configuration in `path` (calendar files it names are read relative to it), or
/// the shipped one. A bad file is refused with its reason.
pub fn load_deadlines(path: Option<&std::path::Path>) -> anyhow::Result<okno_core::deadline::DeadlineConfig> {
    let Some(path) = path else { return Ok(okno_core::deadline::DeadlineConfig::shipped()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string());
    okno_core::deadline::DeadlineConfig::parse(&text, &read).with_context(|| format!("loading {}", path.display()))
}

/// The deadline configuration a calibration starts from, as TOML and loaded: `base` (or the
/// shipped one) with `calendars` added, every calendar file named by its absolute path so the
/// calibrated file can be written anywhere.
pub fn calibration_base(base: Option<&std::path::Path>, calendars: &[PathBuf]) -> anyhow::Result<(toml::Table, okno_core::deadline::DeadlineConfig)> {
    let (text, dir) = match base {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        ),
        None => (okno_core::deadline::SHIPPED.to_owned(), PathBuf::new()),
    };
    let mut table: toml::Table = toml::from_str(&text).context("the base deadline configuration is not TOML")?;
    let absolute = |p: &std::path::Path| std::path::absolute(p).map(|p| p.display().to_string());
    let mut files = Vec::new();
    for name in table.get("calendar_files").and_then(toml::Value::as_array).into_iter().flatten() {
        files.push(absolute(&dir.join(name.as_str().context("calendar_files must hold file names")?))?);
    }
    for path in calendars {
        files.push(absolute(path)?);
    }
    table.insert("calendar_files".into(), files.into());
    let text = toml::to_string(&table)?;
    let read = |name: &str| std::fs::read_to_string(name).map_err(|e| e.to_string());
    let config = okno_core::deadline::DeadlineConfig::parse(&text, &read).context("loading the base deadline configuration")?;
    Ok((table, config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn parse(args: &[&str], file: &[(&str, &str)]) -> Result<crate::cli::Cli> {
        let values = file.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let command = apply(crate::cli::Cli::command(), &values, &PathBuf::from("test.toml"))?;
        Ok(crate::cli::Cli::from_arg_matches(&command.try_get_matches_from(args)?)?)
    }

    #[test]
    fn the_file_sets_defaults_that_flags_override() {
        let cli = parse(&["okno", "serve"], &[("db", "sqlite://x.db"), ("listen", "0.0.0.0:9000")]).unwrap();
        assert_eq!(cli.db, "sqlite://x.db");
        let crate::cli::Command::Serve(serve) = cli.command else { panic!("serve") };
        assert_eq!(serve.listen, "0.0.0.0:9000");
        let cli = parse(&["okno", "serve", "--listen", "127.0.0.1:1"], &[("listen", "0.0.0.0:9000")]).unwrap();
        let crate::cli::Command::Serve(serve) = cli.command else { panic!("serve") };
        assert_eq!(serve.listen, "127.0.0.1:1");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse(&["okno", "serve"], &[("lisen", "x")]).is_err());
    }

    #[test]
    fn the_config_flag_is_found_before_parsing() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(config_path(&args(&["okno", "--config", "a.toml", "serve"])), Some(PathBuf::from("a.toml")));
        assert_eq!(config_path(&args(&["okno", "--config=b.toml"])), Some(PathBuf::from("b.toml")));
    }
}
