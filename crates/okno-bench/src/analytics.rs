//! `okno-bench analytics`: N requests resampled from the real St. Petersburg appeals (places
//! jittered by up to ~150 m, times spread over 2019–2021), imported into a fresh embedded store
//! with placement and rollups, then the four queries timed in Okno's process and
//! through HTTP, side by side with DuckDB on the very same rows (exported as CSV) in one run.

use crate::suites::{latency, run_python, write_results};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use okno_analytics::{Cube, Filter, StatusClass, Window};
use okno_core::{EventKind, NewEvent, Request, RequestFilter, Status};
use okno_store::{ImportedRequest, Store};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What `okno-bench analytics` is told.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyticsArgs {
    /// Requests to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// The portal's appeals.csv.gz, resampled.
    #[arg(long, default_value = "../shared/data/ru_spb_appeals/appeals.csv.gz")]
    pub appeals: PathBuf,
    /// The municipal boundaries requests are placed in.
    #[arg(long, default_value = "../shared/data/geo/spb_municipal_formations_osm_gislab.geojson")]
    pub boundaries: PathBuf,
    /// Also write the generated rows here as CSV (id, created_at, category, agency,
    /// municipality, lat, lon, status, closed_at; times in Moscow time).
    #[arg(long)]
    pub export_csv: Option<PathBuf>,
    /// A Python with DuckDB for the baseline (`scripts/bench/python-env.sh` makes it);
    /// the baseline is recorded as skipped without it.
    #[arg(long, default_value = ".venv/bin/python")]
    pub python: PathBuf,
    /// The baseline script.
    #[arg(long, default_value = "scripts/bench/duckdb_baseline.py")]
    pub baseline_script: PathBuf,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 30)]
    pub repeat: usize,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench-results/analytics.json")]
    pub out: PathBuf,
    /// Keep the generated database as DIR/okno.db (e.g. to serve it and time the web UI);
    /// by default it is made in a temporary folder and removed.
    #[arg(long)]
    pub keep_dir: Option<PathBuf>,
}

/// The category of query a, and the municipality of query c, as the issue names them.
const CATEGORY_A: &str = "Благоустройство";
const MUNICIPALITY_C: &str = "Смольнинское";

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

