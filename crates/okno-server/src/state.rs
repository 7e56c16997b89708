//! What every handler shares: the application, the HTTP edge's settings, and the per-client
//! rate limits. A leaf module: it imports nothing from the handlers.

use crate::limits::Limits;
use ipnet::IpNet;
use chrono_tz::Tz;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Anonymous submissions (and citizens' actions) per minute per client address; 0 = unlimited.
    pub submit_per_minute: u32,
    /// Sign-in attempts per minute per client address, and failed ones per login; 0 = unlimited.
    pub login_per_minute: u32,
    /// Anonymous classifications per minute per client address; 0 = unlimited.
    pub classify_per_minute: u32,
    /// Open311 requests filed per minute per API key; 0 = unlimited.
    pub api_key_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers name the client (addresses or
    /// networks); from anyone else those headers are ignored.
    pub trusted_proxies: Vec<IpNet>,
    /// The Open311 endpoint.
    pub open311: Open311Config,
    /// A MapLibre style URL for the web UI's base map; none: outlines and data only.
    pub map_style_url: Option<String>,
    /// The address clients reach this server at (scheme, host and port; no trailing slash),
    /// from which links it hands out are built (Open311 `media_url`, discovery), never from a
    /// client's `Host` header.
    pub public_url: String,
    /// How long a client may take to send a request's headers; also how long a keep-alive
    /// connection may sit idle. A slower one is disconnected.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body once its headers are in (a body
    /// shorter than its `Content-Length` waits no longer than this).
    pub body_timeout: Duration,
    /// Most connections open at once from one address; more are closed as they arrive.
    pub max_connections_per_address: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            max_body_bytes: 64 * 1024,
            submit_per_minute: 20,
            login_per_minute: 10,
            classify_per_minute: 60,
            api_key_per_minute: 600,
            trusted_proxies: Vec::new(),
            open311: Open311Config::default(),
            map_style_url: None,
            public_url: "http://127.0.0.1:8080".into(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections_per_address: 256,
        }
    }
}

/// Everything a handler needs: the application (its use-cases' state) and the HTTP edge's own.
#[derive(Clone)]
pub struct AppState {
    /// The application: store, configuration, what is kept in memory.
    pub app: okno_app::App,
    /// Settings of the HTTP edge.
    pub config: Arc<ServerConfig>,
    /// The rate limits, a bucket per purpose.
    pub limits: Arc<Limits>,
    /// Requests answered and their latency, for `/metrics`.
    pub metrics: Arc<crate::metrics::HttpMetrics>,
}

impl AppState {
    /// The HTTP edge of `app` with `config`.
    pub fn new(app: okno_app::App, config: ServerConfig) -> Self {
        AppState {
            app,
            limits: Arc::new(Limits::new(config.submit_per_minute, config.classify_per_minute, config.login_per_minute, config.api_key_per_minute)),
            config: Arc::new(config),
            metrics: Arc::default(),
        }
    }
}

/// Settings of the Open311 endpoint.
#[derive(Debug, Clone)]
pub struct Open311Config {
    /// Where the endpoint lives, e.g. `/open311/v2`.
    pub base_path: String,
    /// If set, a `jurisdiction_id` that is given must equal it.
    pub jurisdiction_id: Option<String>,
    /// Time zone of the dates in responses.
    pub timezone: Tz,
    /// Largest `media` upload, in bytes.
    pub max_media_bytes: usize,
}

impl Default for Open311Config {
    fn default() -> Self {
        Open311Config {
            base_path: "/open311/v2".into(),
            jurisdiction_id: None,
            timezone: chrono_tz::Europe::Moscow,
            max_media_bytes: 5 * 1024 * 1024,
        }
    }
}
