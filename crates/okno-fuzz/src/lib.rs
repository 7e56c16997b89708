//! Okno's fuzz targets: every parser of input from outside, each a function of raw bytes that
//! panics only on a finding. libFuzzer drives them from `fuzz/` (`cargo +nightly fuzz run NAME`),
//! and the test suite replays the committed corpus and a seeded batch of mutations through them
//! (`tests/corpus.rs`), so a fixed finding stays fixed on the stable toolchain too.
//!
//! A finding is a panic, a server error (5xx) where the input should have been refused, an import
//! that fails on anything but its input, or a broken invariant stated at the target.

use axum::body::Body;
use axum::http::{header, Request};
use okno_app::imports::{csv_rows::CsvRows, spb, us311};
use okno_app::AppError;
use okno_core::{Agency, Service};
use okno_store::Store;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// A fuzz target: it takes any bytes, and panics only on a finding.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/` and the corpus folders name them.
pub const TARGETS: [(&str, Target); 11] = [
    ("csv_rows", csv_rows),
    ("import_spb", import_spb),
    ("import_la311", import_la311),
    ("import_nyc311", import_nyc311),
    ("json_intake", json_intake),
    ("open311_form", open311_form),
    ("open311_multipart", open311_multipart),
    ("geojson_territories", geojson_territories),
    ("calendar", calendar),
    ("deadlines", deadlines),
    ("rules", rules),
];

/// The boundary the `open311_multipart` target's bodies use.
pub const MULTIPART_BOUNDARY: &str = "okno-fuzz-boundary";

/// A database, the server on it and an API key, made once per process: intake and imports write
/// to an in-memory SQLite, like the embedded production store but without a file.
struct Harness {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    router: axum::Router,
    api_key: String,
    dir: PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
        let (store, router, api_key) = runtime.block_on(async {
            let store = okno_store::open("sqlite::memory:").await.expect("an in-memory database");
            store.upsert_agency(&Agency { code: "roads".into(), name_ru: "Дороги".into(), name_en: "Roads".into(), parent: None }).await.expect("an agency");
            store.upsert_service(&Service {
                code: "pothole".into(), name_ru: "Яма".into(), name_en: "Pothole".into(), description_ru: String::new(), description_en: String::new(),
                group: "roads".into(), keywords: vec!["яма".into()], attributes: Vec::new(), default_agency: Some("roads".into()),
                deadline_regime: "fz59".into(), electronic: true, active: true,
            }).await.expect("a service");
            let key = okno_app::access::issue_api_key(store.as_ref(), "fuzz", "fuzz", chrono::Utc::now()).await.expect("an API key").key;
            let classifier = okno_app::models::Classifier::load(okno_app::models::ClassifierConfig::default()).expect("no models");
            let app = okno_app::App::new(store.clone(), okno_core::deadline::DeadlineConfig::shipped(), okno_app::Rules::default(), classifier).expect("the app");
            let config = okno_server::ServerConfig { submit_per_minute: 0, api_key_per_minute: 0, classify_per_minute: 0, ..Default::default() };
            (store, okno_server::app(okno_server::AppState::new(app, config)), key)
        });
        let dir = std::env::temp_dir().join(format!("okno-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Harness { runtime, store, router, api_key, dir }
    })
}

/// Import rows: whatever the bytes, every row comes out as a record of the header's width or
/// as a bad row, in the order of their lines.
pub fn csv_rows(data: &[u8]) {
    let Ok(rows) = CsvRows::new(std::io::Cursor::new(data.to_vec())) else { return };
    let width = rows.headers().len();
    let mut last_line = 1;
    for row in rows {
        let line = match row.expect("reading from memory does not fail") {
            Ok(record) => {
                assert_eq!(record.len(), width, "a good row has the header's width");
                record.position().expect("a good row knows its line").line()
            }
            Err(bad) => bad.line,
        };
        assert!(line > last_line, "rows come in the order of their lines: {line} after {last_line}");
        last_line = line;
    }
}

