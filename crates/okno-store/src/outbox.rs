//! The outbox: notifications (webhook calls, e-mails) written in the same transaction as what
//! caused them, delivered later with retries.

use crate::dialect::{Dialect, SqlStore};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::NotificationId;

/// A notification to deliver later: a webhook call or an e-mail. Never carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    /// `webhook` or `email`.
    pub channel: String,
    /// URL or address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// JSON (webhooks) or text (e-mail).
    pub body: String,
}

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// Its outbox id.
    pub id: NotificationId,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// What to deliver.
    #[serde(flatten)]
    pub notification: Notification,
}

/// The notifications not delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Still to be tried (now or at their retry time).
    pub waiting: i64,
    /// Given up: every allowed attempt failed.
    pub given_up: i64,
}

/// Notifications waiting for delivery.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Notifications not yet delivered (of one channel, if given) that are due at `now`: never
    /// tried, or their retry time has come, and tried fewer than `max_attempts` times; oldest first.
    async fn pending_notifications(&self, channel: Option<&str>, now: DateTime<Utc>, max_attempts: u32, limit: u32) -> Result<Vec<Pending>>;
    /// Records a notification as delivered.
    async fn notification_sent(&self, id: NotificationId, now: DateTime<Utc>) -> Result<bool>;
    /// Records a failed delivery attempt and when to try again.
    async fn notification_failed(&self, id: NotificationId, error: &str, retry_at: DateTime<Utc>) -> Result<()>;
    /// How many notifications are not delivered: still to be tried, and given up after
    /// `max_attempts` failures.
    async fn outbox_backlog(&self, max_attempts: u32) -> Result<OutboxBacklog>;
}

#[async_trait]
impl<D: Dialect> OutboxStore for SqlStore<D> {
    async fn pending_notifications(&self, channel: Option<&str>, now: DateTime<Utc>, max_attempts: u32, limit: u32) -> Result<Vec<Pending>> {
        let rows = D::sql(
            "SELECT id, channel, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL \
             AND ($1 IS NULL OR channel = $1) AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
             AND attempts < $3 ORDER BY id LIMIT $4",
        )
        .bind(channel).bind_time(now).bind(i64::from(max_attempts)).bind(i64::from(limit))
        .fetch_all(&mut *self.read().await?).await?;
        rows.iter()
            .map(|r| Ok(Pending {
                id: D::get(r, 0)?,
                notification: Notification { channel: D::get(r, 1)?, recipient: D::get(r, 2)?, subject: D::get(r, 3)?, body: D::get(r, 4)? },
                attempts: u32::try_from(D::get::<i32, _>(r, 5)?).unwrap_or(0),
            }))
            .collect()
    }

    async fn notification_sent(&self, id: NotificationId, now: DateTime<Utc>) -> Result<bool> {
        let changed = D::sql("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2 AND sent_at IS NULL")
            .bind_time(now).bind(id).execute(&mut *self.write().await?).await?;
        Ok(changed == 1)
    }

    async fn notification_failed(&self, id: NotificationId, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        D::sql("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(error).bind_time(retry_at).bind(id).execute(&mut *self.write().await?).await?;
        Ok(())
    }

    async fn outbox_backlog(&self, max_attempts: u32) -> Result<OutboxBacklog> {
        let row = D::sql(
            "SELECT COALESCE(SUM(CASE WHEN attempts < $1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN attempts >= $1 THEN 1 ELSE 0 END), 0) \
             FROM outbox WHERE sent_at IS NULL",
        )
        .bind(i64::from(max_attempts)).fetch_one(&mut *self.read().await?).await?;
        Ok(OutboxBacklog { waiting: D::get(&row, 0)?, given_up: D::get(&row, 1)? })
    }
}
