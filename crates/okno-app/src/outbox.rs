//! Delivery of the notification outbox: webhooks are POSTed by Okno with retries; e-mail rows
//! wait for the mail sender, which lists them and marks them sent (`okno outbox …`).

use crate::error::{AppError, Result};
use chrono::{DateTime, Duration, Utc};
use okno_store::Store;
use serde::Serialize;

/// Attempts after which a webhook is no longer retried (its last error stays in the outbox).
pub const MAX_ATTEMPTS: u32 = 10;

/// Notifications handled per delivery run.
const BATCH: u32 = 500;

/// The wait before retry `attempt` (1-based): one minute, doubling, at most six hours.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::minutes(1_i64 << attempt.saturating_sub(1).min(9)).min(Duration::hours(6))
}

/// Notifications of `channel` (all when none) waiting for delivery, oldest first.
pub async fn pending(store: &dyn Store, channel: Option<&str>, now: DateTime<Utc>) -> Result<Vec<okno_store::Pending>> {
    Ok(store.pending_notifications(channel, now, u32::MAX, u32::MAX).await?)
}

/// Marks notifications delivered by the mail sender; an id that is unknown or already sent is
/// refused (those before it stay marked).
pub async fn mark_sent(store: &dyn Store, ids: &[okno_core::NotificationId], now: DateTime<Utc>) -> Result<()> {
    for &id in ids {
        if !store.notification_sent(id, now).await? {
            return Err(AppError::NotFound(format!("no undelivered notification {id}")));
        }
    }
    Ok(())
}

/// What a delivery run did.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    /// Webhooks the receiver accepted (2xx).
    pub delivered: u64,
    /// Webhooks that failed this time (scheduled for a retry).
    pub failed: u64,
}

/// POSTs every due webhook notification (its JSON body) to its URL; a 2xx answer marks it
/// sent, anything else schedules a retry with a growing delay, up to [`MAX_ATTEMPTS`].
pub async fn deliver_webhooks(store: &dyn Store, client: &reqwest::Client, now: DateTime<Utc>) -> Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    for pending in store.pending_notifications(Some("webhook"), now, MAX_ATTEMPTS, BATCH).await? {
        let (id, n) = (pending.id, pending.notification);
        let sent = client
            .post(&n.recipient)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Okno-Subject", n.subject.replace(['\r', '\n'], " "))
            .body(n.body)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        let failure = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("HTTP {}", response.status())),
            Err(e) => Some(e.to_string()),
        };
        match failure {
            None => {
                store.notification_sent(id, Utc::now()).await?;
                report.delivered += 1;
            }
            Some(error) => {
                store.notification_failed(id, &error, now + retry_delay(pending.attempts + 1)).await?;
                tracing::warn!(notification = id.0, %error, "webhook delivery failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(retry_delay(1), Duration::minutes(1));
        assert_eq!(retry_delay(2), Duration::minutes(2));
        assert_eq!(retry_delay(5), Duration::minutes(16));
        assert_eq!(retry_delay(10), Duration::hours(6));
        assert_eq!(retry_delay(u32::MAX), Duration::hours(6));
    }
}