/// The real appeals with a point, read back from a throwaway store the portal importer filled,
/// and that store (its catalog is copied into the bench's).
async fn templates(args: &AnalyticsArgs) -> Result<(Vec<Request>, Arc<dyn Store>)> {
    let source = okno_store::open("sqlite::memory:").await?;
    okno_app::imports::spb::import(source.clone(), &args.appeals, None).await?;
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        let page = source.list_requests(&RequestFilter { before_id: before, limit: 5_000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        rows.extend(page.into_iter().filter(|r| r.coordinates.is_some()));
    }
    Ok((rows, source))
}

/// Copies the catalog (agencies, territories, services) from `source`, then the boundaries.
async fn prepare(store: &dyn Store, source: &dyn Store, args: &AnalyticsArgs) -> Result<()> {
    for a in source.agencies().await? {
        store.upsert_agency(&a).await?;
    }
    // Parents before their children.
    let mut pending = source.territories().await?;
    let mut stored = std::collections::HashSet::new();
    while !pending.is_empty() {
        let (ready, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|t| t.parent.as_ref().is_none_or(|p| stored.contains(p)));
        anyhow::ensure!(!ready.is_empty(), "territories whose parents never come: {}", waiting.len());
        for t in ready {
            store.upsert_territory(&t).await?;
            stored.insert(t.code);
        }
        pending = waiting;
    }
    for s in source.services().await? {
        store.upsert_service(&s).await?;
    }
    okno_app::imports::territories::import_territories(store, &okno_app::imports::territories::ImportTerritoriesArgs {
        file: args.boundaries.clone(), name_field: "name".into(), kind: "municipality".into(), code_field: None,
        parent: None, population_field: None, repair: false, attribution: None,
    }).await?;
    Ok(())
}

/// Generates, places and imports the rows; writes the CSV when asked. Returns the import figures.
async fn generate(store: &Arc<dyn Store>, templates: &[Request], args: &AnalyticsArgs, csv: Option<&PathBuf>) -> Result<Value> {
    let boundaries = okno_app::places::load_boundaries(store.as_ref()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: HashMap<okno_core::TerritoryCode, String> = store.territories().await?.into_iter().map(|t| (t.code, t.name_ru)).collect();
    let mut out = csv.map(|p| std::fs::File::create(p).map(std::io::BufWriter::new)).transpose()?;
    if let Some(out) = out.as_mut() {
        writeln!(out, "id,created_at,category,agency,municipality,lat,lon,status,closed_at")?;
    }
    let moscow = chrono_tz::Europe::Moscow;
    let start = moscow.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).single().context("a Moscow time")?.with_timezone(&Utc);
    let span = (moscow.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).single().context("a Moscow time")?.with_timezone(&Utc) - start).num_seconds();
    let mut random = rand::rngs::StdRng::seed_from_u64(2026);
    let local = |t: DateTime<Utc>| t.with_timezone(&moscow).format("%Y-%m-%d %H:%M:%S").to_string();
    // An export comes in the order requests arrived: times drawn, then sorted.
    let mut times: Vec<i64> = (0..args.rows).map(|_| random.gen_range(0..span)).collect();
    times.sort_unstable();
    let mut batcher = okno_app::imports::Batcher::new(store.clone(), "bench");
    for (i, offset) in times.into_iter().enumerate() {
        let t = &templates[random.gen_range(0..templates.len())];
        let point = t.coordinates.context("templates have points")?;
        let lat = point.lat + random.gen_range(-1.0..1.0) * 150.0 / 111_320.0;
        let lon = point.lon + random.gen_range(-1.0..1.0) * 150.0 / (111_320.0 * lat.to_radians().cos());
        let created_at = start + Duration::seconds(offset);
        let closed_at = t.closed_at.map(|c| created_at + (c - t.created_at));
        let placement = boundaries.index.place(lat, lon);
        let mut request = okno_core::NewRequest::recorded(t.service_code.clone(), t.channel, Some(("bench".into(), i.to_string())), t.text.clone(), created_at)?;
        request.coordinates = okno_core::Coordinates::new(lat, lon);
        request.territory = placement.territory.clone().map(Into::into).or_else(|| t.territory.clone());
        request.agency = t.agency.clone();
        request.priority = t.priority;
        request.location = okno_app::places::location(&placement);
        request.category = t.category.clone();
        request.reason = t.reason.clone();
        if let Some(out) = out.as_mut() {
            let municipality = placement.territory.as_ref().and_then(|c| names.get(c.as_str())).map_or("", String::as_str);
            writeln!(out, "{i},{},{},{},{},{lat:.6},{lon:.6},{},{}", local(created_at), csv_text(request.category.as_deref().unwrap_or("")),
                csv_text(request.agency.as_deref().unwrap_or("")), csv_text(municipality), t.status.as_str(), closed_at.map(local).unwrap_or_default())?;
        }
        let mut events = vec![NewEvent::new(created_at, EventKind::Registered, "bench")];
        if let Some(closed) = closed_at {
            let mut done = NewEvent::new(closed, EventKind::Closed, "bench");
            done.status = Some(Status::Closed);
            events.push(done);
        }
        batcher.row();
        batcher.push(i as u64 + 2, ImportedRequest {
            token: okno_app::intake::tracking_token(created_at, &mut random), request, status: t.status, updated_at: closed_at.unwrap_or(created_at), closed_at,
            due_at: None, last_answer: None, rating: None, first_reaction_due_at: None, routing_due_at: None,
            first_reaction_at: None, first_answer_at: None, events,
        }).await?;
    }
    let report = batcher.finish().await?;
    anyhow::ensure!(report.counts.inserted == args.rows as u64, "{} of {} requests stored", report.counts.inserted, args.rows);
    let seconds = report.elapsed.as_secs_f64();
    if let Some(mut out) = out {
        out.flush()?;
    }
    Ok(json!({"rows": args.rows, "seconds": seconds, "rows_per_s": args.rows as f64 / seconds,
        "includes": format!("generation, placement in {} municipal boundaries, H3 cell, rows with their events and rollups through okno import's batcher, one transaction per {}", boundaries.index.len(), okno_app::imports::BATCH_SIZE)}))
}

