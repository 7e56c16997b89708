//! The `foundation`, `open311` and `sla` suites, and what every suite shares (load generation,
//! medians, Python baselines, results files).
//!
//! `foundation`:
//! - import of the St. Petersburg data (appeals + events) into SQLite and PostgreSQL, against
//!   PostgreSQL `COPY` of the same raw CSV rows and Python's sqlite3 `executemany`;
//! - durable `POST /api/v1/requests` throughput and latency with concurrent clients;
//! - peak memory of `okno serve` holding the imported data.
//!
//! `open311`: GET and POST throughput and latency of the Open311 endpoint.
//!
//! `sla`: deadline replay throughput, a full stored recomputation, and scorecard and queue
//! latency against the same counts in one SQL query (optionally on `--synthetic` more requests).

use okno::process::ServerProcess;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};


/// The St. Petersburg data a bench imports, and where PostgreSQL runs.
#[derive(Debug, Clone, clap::Args)]
pub struct SpbData {
    /// The portal's appeals.csv.gz.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/appeals.csv.gz")]
    pub appeals: PathBuf,
    /// The portal's events.csv.gz.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/events.csv.gz")]
    pub events: PathBuf,
    /// A PostgreSQL server to create throwaway databases on (its admin URL); PostgreSQL figures are skipped without it.
    #[arg(long, env = "OKNO_BENCH_POSTGRES_URL")]
    pub postgres: Option<String>,
}

impl SpbData {
    fn check(&self) -> Result<()> {
        anyhow::ensure!(self.appeals.exists() && self.events.exists(), "the St. Petersburg data is not at {}", self.appeals.display());
        Ok(())
    }
}

/// What `okno-bench foundation` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct FoundationArgs {
    /// The data and the PostgreSQL server.
    #[command(flatten)]
    pub data: SpbData,
    /// The Python baseline script (sqlite3 executemany); skipped if absent.
    #[arg(long, default_value = "scripts/bench/sqlite_executemany.py")]
    pub python_baseline: PathBuf,
    /// POST requests sent per backend.
    #[arg(long, default_value_t = 20_000)]
    pub posts: usize,
    /// Runs of each import and baseline; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/foundation.json")]
    pub out: PathBuf,
}

