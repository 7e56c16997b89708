//! Accepting connections: each is served over HTTP/1.1 with a deadline for its request headers
//! (which also closes a keep-alive connection left idle), at most so many at once from one
//! address (but a trusted proxy), and a clean stop — on Ctrl-C or SIGTERM no new connection is accepted and the
//! requests in flight finish, for at most [`REQUEST_GRACE`]. The deadline for reading a request's
//! body is a layer of the application (see [`crate::app`]).

use crate::AppState;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long requests in flight may take to finish once the process is told to stop.
pub const REQUEST_GRACE: Duration = Duration::from_secs(20);

/// Open connections per client address.
#[derive(Debug, Default)]
struct Open(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted against its address while it lives.
struct Slot {
    open: Arc<Open>,
    address: IpAddr,
}

impl Open {
    /// Counts a new connection from `address`, unless it already has `max` open.
    fn take(self: &Arc<Self>, address: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { open: self.clone(), address })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Serves `state`'s application on `listener` until the process is told to stop (Ctrl-C or
/// SIGTERM); then accepts no new connection and lets the requests in flight finish, for at most
/// [`REQUEST_GRACE`].
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let (header_timeout, max_per_address) = (state.config.header_timeout, state.config.max_connections_per_address);
    let trusted = state.config.trusted_proxies.clone();
    let app = crate::app(state);
    let open = Arc::new(Open::default());
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was accepted:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // A trusted proxy carries many clients' connections, so it has no cap of its own.
        let slot = if crate::limits::is_trusted_proxy(peer.ip(), &trusted) {
            None
        } else if let Some(slot) = open.take(peer.ip(), max_per_address) {
            Some(slot)
        } else {
            tracing::debug!(%peer, "refused: too many connections from this address");
            continue;
        };
        let router = app.clone();
        let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("stopping: finishing the requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(REQUEST_GRACE) => {
            tracing::warn!("requests still in flight {} s after the stop signal were cut off", REQUEST_GRACE.as_secs());
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_of_connections_and_frees_them_on_close() {
        let open = Arc::new(Open::default());
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let first = open.take(a, 2).unwrap();
        let _second = open.take(a, 2).unwrap();
        assert!(open.take(a, 2).is_none(), "a third from the same address");
        assert!(open.take(b, 2).is_some(), "another address is not affected");
        drop(first);
        assert!(open.take(a, 2).is_some(), "a closed connection frees its place");
    }
}
