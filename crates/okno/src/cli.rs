//! Command-line interface. Every command takes `--db URL` (or `OKNO_DB`).

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use okno_app::export::ExportFormat;
use okno_core::Role;
use okno_app::access::{create_user, CreateUser};
use crate::serve::ServeArgs;
use okno_store::{Store, DEFAULT_DATABASE_URL};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Okno: a regional management center.
#[derive(Debug, Parser)]
#[command(name = "okno", version, about)]
pub struct Cli {
    /// Configuration file (default: ./okno.toml if present).
    #[arg(long, global = true, env = "OKNO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (embedded, default) or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "OKNO_DB", default_value = DEFAULT_DATABASE_URL)]
    pub db: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Okno's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web API.
    Serve(ServeArgs),
    /// Create a deterministic demo on a real region on the database (if it is empty) and serve it.
    Demo {
        /// Serving options.
        #[command(flatten)]
        serve: ServeArgs,
        /// The region: its real districts, boundaries and populations, shipped in the binary.
        #[arg(long, value_enum, default_value_t)]
        region: crate::demo::DemoRegion,
        /// Only create the data, do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Manage users.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage Open311 API keys (one per client application).
    Apikey {
        /// What to do with keys.
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Import requests from other systems (idempotent: re-importing never duplicates).
    Import {
        /// What to import.
        #[command(subcommand)]
        source: ImportSource,
    },
    /// The notification outbox: webhook delivery, and e-mail rows for the mail sender.
    Outbox {
        /// What to do.
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Place every request with a point in the stored territory boundaries (after importing
    /// or changing them).
    Reindex,
    /// The rollups the heat map and the series read.
    Rollup {
        /// What to do.
        #[command(subcommand)]
        command: RollupCommand,
    },
    /// Spike alerts: a topic's count in a territory (or the region) far above its baseline.
    Alerts {
        /// What to do.
        #[command(subcommand)]
        command: crate::alerts::AlertCommand,
    },
    /// Systemic problems: clusters of requests that are really one cause.
    Problems {
        /// What to do.
        #[command(subcommand)]
        command: crate::problems::ProblemCommand,
    },
    /// Deadline control.
    Sla {
        /// What to do.
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// Reports for the management center.
    Report {
        /// Which report.
        #[command(subcommand)]
        what: ReportWhat,
    },
    /// Train a text classifier (topic or agency) from labelled requests.
    Train(crate::classify::TrainArgs),
    /// Evaluate a classifier on labelled requests.
    Eval(crate::classify::EvalArgs),
    /// Export data without personal data.
    Export {
        /// What to export.
        #[command(subcommand)]
        what: ExportWhat,
    },
}

/// Rollup maintenance.
#[derive(Debug, Subcommand)]
pub enum RollupCommand {
    /// Recount the rollups from the requests (in SQL, apart from the counting done at each
    /// write), report how many keys differed, and replace the kept ones when they did.
    Rebuild {
        /// Only compare; change nothing (exits 1 when they differ).
        #[arg(long)]
        check: bool,
    },
}

/// User management.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from OKNO_PASSWORD or standard input.
    Add {
        /// Login name.
        #[arg(long)]
        login: String,
        /// Role: admin, operator, agency_staff, analyst.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Agency code (agency staff only).
        #[arg(long)]
        agency: Option<okno_core::AgencyCode>,
    },
}

/// API key management.
#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Issue a key to a client; the key is printed once and stored only as a hash.
    Add {
        /// The client's name (recorded as the source of the requests it files).
        #[arg(long)]
        client: String,
    },
    /// List issued keys (without the keys themselves).
    List,
    /// Revoke a key by its id.
    Revoke {
        /// Key id, as `list` shows it.
        id: okno_core::ApiKeyId,
    },
}

/// Import sources.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// St. Petersburg portal appeals (appeals.csv[.gz]) with their timelines (events.csv[.gz]).
    SpbAppeals {
        /// appeals.csv or appeals.csv.gz.
        appeals: PathBuf,
        /// events.csv or events.csv.gz.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// A 311 export (CSV) from Los Angeles or New York.
    #[command(name = "311")]
    Us311 {
        /// The CSV file.
        file: PathBuf,
        /// Whose export it is.
        #[arg(long, value_parser = ["la", "nyc"])]
        profile: String,
    },
    /// Territory boundaries from GeoJSON (all or none; a bad feature is named).
    Territories(TerritoryFileArgs),
}

/// Deadline control commands.
#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Find overdue requests and escalate them (events and outbox notifications).
    Check {
        /// Deadline configuration (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
    },
    /// Recompute every deadline from its request's timeline under the current regimes (after
    /// a regime or calendar change); each change is recorded as a `deadline_recomputed` event.
    Recompute {
        /// Deadline configuration (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// Also recompute imported requests (they keep their source's deadlines otherwise).
        #[arg(long)]
        include_imported: bool,
        /// Count the changes without storing them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Derive per-service answer terms from the deadlines an imported source set when it
    /// re-routed requests, and write a deadline configuration that uses them.
    Calibrate {
        /// The source system (e.g. `spb`).
        #[arg(long)]
        source: String,
        /// Where to write the calibrated configuration.
        #[arg(long)]
        out: PathBuf,
        /// Base configuration to extend (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// Fewest observations a service needs for its own term.
        #[arg(long, default_value_t = 20)]
        min_observations: u64,
        /// A calendar file the source counted on (added to the configuration's calendar_files).
        #[arg(long)]
        calendar: Vec<PathBuf>,
    },
    /// Replay an imported source's timelines and report how many of its own deadlines Okno
    /// reproduces exactly and within one working day.
    Compare {
        /// The source system (e.g. `spb`).
        #[arg(long)]
        source: String,
        /// Deadline configuration (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Outbox commands.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// POST the due webhook notifications once (serve does this every --webhook-interval).
    Deliver,
    /// Print undelivered notifications as JSON lines (id, channel, recipient, subject, body,
    /// attempts): the mail sender's queue.
    Pending {
        /// Only this channel: email or webhook.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Mark notifications delivered (the mail sender calls this after sending).
    Sent {
        /// Outbox ids.
        #[arg(required = true)]
        ids: Vec<okno_core::NotificationId>,
    },
}

/// Reports.
#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// Scorecards per agency or territory over a period, as a league table.
    Scorecard {
        /// FROM..TO, local days, the end exclusive (e.g. 2021-01-01..2021-04-01).
        #[arg(long)]
        period: okno_app::reports::Period,
        /// Group by agency or territory.
        #[arg(long, value_enum, default_value = "agency")]
        by: ScoreByArg,
        /// Fewest requests a body needs to be ranked.
        #[arg(long, default_value_t = 30)]
        min: u64,
        /// Deadline configuration (the shipped one if absent).
        #[arg(long, env = "OKNO_DEADLINES")]
        deadlines: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// What a scorecard groups by.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScoreByArg {
    /// The responsible agency.
    Agency,
    /// The territory.
    Territory,
}

/// What `okno import territories` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct TerritoryFileArgs {
    /// A GeoJSON FeatureCollection of polygons and multipolygons (WGS84).
    pub file: PathBuf,
    /// The property holding each territory's name.
    #[arg(long)]
    pub name_field: String,
    /// The kind of the territories (`municipality`, `district`, …); a feature whose name
    /// matches a territory of this kind already stored gives that territory its boundary.
    #[arg(long, default_value = "municipality")]
    pub kind: String,
    /// The property holding a code (default: made from the kind and the name).
    #[arg(long)]
    pub code_field: Option<String>,
    /// The code of the territory containing new ones.
    #[arg(long)]
    pub parent: Option<String>,
    /// The property holding the resident population (for per-1,000 rates).
    #[arg(long)]
    pub population_field: Option<String>,
    /// Keep a boundary whose ring crosses itself under the even-odd rule (reported) instead
    /// of refusing the file.
    #[arg(long)]
    pub repair: bool,
    /// Whom the boundaries are owed to, shown beside the map (e.g. "© OpenStreetMap
    /// contributors"; default: the file's top-level `attribution` member).
    #[arg(long)]
    pub attribution: Option<String>,
}

impl From<TerritoryFileArgs> for okno_app::imports::territories::ImportTerritoriesArgs {
    fn from(a: TerritoryFileArgs) -> Self {
        okno_app::imports::territories::ImportTerritoriesArgs {
            file: a.file, name_field: a.name_field, kind: a.kind, code_field: a.code_field, parent: a.parent,
            population_field: a.population_field, repair: a.repair, attribution: a.attribution,
        }
    }
}

/// Exports.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// All requests, without contacts.
    Requests {
        /// Output format.
        #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
        format: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Labelled requests as training data for `okno train` (CSV, oldest first).
    Training {
        /// Only requests an operator routed or reclassified (the corrections).
        #[arg(long)]
        corrections_only: bool,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = match parse_layered() {
        Ok(cli) => cli,
        Err(e) => match e.downcast::<clap::Error>() {
            Ok(clap_error) => clap_error.exit(),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OKNO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line over the configuration file's values.
fn parse_layered() -> Result<Cli> {
    let args: Vec<String> = std::env::args().collect();
    let mut command = Cli::command();
    if let Some(path) = crate::config::config_path(&args) {
        command = crate::config::apply(command, &crate::config::read(&path)?, &path)?;
    }
    Ok(Cli::from_arg_matches(&command.try_get_matches_from(args)?)?)
}

async fn open(db: &str) -> Result<Arc<dyn Store>> {
    okno_store::open(db).await.with_context(|| format!("opening database {db}"))
}

/// Trains the demo's topic model and writes it beside an SQLite database file (in the
/// temporary folder for other databases), replacing the file whole; returns its path.
fn write_demo_topic_model(db: &str) -> Result<PathBuf> {
    let file = db.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest)).filter(|f| !f.is_empty() && !f.starts_with(':'));
    let path = match file.and_then(|f| Path::new(f).parent()) {
        Some(dir) => dir.join("demo-topic.model"),
        None => std::env::temp_dir().join("okno-demo-topic.model"),
    };
    let started = std::time::Instant::now();
    let model = crate::demo::topic_model()?;
    let partial = path.with_extension(format!("model.{}", std::process::id()));
    std::fs::write(&partial, model.to_bytes()).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("demo topic model trained in {:.1} s: {}", started.elapsed().as_secs_f64(), path.display());
    Ok(path)
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::serve(open(&cli.db).await?, args).await,
        Command::Demo { serve: mut args, region, no_serve } => {
            let store = open(&cli.db).await?;
            crate::demo::ensure_demo(&*store, region).await?;
            if no_serve {
                return Ok(());
            }
            if args.topic_model.is_none() && crate::demo::holds_demo(&*store).await? {
                args.topic_model = Some(write_demo_topic_model(&cli.db)?);
            }
            crate::serve::serve(store, args).await
        }
        Command::User { command: UserCommand::Add { login, role, agency } } => {
            let store = open(&cli.db).await?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = read_password()?;
            let created = create_user(&*store, CreateUser { login, password, role, agency }, "cli", chrono::Utc::now()).await?;
            println!("created user {} (id {})", created.login, created.id);
            Ok(())
        }
        Command::Outbox { command } => {
            let store = open(&cli.db).await?;
            outbox(&*store, command).await
        }
        Command::Apikey { command } => {
            let store = open(&cli.db).await?;
            apikey(&*store, command).await
        }
        Command::Import { source: ImportSource::SpbAppeals { appeals, events } } => {
            let store = open(&cli.db).await?;
            let report = okno_app::imports::spb::import(store, &appeals, events.as_deref()).await?;
            println!("{report}");
            Ok(())
        }
        Command::Import { source: ImportSource::Territories(args) } => {
            let store = open(&cli.db).await?;
            println!("{}", serde_json::to_string_pretty(&okno_app::imports::territories::import_territories(&*store, &args.into()).await?)?);
            Ok(())
        }
        Command::Reindex => {
            let store = open(&cli.db).await?;
            println!("{}", serde_json::to_string_pretty(&okno_app::places::reindex(&*store).await?)?);
            Ok(())
        }
        Command::Import { source: ImportSource::Us311 { file, profile } } => {
            let store = open(&cli.db).await?;
            let profile = profile.parse().map_err(anyhow::Error::msg)?;
            let report = okno_app::imports::us311::import(store, &file, profile).await?;
            println!("{report}");
            Ok(())
        }
        Command::Train(args) => {
            println!("{}", serde_json::to_string_pretty(&crate::classify::train_command(&args)?)?);
            Ok(())
        }
        Command::Eval(args) => {
            let figures = crate::classify::eval_command(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&figures)?);
            } else {
                println!(
                    "{} examples: accuracy {:.4}, macro-F1 {:.4}, weighted-F1 {:.4}, top-3 {:.4}, {:.0} texts/s",
                    figures["examples"], figures["accuracy"].as_f64().unwrap_or(0.0), figures["macro_f1"].as_f64().unwrap_or(0.0),
                    figures["weighted_f1"].as_f64().unwrap_or(0.0), figures["top3_accuracy"].as_f64().unwrap_or(0.0),
                    figures["predict_texts_per_s"].as_f64().unwrap_or(0.0)
                );
            }
            Ok(())
        }
        Command::Rollup { command: RollupCommand::Rebuild { check } } => {
            let store = open(&cli.db).await?;
            let report = store.rebuild_rollups(check).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if check && report.differing > 0 {
                bail!("{} rollup keys differ from a recount; run `okno rollup rebuild`", report.differing);
            }
            Ok(())
        }
        Command::Alerts { command } => {
            let store = open(&cli.db).await?;
            crate::alerts::run(&*store, command).await
        }
        Command::Problems { command } => {
            let store = open(&cli.db).await?;
            crate::problems::run(&*store, command).await
        }
        Command::Sla { command: SlaCommand::Check { deadlines } } => {
            let store = open(&cli.db).await?;
            let config = crate::config::load_deadlines(deadlines.as_deref())?;
            let report = okno_app::deadlines::sla_check(&*store, &config, chrono::Utc::now()).await?;
            println!("overdue: {}, escalated now: {}", report.overdue, report.escalated);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Recompute { deadlines, include_imported, dry_run } } => {
            let store = open(&cli.db).await?;
            let config = crate::config::load_deadlines(deadlines.as_deref())?;
            let report = okno_app::timelines::recompute(&*store, &config, include_imported, dry_run, chrono::Utc::now()).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Calibrate { source, out, deadlines, min_observations, calendar } } => {
            let store = open(&cli.db).await?;
            let (table, config) = crate::config::calibration_base(deadlines.as_deref(), &calendar)?;
            let (text, report) = okno_app::timelines::calibrate(&*store, &config, table, &source, min_observations.max(1)).await?;
            std::fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
            crate::config::load_deadlines(Some(&out)).context("the calibrated configuration does not load")?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Compare { source, deadlines, json } } => {
            let store = open(&cli.db).await?;
            let config = crate::config::load_deadlines(deadlines.as_deref())?;
            let report = okno_app::timelines::compare(&*store, &config, &source).await?;
            if json {
                write_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))
            } else {
                print_comparison(&report)
            }
        }
        Command::Report { what: ReportWhat::Scorecard { period, by, min, deadlines, json } } => {
            let store = open(&cli.db).await?;
            let config = crate::config::load_deadlines(deadlines.as_deref())?;
            let by = match by {
                ScoreByArg::Agency => okno_store::ScoreBy::Agency,
                ScoreByArg::Territory => okno_store::ScoreBy::Territory,
            };
            let report = okno_app::reports::scorecard_report(&*store, &config, by, period, min.max(1), chrono::Utc::now()).await?;
            if json {
                write_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))
            } else {
                print_scorecards(&report)
            }
        }
        Command::Export { what: ExportWhat::Requests { format, out } } => {
            let store = open(&cli.db).await?;
            let format: ExportFormat = format.parse().map_err(anyhow::Error::msg)?;
            let n = okno_app::export::requests(&*store, format, export_sink(out.as_deref())?).await?;
            eprintln!("exported {n} requests");
            Ok(())
        }
        Command::Export { what: ExportWhat::Training { corrections_only, out } } => {
            let store = open(&cli.db).await?;
            let n = okno_app::export::training(&*store, corrections_only, export_sink(out.as_deref())?).await?;
            eprintln!("exported {n} labelled requests");
            Ok(())
        }
    }
}

