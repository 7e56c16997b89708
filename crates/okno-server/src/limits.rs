//! Rate limits, a bucket per purpose so that one kind of traffic cannot use up another's, and
//! who the client is when Okno runs behind a proxy it trusts.

use crate::error::ApiError;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Most keys a limiter remembers before it forgets the full buckets.
const MAX_KEYS: usize = 100_000;

/// A token bucket per key (a client address, a login, an API key's client).
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// One key's tokens, when they were counted, and whether it has been refused since it last
/// passed.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    refusing: bool,
}

/// A call refused for its rate: when to try again, and whether it is the first refusal since the
/// key last passed (so that a throttling is recorded once, not once per attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Seconds until a call will pass.
    pub retry_after: u64,
    /// The first refusal since the key last passed.
    pub first: bool,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::TooManyRequests(r.retry_after)
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Allows `per_minute` calls on average with bursts of `burst`; `per_minute = 0` disables the limit.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter { per_minute: f64::from(per_minute), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes one call from `key`'s bucket, or says how many seconds to wait.
    pub fn check(&self, key: &K) -> Result<(), Refusal> {
        self.with_bucket(key, |tokens| {
            if *tokens >= 1.0 {
                *tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Whether `key`'s bucket is empty (how many seconds to wait), without taking from it.
    pub fn exhausted(&self, key: &K) -> Result<(), Refusal> {
        self.with_bucket(key, |tokens| *tokens >= 1.0)
    }

    /// Refills `key`'s bucket for the time passed, then lets `take` decide on its tokens; a
    /// refusal says when a token will be there.
    fn with_bucket(&self, key: &K, take: impl FnOnce(&mut f64) -> bool) -> Result<(), Refusal> {
        if self.per_minute == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > MAX_KEYS {
            let burst = self.burst;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.burst, at: now, refusing: false });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(self.burst);
        bucket.at = now;
        if take(&mut bucket.tokens) {
            bucket.refusing = false;
            return Ok(());
        }
        let first = !bucket.refusing;
        bucket.refusing = true;
        Err(Refusal { retry_after: ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64, first })
    }
}

/// The rate limits of the HTTP edge, each with buckets of its own.
#[derive(Debug)]
pub struct Limits {
    /// Anonymous requests filed, per client address.
    pub submit: RateLimiter<IpAddr>,
    /// Citizens' actions by tracking token (rate, reopen, comment), per client address.
    pub citizen: RateLimiter<IpAddr>,
    /// Anonymous classifications, per client address.
    pub classify: RateLimiter<IpAddr>,
    /// Sign-in attempts, per client address.
    pub login_address: RateLimiter<IpAddr>,
    /// Failed sign-ins, per login: guessing one account's password from many addresses is
    /// slowed too.
    pub login_account: RateLimiter<String>,
    /// Open311 requests filed, per API key's client.
    pub api_key: RateLimiter<String>,
}

impl Limits {
    /// Limits with these rates per minute (0: none); bursts are a minute's worth.
    pub fn new(submit: u32, classify: u32, login: u32, api_key: u32) -> Limits {
        Limits {
            submit: RateLimiter::new(submit, submit),
            citizen: RateLimiter::new(submit, submit),
            classify: RateLimiter::new(classify, classify),
            login_address: RateLimiter::new(login, login),
            login_account: RateLimiter::new(login, login),
            api_key: RateLimiter::new(api_key, api_key),
        }
    }
}

/// Whether `peer` is one of the `trusted` proxies.
pub fn is_trusted_proxy(peer: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&peer))
}

/// The client's address: the TCP peer's, unless the peer is a proxy in `trusted`; then the
/// nearest address in `X-Forwarded-For` (read from the right) that is not itself a trusted
/// proxy, or the `for=` of `Forwarded`. A client cannot choose its address by sending these
/// headers itself: they are read only from a trusted peer.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| is_trusted_proxy(*ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    let values = |name: &str| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect::<Vec<_>>();
    let forwarded_for = values("x-forwarded-for").into_iter().filter_map(|a| a.parse::<IpAddr>().ok());
    let forwarded = values("forwarded").into_iter().filter_map(|part| {
        part.split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case("for"))
            .and_then(|(_, v)| v.trim_matches('"').trim_start_matches('[').split(']').next().map(str::to_owned))
            .and_then(|v| v.parse::<IpAddr>().ok().or_else(|| v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())))
    });
    let chain: Vec<IpAddr> = forwarded_for.collect();
    let chain = if chain.is_empty() { forwarded.collect() } else { chain };
    chain.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_bucket_refuses_after_its_burst_and_can_be_looked_at_without_taking() {
        let limiter = RateLimiter::new(60, 3);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            limiter.exhausted(&ip).unwrap();
            limiter.check(&ip).unwrap();
        }
        assert_eq!(limiter.exhausted(&ip), Err(Refusal { retry_after: 1, first: true }));
        assert_eq!(limiter.check(&ip), Err(Refusal { retry_after: 1, first: false }), "a throttling is first once");
        limiter.check(&IpAddr::from([10, 0, 0, 2])).unwrap();
        let unlimited = RateLimiter::new(0, 1);
        for _ in 0..100 {
            unlimited.check(&ip).unwrap();
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let proxy = IpAddr::from([10, 0, 0, 5]);
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.0.0.6"));
        assert_eq!(client_address(proxy, &headers, &trusted), IpAddr::from([198, 51, 100, 7]), "the nearest untrusted hop");
        assert_eq!(client_address(IpAddr::from([192, 0, 2, 1]), &headers, &trusted), IpAddr::from([192, 0, 2, 1]), "not from a proxy");
        let mut forwarded = HeaderMap::new();
        forwarded.insert("forwarded", HeaderValue::from_static("for=\"[2001:db8::1]:4711\";proto=https"));
        assert_eq!(client_address(proxy, &forwarded, &trusted), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy, "no header: the proxy itself");
    }
}