/// SQLite's own speed on the very rows just imported, the ceiling of any import into Okno's
/// schema: a fresh database made by the store (same schema, indexes and constraints), written
/// with the store writer's settings, filled by `INSERT … SELECT` from the imported one — no
/// binding, no Okno code — as many requests with their events per transaction as an import
/// writes, then the rollups.
/// `without_indexes` first drops the requests' and events' secondary indexes (their UNIQUE
/// constraints stay): the ceiling of any design that keeps these rows at all.
async fn sqlite_copy(dir: &std::path::Path, without_indexes: bool) -> Result<Value> {
    use sqlx::{Connection, Executor};
    // A file of its own for each copy: the previous copy's files are removed just before.
    let name = if without_indexes { "copy-without-indexes.db" } else { "copy.db" };
    let target = dir.join(name);
    drop(okno_store::open(&format!("sqlite://{}", target.display())).await?);
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&target)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal).synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(false).pragma("cache_size", okno_store::SQLITE_WRITER_CACHE_KIB);
    let mut copy = sqlx::SqliteConnection::connect_with(&options).await?;
    copy.execute(sqlx::AssertSqlSafe(format!("ATTACH DATABASE '{}' AS imported", dir.join("okno.db").display()))).await?;
    for catalog in ["agencies", "territories", "territory_shapes", "services", "rollup_dims"] {
        copy.execute(sqlx::AssertSqlSafe(format!("INSERT OR REPLACE INTO main.{catalog} SELECT * FROM imported.{catalog}"))).await?;
    }
    if without_indexes {
        let indexes: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('requests', 'events')")
            .fetch_all(&mut copy).await?;
        for index in indexes {
            copy.execute(sqlx::AssertSqlSafe(format!("DROP INDEX main.{index}"))).await?;
        }
    }
    copy.execute("PRAGMA foreign_keys = ON").await?;
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM imported.requests").fetch_one(&mut copy).await?;
    let started = Instant::now();
    let per_transaction = okno_app::imports::BATCH_SIZE as i64;
    for low in (0..last).step_by(okno_app::imports::BATCH_SIZE) {
        let mut tx = copy.begin().await?;
        for sql in ["INSERT INTO main.requests SELECT * FROM imported.requests WHERE id > $1 AND id <= $2 ORDER BY id",
            "INSERT INTO main.events SELECT * FROM imported.events WHERE request_id > $1 AND request_id <= $2 ORDER BY id"] {
            sqlx::query(sql).bind(low).bind(low + per_transaction).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    copy.execute("INSERT INTO main.rollups SELECT * FROM imported.rollups").await?;
    let seconds = started.elapsed().as_secs_f64();
    copy.close().await?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
    }
    Ok(json!({"rows": last, "seconds": seconds, "rows_per_s": last as f64 / seconds}))
}

fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The four queries as Okno answers them, with the answers' totals to compare.
struct Queries {
    bbox: [f64; 4],
    municipality: okno_core::TerritoryCode,
}

impl Queries {
    fn a(&self, cube: &Cube) -> Result<i64> {
        let filter = Filter { category: Some(CATEGORY_A.into()), ..Default::default() };
        Ok(cube.cells(8, Some(self.bbox), Window::new(date("2021-01-15"), date("2021-02-14"))?, &filter)?.iter().map(|c| c.count).sum())
    }

    fn b(&self, cube: &Cube) -> Result<i64> {
        Ok(cube.cells(8, Some(self.bbox), Window::new(date("2021-01-01"), date("2022-01-01"))?, &Filter::default())?.iter().map(|c| c.count).sum())
    }