fn scratch_sqlite(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("okno-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    format!("sqlite://{}/okno.db", dir.display())
}

async fn fresh_postgres(admin_url: &str, name: &str) -> Result<String> {
    use sqlx::Connection;
    let db = format!("okno_bench_{name}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&mut admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut admin).await?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    Ok(format!("{base}/{db}"))
}

async fn import_figures(db: &str, appeals: &Path, events: &Path) -> Result<Value> {
    let store = okno_store::open(db).await?;
    let started = Instant::now();
    let report = okno_app::imports::spb::import(store, appeals, Some(events)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = report.counts.inserted + report.counts.events;
    Ok(json!({"requests": report.counts.inserted, "events": report.counts.events, "rows": rows,
        "seconds": seconds, "rows_per_s": rows as f64 / seconds}))
}

/// PostgreSQL `COPY … FROM STDIN (FORMAT csv)` of the raw appeal and event rows into plain tables.
async fn postgres_copy_baseline(admin_url: &str, args: &FoundationArgs) -> Result<Value> {
    use sqlx::Connection;
    let url = fresh_postgres(admin_url, "copy").await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let started = Instant::now();
    let mut rows = 0u64;
    for (table, path) in [("appeals", &args.data.appeals), ("events", &args.data.events)] {
        let reader = okno_app::imports::open_csv(path)?;
        let columns: Vec<String> = reader.headers().iter().map(|h| format!("\"{h}\" text")).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} ({})", columns.join(", ")))).execute(&mut conn).await?;
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut raw)?;
        rows += reader.count() as u64;
        let mut copy = conn.copy_in_raw(&format!("COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)")).await?;
        for chunk in raw.chunks(1 << 20) {
            copy.send(chunk.to_vec()).await?;
        }
        copy.finish().await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({"rows": rows, "seconds": seconds, "rows_per_s": rows as f64 / seconds}))
}

fn python_baseline(args: &FoundationArgs) -> Result<Value> {
    run_python(Path::new("python3"), &args.python_baseline, &[args.data.appeals.as_os_str(), args.data.events.as_os_str()])
}

/// Runs a Python baseline script on one core and reads the JSON it prints.
pub(crate) fn run_python(python: &Path, script: &Path, args: &[&std::ffi::OsStr]) -> Result<Value> {
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .envs([("OMP_NUM_THREADS", "1"), ("OPENBLAS_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1")])
        .output()
        .with_context(|| format!("running the Python baseline {}", script.display()))?;
    anyhow::ensure!(out.status.success(), "Python baseline failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Writes a bench's results as pretty JSON, creating the folder.
pub(crate) fn write_results(out: &Path, results: &Value) -> Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(results)?)?;
    Ok(())
}

/// Runs `measure` `runs` times and reports the run with the median `seconds`, with every run's seconds.
pub(crate) async fn median_of<F, Fut>(runs: usize, mut measure: F) -> Result<Value>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let mut results = Vec::new();
    for run in 0..runs.max(1) {
        results.push(measure(run).await?);
    }
    results.sort_by(|a, b| a["seconds"].as_f64().partial_cmp(&b["seconds"].as_f64()).unwrap_or(std::cmp::Ordering::Equal));
    let seconds: Vec<f64> = results.iter().filter_map(|r| r["seconds"].as_f64()).collect();
    let mut median = results.swap_remove(results.len() / 2);
    median["runs_seconds"] = json!(seconds);
    Ok(median)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Builds the `i`-th request of a load run.
pub type RequestMaker = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// Sends `total` requests from `concurrency` clients and measures throughput and latency;
/// a response with another status than `expect` counts as a failure.
pub async fn http_load(total: usize, concurrency: usize, expect: reqwest::StatusCode, make: RequestMaker) -> Result<Value> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, make) = (client.clone(), next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut bytes = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                match make(&client, i).send().await {
                    Ok(r) if r.status() == expect => match r.bytes().await {
                        Ok(body) => {
                            bytes += body.len() as u64;
                            latencies.push(sent.elapsed());
                        }
                        Err(_) => failures += 1,
                    },
                    _ => failures += 1,
                }
            }
            (latencies, failures, bytes)
        }));
    }
    let (mut latencies, mut failures, mut bytes) = (Vec::with_capacity(total), 0, 0);
    for t in tasks {
        let (l, f, b) = t.await?;
        latencies.extend(l);
        failures += f;
        bytes += b;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Ok(json!({"requests": total, "failures": failures, "concurrency": concurrency, "seconds": seconds,
        "requests_per_s": latencies.len() as f64 / seconds, "mean_response_bytes": bytes as f64 / latencies.len().max(1) as f64,
        "p50_ms": percentile(&latencies, 0.5), "p90_ms": percentile(&latencies, 0.9), "p99_ms": percentile(&latencies, 0.99)}))
}

/// Sends `total` citizen submissions to `POST /api/v1/requests`.
pub async fn post_load(server: &ServerProcess, total: usize, concurrency: usize) -> Result<Value> {
    let url = server.url("/api/v1/requests");
    http_load(total, concurrency, reqwest::StatusCode::CREATED, Arc::new(move |client, i| {
        client.post(&url).json(&json!({"service_code": "pothole", "channel": "web",
            "text": format!("Яма на дороге у дома {}, нагрузочный тест", i % 120),
            "lat": 60.0 + (i % 100) as f64 * 0.001, "lon": 30.57, "address": "г. Всеволожск, Садовая ул., 5",
            "contact": {"name": "Тестовый Житель", "phone": "+7 900 000-00-00"}}))
    })).await
}

async fn post_figures(db: &str, args: &FoundationArgs) -> Result<Value> {
    okno::demo::ensure_demo(&*okno_store::open(db).await?, okno::demo::DemoRegion::default()).await?;
    let server = ServerProcess::start(&crate::okno_binary()?, db, &["--submit-per-minute", "0"])?;
    post_load(&server, args.posts, args.concurrency).await
}