/// Runs an import of `data` as a file; it may refuse the file for its input, never fail otherwise.
fn import_file(data: &[u8], import: impl AsyncFnOnce(Arc<dyn Store>, PathBuf) -> okno_app::Result<okno_app::imports::ImportReport>) {
    let h = harness();
    let path = h.dir.join("input.csv");
    std::fs::write(&path, data).expect("writing the input");
    match h.runtime.block_on(import(h.store.clone(), path)) {
        Ok(report) => assert!(report.bad_rows.len() as u64 <= report.rows, "more bad rows than rows: {report}"),
        Err(AppError::Input(_)) => {}
        Err(other) => panic!("the import failed on something other than its input: {other:?}"),
    }
}

/// The St. Petersburg portal's appeals file.
pub fn import_spb(data: &[u8]) {
    import_file(data, async |store, path| spb::import(store, &path, None).await);
}

/// A Los Angeles 311 export.
pub fn import_la311(data: &[u8]) {
    import_file(data, async |store, path| us311::import(store, &path, us311::Profile::La).await);
}

/// A New York 311 export.
pub fn import_nyc311(data: &[u8]) {
    import_file(data, async |store, path| us311::import(store, &path, us311::Profile::Nyc).await);
}

/// Sends `request` to the server; any input gets an answer below 500.
fn answer_below_500(request: Request<Body>) {
    let h = harness();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = h.runtime.block_on(h.router.clone().oneshot(request)).expect("the router always answers");
    let status = response.status();
    if status.is_server_error() {
        let body = h.runtime.block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap_or_default();
        panic!("{method} {uri} answered {status}: {}", String::from_utf8_lossy(&body));
    }
}

/// The JSON API's intake: a body for `POST /api/v1/requests`.
pub fn json_intake(data: &[u8]) {
    answer_below_500(Request::post("/api/v1/requests").header(header::CONTENT_TYPE, "application/json").body(Body::from(data.to_vec())).expect("a request"));
}

/// Open311's form intake: the fields after a valid `api_key` in `POST requests.json`.
pub fn open311_form(data: &[u8]) {
    let mut body = format!("api_key={}&", harness().api_key).into_bytes();
    body.extend_from_slice(data);
    answer_below_500(Request::post("/open311/v2/requests.json").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)).expect("a request"));
}

/// Open311's multipart intake (a photo with the fields), with [`MULTIPART_BOUNDARY`].
pub fn open311_multipart(data: &[u8]) {
    let key = &harness().api_key;
    answer_below_500(
        Request::post(format!("/open311/v2/requests.json?api_key={key}"))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"))
            .body(Body::from(data.to_vec()))
            .expect("a request"),
    );
}

/// Territory boundaries as GeoJSON: read or refused with a reason; a read territory has a name.
pub fn geojson_territories(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fields = okno_geo::features::FeatureFields { name: "name".into(), code: Some("code".into()), population: Some("population".into()), repair: data.len().is_multiple_of(2) };
    if let Ok(features) = okno_geo::features::read_features(text, &fields) {
        assert!(features.iter().all(|f| !f.name.trim().is_empty()), "a territory without a name");
    }
}

/// A production-calendar file.
pub fn calendar(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = okno_core::calendar::WorkCalendar::parse(text);
    }
}

/// A deadline configuration, whose calendar files are the shipped ones.
pub fn deadlines(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = okno_core::deadline::DeadlineConfig::parse(text, &|name| Err(format!("no file {name} here")));
    }
}

/// Spike and systemic-problem rules files, as `--alert-rules` and `--problem-rules` read them.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spikes) = toml::from_str::<okno_analytics::spikes::SpikeRules>(text) {
        let _ = spikes.validated();
    }
    if let Ok(problems) = toml::from_str::<okno_core::problem::ProblemRules>(text) {
        let _ = problems.validated();
    }
}
