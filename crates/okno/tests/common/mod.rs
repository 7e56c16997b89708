//! What the system tests share: the binary under test, a running server, the command line,
//! the shared data sets, signing in, and a citizen's request.
// Each test binary uses part of these.
#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use okno::process::ServerProcess;
use std::process::Command;

pub const OKNO: &str = env!("CARGO_BIN_EXE_okno");

/// A running `okno serve` of the binary under test.
pub struct Server(pub ServerProcess);

impl Server {
    pub fn start(db: &str, extra: &[&str]) -> Server {
        Server(ServerProcess::start(std::path::Path::new(OKNO), db, extra).expect("starting okno serve"))
    }

    pub fn url(&self, path: &str) -> String {
        self.0.url(path)
    }

    pub fn kill_dash_nine(self) {
        self.0.kill_dash_nine().expect("SIGKILL");
    }
}

/// Runs `okno` successfully and returns what it wrote to standard output and standard error.
pub fn okno(db: &str, args: &[&str]) -> String {
    let out = okno_run(db, args);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Runs `okno` successfully and returns its standard output alone.
pub fn okno_stdout(db: &str, args: &[&str]) -> String {
    String::from_utf8_lossy(&okno_run(db, args).stdout).into_owned()
}

pub fn okno_run(db: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(OKNO).args(["--db", db]).args(args).output().expect("running okno");
    assert!(out.status.success(), "okno {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(relative);
    if path.exists() {
        Some(path)
    } else {
        okno_store::testing::skipped(&format!("{} is absent", path.display()));
        None
    }
}

/// How long a test client keeps an idle connection: well under the server's 10 s idle
/// keep-alive limit, so that no request is sent on a connection the server is closing.
pub const CLIENT_IDLE: std::time::Duration = std::time::Duration::from_secs(3);

/// An HTTP client that lets idle connections go before the server does.
pub fn client() -> Client {
    Client::builder().pool_idle_timeout(CLIENT_IDLE).build().unwrap()
}

/// Signs in and returns the session's client and its CSRF token.
pub async fn login(base: &Server, user: &str, password: &str) -> (Client, String) {
    let client = Client::builder().cookie_store(true).pool_idle_timeout(CLIENT_IDLE).build().unwrap();
    let response = client.post(base.url("/api/v1/auth/login")).json(&json!({"login": user, "password": password})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login as {user}");
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let me: Value = response.json().await.unwrap();
    (client, me["csrf_token"].as_str().unwrap().to_owned())
}

pub fn citizen_request(service: &str) -> Value {
    json!({
        "service_code": service,
        "text": "Яма на дороге у дома 5, <script>alert(1)</script>",
        "lat": 60.0424, "lon": 30.5813,
        "address": "Садовая ул., 5",
        "channel": "web",
        "contact": {"name": "Петрова Анна", "phone": "+7 900 123-45-67", "email": "anna@example.org"}
    })
}