/// Peak memory of a server holding the imported data after a mix of list and read calls.
async fn serve_memory(db: &str) -> Result<Value> {
    let server = ServerProcess::start(&crate::okno_binary()?, db, &[])?;
    let client = reqwest::Client::new();
    let store = okno_store::open(db).await?;
    let token = sign_in(&client, &server.url(""), &*store).await?;
    let started = Instant::now();
    let mut paths: Vec<String> = ["limit=500", "limit=500&q=%D1%81%D0%BD%D0%B5%D0%B3", "limit=500&status=closed", "limit=500&bbox=30.2,59.9,30.4,60.0"]
        .iter()
        .flat_map(|q| std::iter::repeat_n(format!("/api/v1/requests?{q}"), 25))
        .collect();
    let (requests, _) = store.totals().await?;
    paths.extend((1..=requests).step_by(30).map(|id| format!("/api/v1/requests/{id}/events")));
    for path in &paths {
        let response = client.get(server.url(path)).header("cookie", &token).send().await?;
        anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
        response.bytes().await?;
    }
    Ok(json!({"peak_rss_kib": server.peak_rss_kib(), "calls": paths.len(), "seconds": started.elapsed().as_secs_f64()}))
}

/// Signs an analyst in on the server at `base` (creating the user when new); returns the
/// session cookie to send.
pub(crate) async fn sign_in(client: &reqwest::Client, base: &str, store: &dyn okno_store::Store) -> Result<String> {
    let (login, password) = ("bench-analyst", "bench-password-1");
    let _ = okno_app::access::create_user(store, okno_app::access::CreateUser {
        login: login.into(), password: password.into(), role: okno_core::Role::Analyst, agency: None }, "bench", chrono::Utc::now()).await;
    let response = client.post(format!("{base}/api/v1/auth/login")).json(&json!({"login": login, "password": password})).send().await?;
    anyhow::ensure!(response.status().is_success(), "signing in: {}", response.status());
    Ok(response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().split(';').next().unwrap_or_default().to_owned())
}

pub(crate) fn ratio(a: &Value, b: &Value, key: &str) -> Value {
    match (a[key].as_f64(), b[key].as_f64()) {
        (Some(x), Some(y)) if y > 0.0 => json!(x / y),
        _ => Value::Null,
    }
}

/// Runs every foundation figure and writes them to `args.out`.
pub async fn foundation(args: FoundationArgs) -> Result<Value> {
    args.data.check()?;
    let mut results = json!({"machine": {"cores": std::thread::available_parallelism().map_or(0, |n| n.get())},
        "data": {"appeals": args.data.appeals, "events": args.data.events}});
    eprintln!("== import into SQLite");
    let sqlite_dbs: Vec<String> = (0..args.repeat.max(1)).map(|run| scratch_sqlite(&format!("import{run}"))).collect();
    results["import"]["sqlite"] = median_of(args.repeat, |run| { let (a, db) = (&args, &sqlite_dbs[run]); async move { import_figures(db, &a.data.appeals, &a.data.events).await } }).await?;
    if args.python_baseline.exists() {
        eprintln!("== baseline: Python sqlite3 executemany");
        results["baseline"]["python_sqlite_executemany"] = median_of(args.repeat, |_| async { python_baseline(&args) }).await?;
    }
    if let Some(pg) = &args.data.postgres {
        eprintln!("== import into PostgreSQL");
        results["import"]["postgres"] = median_of(args.repeat, |run| { let a = &args; async move {
            import_figures(&fresh_postgres(pg, &format!("import{run}")).await?, &a.data.appeals, &a.data.events).await
        } }).await?;
        eprintln!("== baseline: PostgreSQL COPY of the raw rows");
        results["baseline"]["postgres_copy"] = median_of(args.repeat, |_| postgres_copy_baseline(pg, &args)).await?;
    }
    eprintln!("== peak memory of okno serve holding the data");
    results["serve_memory"] = serve_memory(&sqlite_dbs[0]).await?;
    eprintln!("== POST /api/v1/requests, SQLite");
    results["post"]["sqlite"] = post_figures(&scratch_sqlite("post"), &args).await?;
    if let Some(pg) = &args.data.postgres {
        eprintln!("== POST /api/v1/requests, PostgreSQL");
        results["post"]["postgres"] = post_figures(&fresh_postgres(pg, "post").await?, &args).await?;
    }
    let r = results.clone();
    results["ratios"] = json!({
        "sqlite_import_vs_postgres_copy": ratio(&r["import"]["sqlite"], &r["baseline"]["postgres_copy"], "rows_per_s"),
        "sqlite_import_vs_python_executemany": ratio(&r["import"]["sqlite"], &r["baseline"]["python_sqlite_executemany"], "rows_per_s"),
        "postgres_import_vs_postgres_copy": ratio(&r["import"]["postgres"], &r["baseline"]["postgres_copy"], "rows_per_s"),
    });
    write_results(&args.out, &results)?;
    eprintln!("results written to {}", args.out.display());
    Ok(results)
}

