//! `okno serve`: the HTTP server over the application, with the periodic jobs, until told to
//! stop; and its settings.

use anyhow::{bail, Context, Result};
use okno_server::{AppState, ServerConfig};
use okno_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// Where to listen and how to treat clients.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OKNO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// A second address that serves only `/metrics`, without sign-in, for a monitoring network
    /// (on the main address only admins read them).
    #[arg(long, env = "OKNO_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// The address clients reach Okno at, e.g. `https://okno.region.ru` (behind a proxy):
    /// links Okno hands out (Open311 `media_url`, discovery) are built from it, never from a
    /// client's `Host` header. By default `http://` and the listen address.
    #[arg(long, env = "OKNO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a client may take to send a request's headers, and a keep-alive connection may
    /// sit idle, before it is disconnected.
    #[arg(long, env = "OKNO_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client may take to send a request's body.
    #[arg(long, env = "OKNO_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Most connections open at once from one client address.
    #[arg(long, env = "OKNO_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub max_connections_per_address: usize,
    /// Mark session cookies Secure (behind HTTPS).
    #[arg(long, env = "OKNO_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Anonymous submissions per minute per client address (0 = unlimited).
    #[arg(long, env = "OKNO_SUBMIT_PER_MINUTE", default_value_t = 20)]
    pub submit_per_minute: u32,
    /// Sign-in attempts per minute per client address, and failed ones per login (0 = unlimited).
    #[arg(long, env = "OKNO_LOGIN_PER_MINUTE", default_value_t = 10)]
    pub login_per_minute: u32,
    /// Anonymous classifications per minute per client address (0 = unlimited).
    #[arg(long, env = "OKNO_CLASSIFY_PER_MINUTE", default_value_t = 60)]
    pub classify_per_minute: u32,
    /// Open311 requests filed per minute per API key (0 = unlimited).
    #[arg(long, env = "OKNO_API_KEY_PER_MINUTE", default_value_t = 600)]
    pub api_key_per_minute: u32,
    /// A proxy (address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For or Forwarded header
    /// names the client; repeat or separate with commas. From anyone else those headers are ignored.
    #[arg(long = "trusted-proxy", env = "OKNO_TRUSTED_PROXIES", value_delimiter = ',', value_parser = trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
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

/// How long a job's run in progress may take to finish once the server is told to stop.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A trusted proxy as given: a network (`10.0.0.0/8`) or one address.
fn trusted_proxy(text: &str) -> std::result::Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a network (e.g. 10.0.0.0/8)"))
}

/// Serves the API and runs the periodic jobs until told to stop (Ctrl-C or SIGTERM); then lets
/// requests in flight and job runs in progress finish.
pub async fn serve(store: Arc<dyn Store>, args: ServeArgs) -> Result<()> {
    let timezone: chrono_tz::Tz = args.timezone.parse().map_err(|_| anyhow::anyhow!("unknown time zone {:?}", args.timezone))?;
    if !args.open311_base.starts_with('/') || args.open311_base.len() < 2 || args.open311_base.ends_with('/') {
        bail!("--open311-base must start with / and not end with one, e.g. /open311/v2");
    }
    let mut config = ServerConfig {
        secure_cookies: args.secure_cookies,
        submit_per_minute: args.submit_per_minute,
        login_per_minute: args.login_per_minute,
        classify_per_minute: args.classify_per_minute,
        api_key_per_minute: args.api_key_per_minute,
        trusted_proxies: args.trusted_proxies.clone(),
        open311: okno_server::Open311Config {
            base_path: args.open311_base,
            jurisdiction_id: args.jurisdiction_id,
            timezone,
            ..Default::default()
        },
        map_style_url: args.map_style_url.clone(),
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        body_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
        max_connections_per_address: args.max_connections_per_address.max(1),
        ..ServerConfig::default()
    };
    if let Some(url) = &args.map_style_url
        && okno_server::web::origin_of(url).is_none()
    {
        bail!("--map-style-url must be an http or https URL, got {url:?}");
    }
    if let Some(url) = &args.public_url
        && okno_server::web::origin_of(url).is_none()
    {
        bail!("--public-url must be an http or https URL, got {url:?}");
    }
    let deadlines = crate::config::load_deadlines(args.deadlines.as_deref())?;
    if !(0.0..=1.0).contains(&args.auto_route_threshold) {
        bail!("--auto-route-threshold must be between 0 and 1");
    }
    let classifier = okno_app::models::Classifier::load(okno_app::models::ClassifierConfig {
        topic_model: args.topic_model,
        agency_model: args.agency_model,
        threshold: args.auto_route_threshold,
    })
    .map_err(|e| anyhow::anyhow!("loading a classifier model: {e}"))?;
    let rules = okno_app::Rules {
        spikes: crate::config::load_rules(args.alert_rules.as_deref(), "spike rules", okno_analytics::spikes::SpikeRules::validated)?,
        problems: crate::config::load_rules(args.problem_rules.as_deref(), "problem rules", okno_core::problem::ProblemRules::validated)?,
        ..okno_app::Rules::default()
    };
    let mut app = okno_app::App::new(store, deadlines, rules, classifier)?;
    let loaded = app.load().await.context("loading the territory boundaries and the rollups")?;
    tracing::info!(boundaries = loaded.boundaries, requests = loaded.rollups.requests, facts = loaded.rollups.facts, "boundaries and rollups in memory");
    let every = std::time::Duration::from_secs;
    let jobs = okno_app::schedule::jobs(&app, okno_app::schedule::Intervals {
        deadline_check: every(args.sla_interval),
        spike_scan: every(args.alert_interval),
        problem_scan: every(args.problem_interval),
        webhook_delivery: every(args.webhook_interval),
    });
    app.jobs = jobs.board();
    let listener = tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    config.public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    };
    let state = AppState::new(app, config);
    if let Some(address) = &args.metrics_listen {
        let monitoring = tokio::net::TcpListener::bind(address).await.with_context(|| format!("listening on {address} for monitoring"))?;
        tracing::info!("metrics for monitoring on http://{}/metrics", monitoring.local_addr()?);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = okno_server::serve_monitoring(monitoring, state).await {
                tracing::error!(error = %e, "the monitoring address stopped serving");
            }
        });
    }
    let running = jobs.start();
    tracing::info!("Okno is serving on http://{addr}/");
    let served = okno_server::serve(listener, state).await;
    tracing::info!("stopping the jobs");
    running.stop(JOB_GRACE).await;
    served?;
    Ok(())
}
