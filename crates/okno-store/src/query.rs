//! SQL shared by both backends. Placeholders are `$N`, which SQLite and PostgreSQL both accept.

use chrono::{DateTime, Utc};
use okno_core::text::search_key;
use okno_core::RequestFilter;

/// The columns of `requests` read into a [`okno_core::Request`], in the order the decoder expects.
pub const REQUEST_COLUMNS: &str = "id, token, service_code, channel, source_system, source_id, text, lat, lon, \
    address, territory_code, agency_code, status, priority, created_at, updated_at, closed_at, due_at, \
    attributes, media_url, category, reason, rating, last_answer";

/// The columns of `events` read into an [`okno_core::Event`].
pub const EVENT_COLUMNS: &str =
    "id, request_id, at, kind, actor, status, agency_code, text, old_due_at, new_due_at, rating";

/// Inserts one request; parameters in the order of the column list.
pub const INSERT_REQUEST: &str = "INSERT INTO requests (token, service_code, channel, source_system, source_id, \
    text, search_text, lat, lon, address, territory_code, agency_code, status, priority, created_at, updated_at, \
    closed_at, due_at, attributes, media_url, category, reason, rating, last_answer) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) \
    ON CONFLICT (source_system, source_id) DO NOTHING RETURNING id";

/// Inserts one event.
pub const INSERT_EVENT: &str = "INSERT INTO events (request_id, at, kind, actor, status, agency_code, text, \
    old_due_at, new_due_at, rating) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// A value to bind to a dynamically built query.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// Whole number.
    Int(i64),
    /// Real number.
    Float(f64),
    /// Point in time.
    Time(DateTime<Utc>),
}

/// The search text stored for a request: its text and address in the form search compares.
pub fn search_text(text: &str, address: Option<&str>) -> String {
    match address {
        Some(a) => search_key(&format!("{text} {a}")),
        None => search_key(text),
    }
}

/// `LIKE` pattern for a user's search words; `\` escapes the wildcards they may contain.
fn like_pattern(words: &str) -> String {
    let mut p = String::from("%");
    for c in search_key(words).chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The `SELECT` for a request filter and the values to bind to it, in order.
pub fn list_requests(filter: &RequestFilter) -> (String, Vec<Bind>) {
    let mut sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE 1=1");
    let mut binds = Vec::new();
    let mut push = |sql: &mut String, clause: &str, value: Bind| {
        binds.push(value);
        *sql += &clause.replace('?', &format!("${}", binds.len()));
    };
    if !filter.services.is_empty() {
        sql += " AND service_code IN (";
        for (i, s) in filter.services.iter().enumerate() {
            push(&mut sql, if i == 0 { "?" } else { ", ?" }, Bind::Text(s.clone()));
        }
        sql += ")";
    }
    if !filter.statuses.is_empty() {
        sql += " AND status IN (";
        for (i, s) in filter.statuses.iter().enumerate() {
            push(&mut sql, if i == 0 { "?" } else { ", ?" }, Bind::Text(s.as_str().to_owned()));
        }
        sql += ")";
    }
    if let Some(a) = &filter.agency {
        push(&mut sql, " AND agency_code = ?", Bind::Text(a.clone()));
    }
    if let Some(t) = &filter.territory {
        push(&mut sql, " AND territory_code = ?", Bind::Text(t.clone()));
    }
    if let Some(c) = filter.channel {
        push(&mut sql, " AND channel = ?", Bind::Text(c.as_str().to_owned()));
    }
    if let Some(t) = filter.created_from {
        push(&mut sql, " AND created_at >= ?", Bind::Time(t));
    }
    if let Some(t) = filter.created_to {
        push(&mut sql, " AND created_at < ?", Bind::Time(t));
    }
    if let Some(b) = filter.bbox {
        push(&mut sql, " AND lon >= ?", Bind::Float(b.min_lon));
        push(&mut sql, " AND lon <= ?", Bind::Float(b.max_lon));
        push(&mut sql, " AND lat >= ?", Bind::Float(b.min_lat));
        push(&mut sql, " AND lat <= ?", Bind::Float(b.max_lat));
    }
    if let Some(words) = filter.text.as_deref().filter(|w| !w.trim().is_empty()) {
        push(&mut sql, " AND search_text LIKE ? ESCAPE '\\'", Bind::Text(like_pattern(words)));
    }
    if let Some(id) = filter.before_id {
        push(&mut sql, " AND id < ?", Bind::Int(id));
    }
    push(&mut sql, " ORDER BY id DESC LIMIT ?", Bind::Int(i64::from(filter.limit)));
    (sql, binds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use okno_core::Status;

    #[test]
    fn filters_number_their_placeholders_in_order() {
        let f = RequestFilter {
            statuses: vec![Status::Routed, Status::Answered],
            agency: Some("roads".into()),
            text: Some("50%_off".into()),
            limit: 10,
            ..Default::default()
        };
        let (sql, binds) = list_requests(&f);
        assert!(sql.contains("status IN ($1, $2) AND agency_code = $3 AND search_text LIKE $4"));
        assert!(sql.ends_with("LIMIT $5"));
        assert_eq!(binds[3], Bind::Text("%50\\%\\_off%".into()));
        assert_eq!(binds.len(), 5);
    }
}