/// What `okno-bench open311` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct Open311Args {
    /// The data and the PostgreSQL server.
    #[command(flatten)]
    pub data: SpbData,
    /// GET calls per measurement.
    #[arg(long, default_value_t = 5_000)]
    pub gets: usize,
    /// POST calls per backend.
    #[arg(long, default_value_t = 10_000)]
    pub posts: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/open311.json")]
    pub out: PathBuf,
}

/// The last 90 days of the St. Petersburg data (it ends on 2021-04-23): a full window.
const SPB_WINDOW: &str = "start_date=2021-01-23T00:00:00%2B03:00&end_date=2021-04-23T00:00:00%2B03:00";

async fn open311_figures(db: String, args: &Open311Args) -> Result<Value> {
    let db = db.as_str();
    import_figures(db, &args.data.appeals, &args.data.events).await?;
    let store = okno_store::open(db).await?;
    let key = okno_app::access::new_secret();
    store.create_api_key("bench", &okno_app::access::secret_hash(&key), chrono::Utc::now()).await?;
    let server = ServerProcess::start(&crate::okno_binary()?, db, &[])?;
    let base = server.url("/open311/v2");
    let mut figures = json!({});
    let get = |url: String| -> RequestMaker { Arc::new(move |client, _| client.get(&url)) };
    eprintln!("   GET requests.json, default window");
    figures["get_default_window"] = http_load(args.gets, args.concurrency, reqwest::StatusCode::OK, get(format!("{base}/requests.json"))).await?;
    eprintln!("   GET requests.json, the data's last 90 days (1,000 items a page)");
    figures["get_full_window"] =
        http_load(args.gets / 10, args.concurrency, reqwest::StatusCode::OK, get(format!("{base}/requests.json?{SPB_WINDOW}"))).await?;
    eprintln!("   POST requests.json");
    let url = format!("{base}/requests.json");
    figures["post"] = http_load(args.posts, args.concurrency, reqwest::StatusCode::OK, Arc::new(move |client, i| {
        client.post(&url).form(&[
            ("api_key", key.as_str()), ("service_code", "spb-189"), ("lat", "59.9343"), ("long", "30.3351"),
            ("description", &format!("Неудовлетворительное состояние парадной, дом {}", i % 200)),
            ("email", "bench@example.org"),
        ])
    })).await?;
    Ok(figures)
}

/// Measures the Open311 endpoint on the imported St. Petersburg data and writes `args.out`.
pub async fn open311(args: Open311Args) -> Result<Value> {
    args.data.check()?;
    on_each_backend("Open311", &args.data, json!({}), &args.out, |db| open311_figures(db, &args)).await
}

/// Runs `figures` on a scratch SQLite database and, when the data names a PostgreSQL server, on
/// a fresh database there; writes `results` with the machine and both backends' figures to `out`.
async fn on_each_backend<F, Fut>(what: &str, data: &SpbData, mut results: Value, out: &Path, figures: F) -> Result<Value>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    results["machine"] = json!({"cores": std::thread::available_parallelism().map_or(0, |n| n.get())});
    let name = what.to_lowercase();
    eprintln!("== {what} on SQLite");
    results["sqlite"] = figures(scratch_sqlite(&name)).await?;
    if let Some(pg) = &data.postgres {
        write_results(out, &results)?;
        eprintln!("== {what} on PostgreSQL");
        results["postgres"] = figures(fresh_postgres(pg, &name).await?).await?;
    }
    write_results(out, &results)?;
    eprintln!("results written to {}", out.display());
    Ok(results)
}