    fn c(&self, cube: &Cube) -> Result<BTreeMap<String, i64>> {
        let filter = Filter { territory: Some(self.municipality.clone()), status: StatusClass::Any, ..Default::default() };
        let series = cube.series_by_category(Window::new(date("2021-01-01"), date("2022-01-01"))?, &filter);
        Ok(series.into_iter().map(|(c, days)| (c, days.iter().map(|(_, n)| n).sum())).collect())
    }

    fn d(&self, cube: &Cube) -> BTreeMap<String, i64> {
        cube.backlog(date("2021-11-01"), date("2021-12-01")).into_iter().collect()
    }
}

/// Times the four queries in this process.
async fn in_process(cube: &Cube, q: &Queries, repeat: usize) -> Result<Value> {
    Ok(json!({
        "a": latency(repeat, || async { q.a(cube) }).await?,
        "b": latency(repeat, || async { q.b(cube) }).await?,
        "c": latency(repeat, || async { q.c(cube) }).await?,
        "d": latency(repeat, || async { Ok(q.d(cube)) }).await?,
    }))
}

/// Starts `okno serve` on the bench's database (it loads the rollups before it listens), times
/// the four queries through HTTP against it, and reports its start time and memory.
async fn over_http(db: &str, store: &dyn Store, q: &Queries, repeat: usize) -> Result<(Value, Value)> {
    let started = Instant::now();
    let quiet = ["--sla-interval", "0", "--webhook-interval", "0", "--alert-interval", "0", "--problem-interval", "0"];
    let server = okno::process::ServerProcess::start(&crate::okno_binary()?, db, &quiet)?;
    let start_seconds = started.elapsed().as_secs_f64();
    let rss_at_start = server.rss_kib();
    let client = reqwest::Client::new();
    let cookie = crate::suites::sign_in(&client, &server.base, store).await?;
    let [w, s, e, n] = q.bbox;
    let paths = [
        ("a", format!("/api/v1/analytics/heatmap?format=json&resolution=8&bbox={w},{s},{e},{n}&from=2021-01-15&to=2021-02-14&category={CATEGORY_A}")),
        ("a_geojson", format!("/api/v1/analytics/heatmap?resolution=8&bbox={w},{s},{e},{n}&from=2021-01-15&to=2021-02-14&category={CATEGORY_A}")),
        ("b", format!("/api/v1/analytics/heatmap?format=json&resolution=8&bbox={w},{s},{e},{n}&from=2021-01-01&to=2022-01-01")),
        ("c", format!("/api/v1/analytics/series?by=category&territory={}&from=2021-01-01&to=2022-01-01", q.municipality)),
        ("d", "/api/v1/analytics/backlog?created_before=2021-11-01&open_at=2021-12-01".to_owned()),
    ];
    let mut figures = serde_json::Map::new();
    for (name, path) in paths {
        let url = server.url(&path);
        let figure = latency(repeat, || async {
            let response = client.get(&url).header("cookie", &cookie).send().await?;
            anyhow::ensure!(response.status().is_success(), "GET {url}: {}", response.status());
            Ok(response.bytes().await?.len())
        }).await?;
        figures.insert(name.to_owned(), figure);
    }
    let memory = json!({"start_seconds": start_seconds, "rss_kib_at_start": rss_at_start, "rss_kib_after_queries": server.rss_kib(),
        "peak_rss_kib": server.peak_rss_kib()});
    Ok((Value::Object(figures), memory))
}

