//! Media files uploaded with requests (Open311 `media`), kept under unguessable tokens.

use crate::dialect::{classify, Dialect, SqlStore};
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A stored media file.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// MIME type as uploaded.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Uploaded media.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores an uploaded media file under an unguessable token.
    async fn store_media(&self, token: &str, media: &Media, now: DateTime<Utc>) -> Result<()>;
    /// A stored media file.
    async fn media(&self, token: &str) -> Result<Option<Media>>;
}

#[async_trait]
impl<D: Dialect> MediaStore for SqlStore<D> {
    async fn store_media(&self, token: &str, media: &Media, now: DateTime<Utc>) -> Result<()> {
        D::sql("INSERT INTO media (token, content_type, bytes, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token).bind(&media.content_type).bind(&media.bytes).bind_time(now)
            .execute(&mut *self.write().await?).await.map_err(classify)?;
        Ok(())
    }

    async fn media(&self, token: &str) -> Result<Option<Media>> {
        let row = D::sql("SELECT content_type, bytes FROM media WHERE token = $1").bind(token).fetch_optional(&mut *self.read().await?).await?;
        row.map(|r| Ok(Media { content_type: D::get(&r, 0)?, bytes: D::get(&r, 1)? })).transpose()
    }
}
