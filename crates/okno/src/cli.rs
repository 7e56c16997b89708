//! Command-line interface. Every command takes `--db URL` (or `OKNO_DB`).

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use okno_core::Role;
use okno_server::admin::{create_user, CreateUser};
use okno_server::{AppState, ServerConfig};
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

/// Where to listen and how to treat clients.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OKNO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Mark session cookies Secure (behind HTTPS).
    #[arg(long, env = "OKNO_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Anonymous submissions per minute per client address (0 = unlimited).
    #[arg(long, env = "OKNO_SUBMIT_PER_MINUTE", default_value_t = 20)]
    pub submit_per_minute: u32,
    /// Sign-in attempts per minute per client address (0 = unlimited).
    #[arg(long, env = "OKNO_LOGIN_PER_MINUTE", default_value_t = 10)]
    pub login_per_minute: u32,
    /// Path of the Open311 GeoReport v2 endpoint.
    #[arg(long, env = "OKNO_OPEN311_BASE", default_value = "/open311/v2")]
    pub open311_base: String,
    /// Open311 jurisdiction id; when set, a jurisdiction_id that is given must match it.
    #[arg(long, env = "OKNO_JURISDICTION_ID")]
    pub jurisdiction_id: Option<String>,
    /// Seconds between deadline checks while serving (0: none; run `okno sla check` instead).
    #[arg(long, env = "OKNO_SLA_INTERVAL", default_value_t = 600)]
    pub sla_interval: u64,
    /// Seconds between webhook deliveries from the outbox while serving (0: none; run
    /// `okno outbox deliver` instead).
    #[arg(long, env = "OKNO_WEBHOOK_INTERVAL", default_value_t = 30)]
    pub webhook_interval: u64,
    /// Seconds between spike scans of yesterday and today while serving (0: none; run
    /// `okno alerts scan` instead).
    #[arg(long, env = "OKNO_ALERT_INTERVAL", default_value_t = 900)]
    pub alert_interval: u64,
    /// Spike rules as TOML (history_days, half_life_days, min_observed, min_ratio, min_score);
    /// the defaults otherwise.
    #[arg(long, env = "OKNO_ALERT_RULES")]
    pub alert_rules: Option<PathBuf>,
    /// Seconds between systemic-problem scans while serving (0: none; run `okno problems scan`
    /// instead).
    #[arg(long, env = "OKNO_PROBLEM_INTERVAL", default_value_t = 3600)]
    pub problem_interval: u64,
    /// Systemic-problem clustering rules as TOML (radius_m, min_similarity, min_neighbours,
    /// min_members, min_days, max_radius_m, days); the defaults otherwise.
    #[arg(long, env = "OKNO_PROBLEM_RULES")]
    pub problem_rules: Option<PathBuf>,
    /// Deadline configuration (regimes, working hours, extra calendar files); the shipped one if absent.
    #[arg(long, env = "OKNO_DEADLINES")]
    pub deadlines: Option<PathBuf>,
    /// MapLibre style URL (http or https) of the web UI's base map; its origin is admitted by the
    /// Content-Security-Policy, so its tiles, glyphs and sprites must come from there. Without
    /// it the maps draw territory outlines and data only.
    #[arg(long, env = "OKNO_MAP_STYLE_URL")]
    pub map_style_url: Option<String>,
    /// Time zone of Open311 dates (IANA name).
    #[arg(long, env = "OKNO_TIMEZONE", default_value = "Europe/Moscow")]
    pub timezone: String,
    /// Topic model (`okno train --target reason|category`) that picks the service of requests
    /// filed without one; its labels are service codes or names.
    #[arg(long, env = "OKNO_TOPIC_MODEL")]
    pub topic_model: Option<PathBuf>,
    /// Agency model (`okno train --target agency`) that routes requests whose service has no
    /// default agency; its labels are agency codes or names.
    #[arg(long, env = "OKNO_AGENCY_MODEL")]
    pub agency_model: Option<PathBuf>,
    /// Probability from which a model's choice is acted on; below it the request waits in the
    /// triage queue.
    #[arg(long, env = "OKNO_AUTO_ROUTE_THRESHOLD", default_value_t = 0.6)]
    pub auto_route_threshold: f32,
}