/// Where an export goes: the file, or standard output.
fn export_sink(out: Option<&std::path::Path>) -> Result<std::io::BufWriter<Box<dyn std::io::Write>>> {
    let sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    Ok(std::io::BufWriter::new(sink))
}

async fn outbox(store: &dyn Store, command: OutboxCommand) -> Result<()> {
    let now = chrono::Utc::now();
    match command {
        OutboxCommand::Deliver => {
            let report = okno_app::outbox::deliver_webhooks(store, &reqwest::Client::new(), now).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        OutboxCommand::Pending { channel } => {
            let mut out = String::new();
            for pending in okno_app::outbox::pending(store, channel.as_deref(), now).await? {
                out += &(serde_json::to_string(&pending)? + "\n");
            }
            write_stdout(&out)?;
        }
        OutboxCommand::Sent { ids } => okno_app::outbox::mark_sent(store, &ids, now).await?,
    }
    Ok(())
}

async fn apikey(store: &dyn Store, command: ApikeyCommand) -> Result<()> {
    let now = chrono::Utc::now();
    match command {
        ApikeyCommand::Add { client } => {
            let issued = okno_app::access::issue_api_key(store, &client, "cli", now).await?;
            println!("{}", issued.key);
            eprintln!("API key {} issued to {}; it is shown only this once", issued.id, issued.client);
        }
        ApikeyCommand::List => {
            for key in store.api_keys().await? {
                let state = key.revoked_at.map_or("active".to_owned(), |t| format!("revoked {}", t.to_rfc3339()));
                println!("{}\t{}\t{}\t{state}", key.id, key.client, key.created_at.to_rfc3339());
            }
        }
        ApikeyCommand::Revoke { id } => {
            okno_app::access::revoke_api_key(store, id, "cli", now).await?;
            println!("revoked API key {id}");
        }
    }
    Ok(())
}

fn print_comparison(report: &okno_app::timelines::Comparison) -> Result<()> {
    use std::fmt::Write as _;
    let mut out = format!("{} requests from {} replayed\n", report.requests, report.source);
    writeln!(out, "{:<28} {:>8} {:>8} {:>10} {:>8} {:>8}", "deadlines", "compared", "exact", "±1 wd", "earlier", "later")?;
    for (name, a) in [
        ("set when re-routing", &report.rerouting),
        ("open, never re-routed", &report.open_not_rerouted),
        ("open, re-routed", &report.open_rerouted),
        ("open, after interim answer", &report.open_after_interim_answer),
    ] {
        writeln!(out, "{name:<28} {:>8} {:>7.1}% {:>9.1}% {:>8} {:>8}", a.compared, a.exact_share * 100.0, a.within_one_share * 100.0, a.okno_earlier, a.okno_later)?;
    }
    write_stdout(&out)
}

fn print_scorecards(report: &okno_app::reports::ScorecardReport) -> Result<()> {
    use std::fmt::Write as _;
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
    let num = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    let mut out = String::new();
    writeln!(out, "scorecards by {} for {}..{} (ranked from {} requests; times in working days)", report.by, report.from, report.to, report.min_requests)?;
    writeln!(out, "{:>4}  {:<44} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>6}",
        "rank", "key", "received", "closed", "on time", "1st md", "1st p90", "cls md", "cls p90", "overdue", "reopened", "rating")?;
    for r in &report.rows {
        let key: String = r.key.chars().take(44).collect();
        writeln!(out, "{:>4}  {:<44} {:>8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>6}",
            r.rank.map_or("-".to_owned(), |n| n.to_string()), key, r.received, r.closed, pct(r.on_time_share),
            num(r.first_answer_days_median), num(r.first_answer_days_p90), num(r.closure_days_median), num(r.closure_days_p90),
            r.overdue_now, pct(r.reopened_share), num(r.average_rating))?;
    }
    write_stdout(&out)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("OKNO_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password given (set OKNO_PASSWORD or pipe it on standard input)");
    }
    Ok(password)
}