/// Runs the whole bench and writes its results.
pub async fn analytics(args: AnalyticsArgs) -> Result<Value> {
    anyhow::ensure!(args.appeals.exists() && args.boundaries.exists(), "the St. Petersburg data is not at {}", args.appeals.display());
    anyhow::ensure!(args.rows > 0, "--rows must be positive");
    let dir = args.keep_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("okno-bench-analytics-{}", std::process::id())));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    anyhow::ensure!(!dir.join("okno.db").exists(), "{} already exists; give an empty --keep-dir", dir.join("okno.db").display());
    let db = format!("sqlite://{}/okno.db", dir.display());
    let (rows, source) = templates(&args).await?;
    let store = okno_store::open(&db).await?;
    prepare(store.as_ref(), source.as_ref(), &args).await?;
    drop(source);
    let baseline_wanted = args.python.exists() && args.baseline_script.exists();
    let csv = args.export_csv.clone().or_else(|| baseline_wanted.then(|| dir.join("rows.csv")));
    eprintln!("generating and importing {} requests into {db}", args.rows);
    let mut import = generate(&store, &rows, &args, csv.as_ref()).await?;
    drop(rows);
    eprintln!("copying the same rows with SQLite alone");
    import["sqlite_copy"] = sqlite_copy(&dir, false).await?;
    import["sqlite_copy_without_indexes"] = sqlite_copy(&dir, true).await?;

    let started = Instant::now();
    let cube = okno_app::analytics::load_cube(store.as_ref(), chrono_tz::Europe::Moscow).await?;
    let load_seconds = started.elapsed().as_secs_f64();
    let municipality = store.territories().await?.into_iter().find(|t| t.kind == "municipality" && t.name_ru.contains(MUNICIPALITY_C))
        .context("no Smolninskoe municipality among the territories")?;
    let queries = Queries { bbox: [30.25, 59.90, 30.40, 59.97], municipality: municipality.code.clone() };
    let answers = json!({"a_total": queries.a(&cube)?, "b_total": queries.b(&cube)?, "c_by_category": queries.c(&cube)?, "d_by_agency": queries.d(&cube)});
    let okno = in_process(&cube, &queries, args.repeat).await?;
    let size = cube.size();
    drop(cube);
    let (http, server) = over_http(&db, store.as_ref(), &queries, args.repeat).await?;
    let file_bytes = std::fs::metadata(dir.join("okno.db")).map(|m| m.len()).unwrap_or(0);

    let mut results = json!({
        "rows": args.rows,
        "queries": okno,
        "http": http,
        "import_rows_per_s": import["rows_per_s"],
        "import": import,
        "rollups": {"load_seconds": load_seconds, "size": size},
        "server": server,
        "database_bytes": file_bytes,
        "answers": answers,
        "municipality_c": municipality.name_ru,
        "queries_defined": "a: cells of category Благоустройство, 2021-01-15 ≤ created < 2021-02-14, lat 59.90–59.97, lon 30.25–30.40 (Okno: H3 res 8 by cell centre; DuckDB: 0.0045° × 0.009° grid by point); b: same box, all categories, 2021; c: daily counts per category in the municipality, 2021; d: per agency, created before 2021-11-01 and not closed by 2021-12-01",
    });
    results["baseline"] = match &csv {
        Some(csv) if baseline_wanted => {
            let repeat = args.repeat.to_string();
            let baseline = run_python(&args.python, &args.baseline_script, &[csv.as_os_str(), "--municipality".as_ref(),
                municipality.name_ru.as_ref(), "--category".as_ref(), CATEGORY_A.as_ref(), "--repeat".as_ref(), repeat.as_ref()])?;
            for name in ["a", "b", "c", "d"] {
                results["ratios"][name] = crate::suites::ratio(&baseline["queries"][name], &results["queries"][name], "median_ms");
            }
            results["agreement"] = json!({
                "c_same_counts": baseline["answers"]["c_by_category"] == results["answers"]["c_by_category"],
                "d_same_counts": baseline["answers"]["d_by_agency"] == results["answers"]["d_by_agency"],
            });
            baseline
        }
        _ => json!({"skipped": format!("no {} or {}: run scripts/bench/python-env.sh", args.python.display(), args.baseline_script.display())}),
    };
    if args.keep_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else if let Some(csv) = csv.filter(|_| args.export_csv.is_none()) {
        // The kept folder holds the database; the CSV made only for the baseline goes.
        let _ = std::fs::remove_file(csv);
    }
    write_results(&args.out, &results)?;
    Ok(results)
}