/// What `okno-bench sla` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct SlaArgs {
    /// The data and the PostgreSQL server.
    #[command(flatten)]
    pub data: SpbData,
    /// Synthetic requests added to the imported data for the at-scale figures (0: none).
    #[arg(long, default_value_t = 0)]
    pub synthetic: u64,
    /// Runs of each latency measurement; the median is reported.
    #[arg(long, default_value_t = 15)]
    pub repeat: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/sla.json")]
    pub out: PathBuf,
}

/// Median and p90 of `runs` timings of `f`, in milliseconds.
pub(crate) async fn latency<F, Fut, T>(runs: usize, mut f: F) -> Result<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(json!({"runs": times.len(), "median_ms": percentile(&times, 0.5), "p90_ms": percentile(&times, 0.9)}))
}

/// Appends `n` synthetic requests to a store holding the St. Petersburg catalog: services,
/// agencies and districts drawn in turn, submission times spread over three years, and a
/// registered → routed → answered → closed timeline (the last two for four in five).
async fn add_synthetic(store: &dyn okno_store::Store, n: u64) -> Result<Value> {
    use chrono::{Duration as Span, TimeZone, Utc};
    use okno_core::{Channel, EventKind, NewEvent, NewRequest, Status};
    let services = store.services().await?;
    let agencies = store.agencies().await?;
    anyhow::ensure!(!services.is_empty() && !agencies.is_empty(), "import the St. Petersburg data first");
    let start = Utc.with_ymd_and_hms(2019, 1, 1, 6, 0, 0).single().context("start")?;
    let started = Instant::now();
    let mut batch = Vec::new();
    for i in 0..n {
        let created = start + Span::seconds(i64::try_from(i * 94_608_000 / n.max(1)).unwrap_or(0));
        let agency = agencies[(i % agencies.len() as u64) as usize].code.clone();
        let mut events = vec![NewEvent::new(created, EventKind::Registered, "bench")];
        events[0].status = Some(Status::Registered);
        let mut routed = NewEvent::new(created + Span::hours(2), EventKind::Routed, "bench");
        (routed.status, routed.agency) = (Some(Status::Routed), Some(agency.clone()));
        events.push(routed);
        let closed = i % 5 != 0;
        let answered_at = created + Span::hours(24 + (i % 400) as i64);
        if closed {
            for (kind, status, at) in [(EventKind::Answered, Status::Answered, answered_at), (EventKind::Closed, Status::Closed, answered_at + Span::hours(3))] {
                let mut e = NewEvent::new(at, kind, "bench");
                e.status = Some(status);
                events.push(e);
            }
        }
        let service = services[(i % services.len() as u64) as usize].code.clone();
        let mut request = NewRequest::recorded(service, Channel::Import, Some(("bench".into(), i.to_string())), format!("synthetic request {i}"), created)?;
        request.coordinates = okno_core::Coordinates::new(59.8 + (i % 300) as f64 / 1000.0, 30.2 + (i % 400) as f64 / 1000.0);
        request.agency = Some(agency);
        batch.push(okno_store::ImportedRequest {
            request,
            token: format!("bench{i:011}"),
            status: if closed { Status::Closed } else { Status::Routed },
            updated_at: created, closed_at: closed.then(|| answered_at + Span::hours(3)), due_at: None,
            last_answer: None, rating: None, first_reaction_due_at: None, routing_due_at: None, first_reaction_at: closed.then_some(answered_at),
            first_answer_at: closed.then_some(answered_at), events,
        });
        if batch.len() == 10_000 || i + 1 == n {
            store.import_batch(&batch).await?;
            batch.clear();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({"requests": n, "seconds": seconds, "requests_per_s": n as f64 / seconds}))
}

/// The scorecard counts straight from SQL, as a baseline for the scorecard report.
async fn scorecard_sql_baseline(db: &str) -> Result<()> {
    let now = chrono::Utc::now();
    let sqlite = db.starts_with("sqlite:");
    let now_value = if sqlite { now.timestamp_micros().to_string() } else { format!("'{}'::timestamptz", now.to_rfc3339()) };
    let sql = format!(
        "SELECT agency_code, COUNT(*), SUM(CASE WHEN status IN ('closed', 'rejected', 'duplicate') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN due_at IS NOT NULL AND first_answer_at IS NOT NULL AND first_answer_at <= due_at THEN 1 ELSE 0 END), \
         SUM(CASE WHEN due_at IS NOT NULL AND (first_answer_at IS NOT NULL OR due_at < {now_value}) THEN 1 ELSE 0 END) \
         FROM requests GROUP BY agency_code"
    );
    if sqlite {
        let pool = sqlx::SqlitePool::connect(db).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await?;
    } else {
        let pool = sqlx::PgPool::connect(db).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await?;
    }
    Ok(())
}

async fn sla_figures(db: String, args: &SlaArgs) -> Result<Value> {
    let db = db.as_str();
    let mut figures = json!({"import": import_figures(db, &args.data.appeals, &args.data.events).await?});
    let store = okno_store::open(db).await?;
    if args.synthetic > 0 {
        eprintln!("   adding {} synthetic requests", args.synthetic);
        figures["synthetic"] = add_synthetic(&*store, args.synthetic).await?;
    }
    let config = okno_core::deadline::DeadlineConfig::shipped();
    let catalog = okno_app::timelines::catalog_regimes(&*store).await?;

    eprintln!("   reading every timeline and replaying it");
    let (mut replayed, mut requests, mut events) = (Duration::ZERO, 0usize, 0usize);
    let started = Instant::now();
    okno_app::timelines::for_each_batch(&*store, async |batch| {
        let replay_started = Instant::now();
        for t in &batch {
            if let Some(rules) = okno_app::timelines::rules_of(&config, &catalog, &t.service_code) {
                std::hint::black_box(okno_app::timelines::replay_timeline(rules, t));
            }
        }
        replayed += replay_started.elapsed();
        requests += batch.len();
        events += batch.iter().map(|t| t.events.len()).sum::<usize>();
        Ok(())
    })
    .await?;
    let (read, replayed) = ((started.elapsed() - replayed).as_secs_f64(), replayed.as_secs_f64());
    figures["replay"] = json!({"requests": requests, "events": events, "read_seconds": read, "read_requests_per_s": requests as f64 / read,
        "replay_seconds": replayed, "replay_requests_per_s": requests as f64 / replayed});

    eprintln!("   full recomputation, stored");
    let now = chrono::Utc::now();
    let started = Instant::now();
    let report = okno_app::timelines::recompute(&*store, &config, true, false, now).await?;
    let seconds = started.elapsed().as_secs_f64();
    figures["recompute_all"] = json!({"report": report, "seconds": seconds, "requests_per_s": report.requests as f64 / seconds});
    let started = Instant::now();
    let unchanged = okno_app::timelines::recompute(&*store, &config, true, true, now).await?;
    let seconds = started.elapsed().as_secs_f64();
    figures["recompute_again_no_changes"] = json!({"changed": unchanged.changed, "seconds": seconds, "requests_per_s": unchanged.requests as f64 / seconds});

    eprintln!("   scorecards");
    let period: okno_app::reports::Period = "2013-01-01..2028-01-01".parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let problem = |e| anyhow::anyhow!("{e:?}");
    for (name, by) in [("scorecard_by_agency", okno_store::ScoreBy::Agency), ("scorecard_by_territory", okno_store::ScoreBy::Territory)] {
        figures[name] = latency(args.repeat, || async {
            okno_app::reports::scorecard_report(&*store, &config, by, period, 30, now).await.map_err(problem)
        }).await?;
    }
    figures["baseline_sql_counts_by_agency"] = latency(args.repeat, || scorecard_sql_baseline(db)).await?;
    figures["scorecard_vs_sql_counts"] = json!(figures["scorecard_by_agency"]["median_ms"].as_f64().unwrap_or(0.0)
        / figures["baseline_sql_counts_by_agency"]["median_ms"].as_f64().unwrap_or(1.0));
    figures["queue_counts"] = latency(args.repeat, || async {
        Ok(store.queue_counts(now, now + chrono::Duration::hours(12), now + chrono::Duration::days(7)).await?)
    }).await?;
    Ok(figures)
}

/// Measures deadline computation, full recomputation and scorecard latency on the imported
/// St. Petersburg data (plus `--synthetic` requests) and writes `args.out`.
pub async fn sla(args: SlaArgs) -> Result<Value> {
    args.data.check()?;
    on_each_backend("Deadlines", &args.data, json!({"synthetic": args.synthetic}), &args.out, |db| sla_figures(db, &args)).await
}