/// Okno's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web API.
    Serve(ServeArgs),
    /// Create a deterministic demo region on the database (if it is empty) and serve it.
    Demo {
        /// Serving options.
        #[command(flatten)]
        serve: ServeArgs,
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
        agency: Option<String>,
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
        id: i64,
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
        #[arg(long, value_enum)]
        profile: crate::import::us311::Profile,
    },
    /// Territory boundaries from GeoJSON (all or none; a bad feature is named).
    Territories(crate::geo::ImportTerritoriesArgs),
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
        ids: Vec<i64>,
    },
}

/// Reports.
#[derive(Debug, Subcommand)]
pub enum ReportWhat {
    /// Scorecards per agency or territory over a period, as a league table.
    Scorecard {
        /// FROM..TO, local days, the end exclusive (e.g. 2021-01-01..2021-04-01).
        #[arg(long)]
        period: okno_server::report::Period,
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

/// Exports.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// All requests, without contacts.
    Requests {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
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

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
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
        Command::Serve(args) => serve(open(&cli.db).await?, args).await,
        Command::Demo { serve: mut args, no_serve } => {
            let store = open(&cli.db).await?;
            crate::demo::ensure_demo(&*store).await?;
            if no_serve {
                return Ok(());
            }
            if args.topic_model.is_none() && crate::demo::holds_demo(&*store).await? {
                args.topic_model = Some(write_demo_topic_model(&cli.db)?);
            }
            serve(store, args).await
        }
        Command::User { command: UserCommand::Add { login, role, agency } } => {
            let store = open(&cli.db).await?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = read_password()?;
            let created = create_user(&*store, CreateUser { login, password, role, agency }, "cli")
                .await
                .map_err(|e| anyhow::anyhow!(problem_text(e)))?;
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
            let report = crate::import::spb::import(store, &appeals, events.as_deref()).await?;
            println!("{report}");
            Ok(())
        }
        Command::Import { source: ImportSource::Territories(args) } => {
            let store = open(&cli.db).await?;
            println!("{}", serde_json::to_string_pretty(&crate::geo::import_territories(&*store, &args).await?)?);
            Ok(())
        }
        Command::Reindex => {
            let store = open(&cli.db).await?;
            println!("{}", serde_json::to_string_pretty(&crate::geo::reindex(&*store).await?)?);
            Ok(())
        }
        Command::Import { source: ImportSource::Us311 { file, profile } } => {
            let store = open(&cli.db).await?;
            let report = crate::import::us311::import(store, &file, profile).await?;
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
            let config = load_deadlines(deadlines.as_deref())?;
            let report = okno_server::queues::sla_check(&*store, &config, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!(problem_text(e)))?;
            println!("overdue: {}, escalated now: {}", report.overdue, report.escalated);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Recompute { deadlines, include_imported, dry_run } } => {
            let store = open(&cli.db).await?;
            let config = load_deadlines(deadlines.as_deref())?;
            let report = crate::sla::recompute(&*store, &config, include_imported, dry_run, chrono::Utc::now()).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Calibrate { source, out, deadlines, min_observations, calendar } } => {
            let store = open(&cli.db).await?;
            let (table, config) = calibration_base(deadlines.as_deref(), &calendar)?;
            let (text, report) = crate::sla::calibrate(&*store, &config, table, &source, min_observations.max(1)).await?;
            std::fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
            load_deadlines(Some(&out)).context("the calibrated configuration does not load")?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Sla { command: SlaCommand::Compare { source, deadlines, json } } => {
            let store = open(&cli.db).await?;
            let config = load_deadlines(deadlines.as_deref())?;
            let report = crate::sla::compare(&*store, &config, &source).await?;
            if json {
                write_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))
            } else {
                print_comparison(&report)
            }
        }
        Command::Report { what: ReportWhat::Scorecard { period, by, min, deadlines, json } } => {
            let store = open(&cli.db).await?;
            let config = load_deadlines(deadlines.as_deref())?;
            let by = match by {
                ScoreByArg::Agency => okno_store::ScoreBy::Agency,
                ScoreByArg::Territory => okno_store::ScoreBy::Territory,
            };
            let report = okno_server::report::scorecard_report(&*store, &config, by, period, min.max(1), chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!(problem_text(e)))?;
            if json {
                write_stdout(&(serde_json::to_string_pretty(&report)? + "\n"))
            } else {
                print_scorecards(&report)
            }
        }
        Command::Export { what: ExportWhat::Requests { format, out } } => {
            let store = open(&cli.db).await?;
            let n = crate::export::requests(&*store, format, export_sink(out.as_deref())?).await?;
            eprintln!("exported {n} requests");
            Ok(())
        }
        Command::Export { what: ExportWhat::Training { corrections_only, out } } => {
            let store = open(&cli.db).await?;
            let n = crate::export::training(&*store, corrections_only, export_sink(out.as_deref())?).await?;
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
            let report = crate::outbox::deliver_webhooks(store, &reqwest::Client::new(), now).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
        OutboxCommand::Pending { channel } => {
            let mut out = String::new();
            for pending in store.pending_notifications(channel.as_deref(), now, u32::MAX, u32::MAX).await? {
                out += &(serde_json::to_string(&pending)? + "\n");
            }
            write_stdout(&out)?;
        }
        OutboxCommand::Sent { ids } => {
            for id in ids {
                if !store.notification_sent(id, now).await? {
                    bail!("no undelivered notification {id}");
                }
            }
        }
    }
    Ok(())
}

async fn apikey(store: &dyn Store, command: ApikeyCommand) -> Result<()> {
    let now = chrono::Utc::now();
    match command {
        ApikeyCommand::Add { client } => {
            let client = client.trim();
            if client.is_empty() || client.chars().count() > 100 {
                bail!("the client name must be 1 to 100 characters");
            }
            let key = okno_server::auth::new_secret();
            let id = store.create_api_key(client, &okno_server::auth::secret_hash(&key), now).await?;
            store.audit("cli", "apikey.create", None, Some(&format!("key {id} for {client}")), now).await?;
            println!("{key}");
            eprintln!("API key {id} issued to {client}; it is shown only this once");
        }
        ApikeyCommand::List => {
            for key in store.api_keys().await? {
                let state = key.revoked_at.map_or("active".to_owned(), |t| format!("revoked {}", t.to_rfc3339()));
                println!("{}\t{}\t{}\t{state}", key.id, key.client, key.created_at.to_rfc3339());
            }
        }
        ApikeyCommand::Revoke { id } => {
            if !store.revoke_api_key(id, now).await? {
                bail!("no active API key {id}");
            }
            store.audit("cli", "apikey.revoke", None, Some(&format!("key {id}")), now).await?;
            println!("revoked API key {id}");
        }
    }
    Ok(())
}

fn print_comparison(report: &crate::sla::Comparison) -> Result<()> {
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

fn print_scorecards(report: &okno_server::report::ScorecardReport) -> Result<()> {
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

fn problem_text(e: okno_server::error::ApiError) -> String {
    match e {
        okno_server::error::ApiError::Invalid(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
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

/// The deadline configuration in `path` (calendar files it names are read relative to it), or
/// the shipped one. A bad file is refused with its reason.
pub fn load_deadlines(path: Option<&std::path::Path>) -> Result<okno_core::deadline::DeadlineConfig> {
    let Some(path) = path else { return Ok(okno_core::deadline::DeadlineConfig::shipped()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string());
    okno_core::deadline::DeadlineConfig::parse(&text, &read).with_context(|| format!("loading {}", path.display()))
}

/// The deadline configuration a calibration starts from, as TOML and loaded: `base` (or the
/// shipped one) with `calendars` added, every calendar file named by its absolute path so the
/// calibrated file can be written anywhere.
fn calibration_base(base: Option<&std::path::Path>, calendars: &[PathBuf]) -> Result<(toml::Table, okno_core::deadline::DeadlineConfig)> {
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

/// How long a job's run in progress may take to finish once the server is told to stop.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the API and runs the periodic jobs until told to stop (Ctrl-C or SIGTERM); then lets
/// requests in flight and job runs in progress finish.
pub async fn serve(store: Arc<dyn Store>, args: ServeArgs) -> Result<()> {
    let timezone: chrono_tz::Tz = args.timezone.parse().map_err(|_| anyhow::anyhow!("unknown time zone {:?}", args.timezone))?;
    if !args.open311_base.starts_with('/') || args.open311_base.len() < 2 || args.open311_base.ends_with('/') {
        bail!("--open311-base must start with / and not end with one, e.g. /open311/v2");
    }
    let config = ServerConfig {
        secure_cookies: args.secure_cookies,
        submit_per_minute: args.submit_per_minute,
        login_per_minute: args.login_per_minute,
        open311: okno_server::open311::Open311Config {
            base_path: args.open311_base,
            jurisdiction_id: args.jurisdiction_id,
            timezone,
            ..Default::default()
        },
        spike_rules: crate::config::load_rules(args.alert_rules.as_deref(), "spike rules", okno_analytics::spikes::SpikeRules::validated)?,
        problem_rules: crate::config::load_rules(args.problem_rules.as_deref(), "problem rules", okno_core::problem::ProblemRules::validated)?,
        map_style_url: args.map_style_url.clone(),
        ..ServerConfig::default()
    };
    if let Some(url) = &args.map_style_url
        && okno_server::web::origin_of(url).is_none()
    {
        bail!("--map-style-url must be an http or https URL, got {url:?}");
    }
    let deadlines = load_deadlines(args.deadlines.as_deref())?;
    if !(0.0..=1.0).contains(&args.auto_route_threshold) {
        bail!("--auto-route-threshold must be between 0 and 1");
    }
    let classifier = okno_server::triage::Classifier::load(okno_server::triage::ClassifierConfig {
        topic_model: args.topic_model,
        agency_model: args.agency_model,
        threshold: args.auto_route_threshold,
    })
    .map_err(|e| anyhow::anyhow!("loading a classifier model: {e}"))?;
    let mut state = AppState::new(store, config, deadlines, classifier).map_err(|e| anyhow::anyhow!("{e}"))?;
    let boundaries = state.places.reload(state.store.as_ref()).await.map_err(|e| anyhow::anyhow!("loading territory boundaries: {e}"))?;
    tracing::info!(boundaries, "territory boundaries in force");
    let rollups = state.analytics.reload(state.store.as_ref()).await.map_err(|e| anyhow::anyhow!("loading the rollups: {e}"))?;
    tracing::info!(requests = rollups.requests, facts = rollups.facts, "rollups in memory");
    let mut jobs = okno_app::jobs::JobRunner::new();
    let every = std::time::Duration::from_secs;
    let (store, deadlines) = (state.store.clone(), state.deadlines.clone());
    jobs.add("deadline-check", every(args.sla_interval), move || {
        let (store, deadlines) = (store.clone(), deadlines.clone());
        async move {
            let r = okno_server::queues::sla_check(&*store, &deadlines, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(if r.escalated > 0 { format!("{} overdue, {} escalated", r.overdue, r.escalated) } else { String::new() })
        }
    });
    let scanned = state.clone();
    jobs.add("spike-scan", every(args.alert_interval), move || {
        let state = scanned.clone();
        async move {
            let r = okno_server::alerts::scan_recent(&state, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(if r.raised > 0 { format!("{} spikes raised, {} updated", r.raised, r.updated) } else { String::new() })
        }
    });
    let scanned = state.clone();
    jobs.add("problem-scan", every(args.problem_interval), move || {
        let state = scanned.clone();
        async move {
            let (rules, zone) = (&state.config.problem_rules, state.deadlines.timezone);
            let r = okno_server::problems::scan(state.store.as_ref(), rules, zone, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(if r.created + r.extended > 0 { format!("{} systemic problems proposed, {} extended", r.created, r.extended) } else { String::new() })
        }
    });
    let (store, client) = (state.store.clone(), reqwest::Client::new());
    jobs.add("webhook-delivery", every(args.webhook_interval), move || {
        let (store, client) = (store.clone(), client.clone());
        async move {
            let r = crate::outbox::deliver_webhooks(&*store, &client, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(if r.delivered + r.failed > 0 { format!("{} webhooks delivered, {} failed", r.delivered, r.failed) } else { String::new() })
        }
    });
    state.jobs = jobs.board();
    let running = jobs.start();
    let listener = tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!("Okno is serving on http://{addr}/");
    let served = okno_server::serve(listener, state).await;
    tracing::info!("stopping the jobs");
    running.stop(JOB_GRACE).await;
    served?;
    Ok(())
}
