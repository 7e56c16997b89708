//! What every handler shares: the application, the HTTP edge's settings, and the per-client
//! rate limits. A leaf module: it imports nothing from the handlers.

use crate::error::ApiError;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Anonymous submissions (and citizens' actions) per minute per client address; 0 = unlimited.
    pub submit_per_minute: u32,
    /// Sign-in attempts per minute per client address; 0 = unlimited.
    pub login_per_minute: u32,
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
    /// Limits anonymous submissions per client.
    pub submit_limiter: Arc<RateLimiter>,
    /// Limits sign-in attempts per client.
    pub login_limiter: Arc<RateLimiter>,
}

impl AppState {
    /// The HTTP edge of `app` with `config`.
    pub fn new(app: okno_app::App, config: ServerConfig) -> Self {
        AppState {
            app,
            submit_limiter: Arc::new(RateLimiter::new(config.submit_per_minute, config.submit_per_minute.max(1))),
            login_limiter: Arc::new(RateLimiter::new(config.login_per_minute, config.login_per_minute.max(1))),
            config: Arc::new(config),
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

/// A token bucket per client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// Allows `per_minute` calls on average with bursts of `burst`; `per_minute = 0` disables the limit.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter { per_minute: f64::from(per_minute), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one call from `client`'s bucket, or says how many seconds to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), ApiError> {
        if self.per_minute == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 100_000 {
            let (rate, burst) = (self.per_minute / 60.0, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::TooManyRequests(((1.0 - *tokens) * 60.0 / self.per_minute).ceil() as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_refuses_after_burst() {
        let limiter = RateLimiter::new(60, 3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            limiter.check(ip).unwrap();
        }
        assert!(matches!(limiter.check(ip), Err(ApiError::TooManyRequests(1))));
        limiter.check(IpAddr::from([10, 0, 0, 2])).unwrap();
        let unlimited = RateLimiter::new(0, 1);
        for _ in 0..100 {
            unlimited.check(ip).unwrap();
        }
    }
}
