//! Photos citizens attach to their requests (Open311 `media`): only images whose bytes are what
//! their type says are kept, under an unguessable token; they never carry personal data.

use okno_core::ErrorCode;
use crate::error::{AppError, Result};
use crate::App;
use chrono::{DateTime, Utc};
use okno_store::Media;

/// The kinds of file accepted.
pub const MEDIA_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Whether `bytes` start as a file of `content_type` does.
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/gif" => bytes.starts_with(b"GIF8"),
        "image/webp" => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => false,
    }
}

/// Keeps an uploaded photo and returns the token it is served under; anything but an image of
/// an accepted type is refused (field `media`).
pub async fn store_photo(app: &App, content_type: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<String> {
    if !MEDIA_TYPES.contains(&content_type) || !looks_like(content_type, bytes) {
        return Err(AppError::field("media", ErrorCode::UnknownValue, format!("must be one of {}", MEDIA_TYPES.join(", "))));
    }
    let token = crate::access::new_secret();
    app.store.store_media(&token, &Media { content_type: content_type.to_owned(), bytes: bytes.to_vec() }, now).await?;
    Ok(token)
}

/// The photo kept under `token`.
pub async fn photo(app: &App, token: &str) -> Result<Media> {
    app.store.media(token).await?.ok_or_else(|| AppError::NotFound("no such file".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_must_be_what_its_type_says() {
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\nrest"));
        assert!(looks_like("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!looks_like("image/png", b"GIF89a"), "a GIF sent as a PNG");
        assert!(!looks_like("text/html", b"<html>"));
    }
}
