//! SQL shared by both backends. Placeholders are `$N`, which SQLite and PostgreSQL both accept,
//! except in long generated statements, where SQLite gets anonymous `?` (see
//! [`multi_row_insert`]).

use chrono::{DateTime, NaiveDate, Utc};
use okno_core::text::search_key;
use crate::ImportedRequest;
use okno_core::alert::AlertFilter;
use okno_core::problem::ProblemFilter;
use okno_core::{NewEvent, RequestFilter, RequestOrder};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The columns of `requests` read into a [`okno_core::Request`], in the order the decoder expects.
pub const REQUEST_COLUMNS: &str = "id, token, service_code, channel, source_system, source_id, text, lat, lon, \
    address, territory_code, agency_code, status, priority, created_at, updated_at, closed_at, due_at, \
    attributes, media_url, category, reason, rating, last_answer, first_reaction_due_at, first_reaction_at, \
    first_answer_at, extensions, escalation_level, paused_at, routing_due_at, location_flag, h3_cell, duplicate_of";

/// The statuses in which a request awaits its agency, as an SQL list.
pub const AWAITING_STATUSES: &str = "'registered', 'routed', 'in_progress', 'intermediate_answer', 'reopened'";

/// Statuses in which a request is finished ([`okno_core::Status::is_final`]), as an SQL list.
pub const FINAL_STATUSES: &str = "'closed', 'rejected', 'duplicate'";

/// The columns of `events` read into an [`okno_core::Event`].
pub const EVENT_COLUMNS: &str =
    "id, request_id, at, kind, actor, status, agency_code, text, old_due_at, new_due_at, rating";

/// Columns written for a new request, in the order of [`request_row`].
pub const REQUEST_INSERT_COLUMNS: [&str; 31] = [
    "token", "service_code", "channel", "source_system", "source_id", "text", "search_text", "lat", "lon", "address",
    "territory_code", "agency_code", "status", "priority", "created_at", "updated_at", "closed_at", "due_at",
    "attributes", "media_url", "category", "reason", "rating", "last_answer", "first_reaction_due_at", "first_reaction_at",
    "first_answer_at", "routing_due_at", "location_flag", "h3_cell", "reopenings",
];

/// Columns written for a new event, in the order of [`event_row`].
pub const EVENT_INSERT_COLUMNS: [&str; 10] =
    ["request_id", "at", "kind", "actor", "status", "agency_code", "text", "old_due_at", "new_due_at", "rating"];

/// Inserts one request unless its source id is taken, returning its id.
pub static INSERT_REQUEST: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=REQUEST_INSERT_COLUMNS.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO requests ({}) VALUES ({}) ON CONFLICT (source_system, source_id) DO NOTHING RETURNING id",
        REQUEST_INSERT_COLUMNS.join(", "),
        placeholders.join(", ")
    )
});

/// Inserts one event.
pub static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| multi_row_insert("events", &EVENT_INSERT_COLUMNS, 1, true));

/// The key columns of `rollups`, in the order of [`rollup_row`], `n` following them.
pub const ROLLUP_KEY_COLUMNS: [&str; 8] = ["hour", "cell", "territory", "service", "category", "agency", "channel", "closed_hour"];

/// The texts of a rollup key, in the order of their columns (`ROLLUP_KEY_COLUMNS[2..7]`), each
/// stored as a `rollup_dims` id.
pub fn dim_texts(key: &okno_core::rollup::RollupKey) -> [&str; 5] {
    [&key.territory, &key.service, &key.category, &key.agency, &key.channel]
}

/// Adds a value to `rollup_dims` unless it is there, and returns its id either way.
pub const ADD_ROLLUP_DIM: &str =
    "INSERT INTO rollup_dims (value) VALUES ($1) ON CONFLICT (value) DO UPDATE SET value = excluded.value RETURNING id";

/// Most keys in one rollup upsert.
pub const ROLLUPS_PER_UPSERT: usize = 500;

/// Adds `rows` rows of counts to the rollups (placeholders as for [`multi_row_insert`]).
pub fn upsert_rollups(rows: usize, numbered: bool) -> String {
    let columns = [&ROLLUP_KEY_COLUMNS[..], &["n"]].concat();
    format!(
        "{} ON CONFLICT ({}) DO UPDATE SET n = rollups.n + excluded.n",
        multi_row_insert("rollups", &columns, rows, numbered),
        ROLLUP_KEY_COLUMNS.join(", ")
    )
}

/// The condition selecting one rollup key, its values bound from `$first` on.
fn rollup_key_condition(first: usize) -> String {
    let condition: Vec<String> = ROLLUP_KEY_COLUMNS.iter().zip(first..).map(|(c, i)| format!("{c} = ${i}")).collect();
    condition.join(" AND ")
}

/// Adds `$1` (negative) to one key's count, the key bound from `$2`.
pub static SUBTRACT_ROLLUP: LazyLock<String> =
    LazyLock::new(|| format!("UPDATE rollups SET n = n + $1 WHERE {}", rollup_key_condition(2)));

/// Removes a key whose count fell to zero.
pub static DELETE_EMPTY_ROLLUP: LazyLock<String> =
    LazyLock::new(|| format!("DELETE FROM rollups WHERE {} AND n = 0", rollup_key_condition(1)));

/// The values of a rollup key, its texts as their `rollup_dims` ids (`dims` has them all), then
/// `n` when given.
pub fn rollup_row(key: &okno_core::rollup::RollupKey, dims: &HashMap<&str, i64>, n: Option<i64>) -> Vec<Bind> {
    let mut row = vec![Bind::Int(Some(key.hour)), Bind::Int(Some(key.cell))];
    row.extend(dim_texts(key).map(|text| Bind::Int(dims.get(text).copied())));
    row.push(Bind::Int(Some(key.closed_hour)));
    row.extend(n.map(|n| Bind::Int(Some(n))));
    row
}

/// The texts of the requests' rollup keys, as [`rollups_from_requests`] counts them.
const COUNTED_TEXTS: [&str; 5] = ["COALESCE(territory_code, '')", "service_code", "COALESCE(category, '')", "COALESCE(agency_code, '')", "channel"];

/// Adds to `rollup_dims` every text the requests' rollup keys hold (before a recount).
pub static ADD_ROLLUP_DIMS_OF_REQUESTS: LazyLock<String> = LazyLock::new(|| {
    let texts: Vec<String> = COUNTED_TEXTS.iter().map(|t| format!("SELECT {t} AS value FROM requests")).collect();
    // `WHERE true`: SQLite would read `ON CONFLICT` as a join's `ON` without it.
    format!("INSERT INTO rollup_dims (value) SELECT value FROM ({}) texts WHERE true ON CONFLICT (value) DO NOTHING", texts.join(" UNION "))
});

/// The rollups counted afresh from `requests` in SQL — the second code path that checks the
/// counts kept with each write — their texts as `rollup_dims` ids (run
/// [`ADD_ROLLUP_DIMS_OF_REQUESTS`] first). `hour` turns a time column into its hour since the epoch.
pub fn rollups_from_requests(hour: fn(&str) -> String) -> String {
    let dims = &ROLLUP_KEY_COLUMNS[2..7];
    let texts: Vec<String> = COUNTED_TEXTS.iter().zip(dims).map(|(t, d)| format!("{t} AS {d}_text")).collect();
    let ids: Vec<String> = dims.iter().map(|d| format!("{d}_dim.id AS {d}")).collect();
    let joins: Vec<String> = dims.iter().map(|d| format!("JOIN rollup_dims {d}_dim ON {d}_dim.value = counted.{d}_text")).collect();
    // The cell's parent at resolution 8: resolution field (bits 52–55) set to 8, the digits of
    // resolutions 9 and 10 (bits 15–20) set to 7. Stored cells are at resolution 10.
    format!(
        "SELECT counted.hour, counted.cell, {ids}, counted.closed_hour, counted.n FROM (\
         SELECT {} AS hour, CASE WHEN h3_cell IS NULL THEN 0 ELSE (h3_cell & ~67553994410557440) | 36028797018963968 | 2064384 END AS cell, \
         {texts}, CASE WHEN closed_at IS NULL THEN 0 ELSE {} END AS closed_hour, count(*) AS n \
         FROM requests GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) counted {joins}",
        hour("created_at"),
        hour("closed_at"),
        ids = ids.join(", "),
        texts = texts.join(", "),
        joins = joins.join(" "),
    )
}

/// Rows to write in bulk, made as they are written (the values of each in column order).
pub type Rows<'a> = Box<dyn Iterator<Item = Vec<Bind>> + Send + 'a>;

/// `INSERT INTO table (columns) VALUES (…), (…)` for `rows` rows of placeholders: `$N` when
/// `numbered` (PostgreSQL), else anonymous `?` — SQLite's lookup of a named or numbered
/// parameter walks a list, which makes binding thousands of them quadratic.
pub fn multi_row_insert(table: &str, columns: &[&str], rows: usize, numbered: bool) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for row in 0..rows {
        sql += if row == 0 { "(" } else { ", (" };
        for col in 0..columns.len() {
            n += 1;
            sql += if col == 0 { "" } else { ", " };
            sql += &if numbered { format!("${n}") } else { "?".to_owned() };
        }
        sql += ")";
    }
    sql
}

/// The values of a request row, in the order of [`REQUEST_INSERT_COLUMNS`].
pub fn request_row(item: &ImportedRequest) -> Vec<Bind> {
    let r = &item.request;
    let text = |v: &str| Bind::Text(Some(v.to_owned()));
    vec![
        text(&item.token),
        text(&r.service_code),
        text(r.channel.as_str()),
        Bind::Text(r.source_system.clone()),
        Bind::Text(r.source_id.clone()),
        text(&r.text),
        Bind::Text(Some(search_text(&r.text, r.address.as_deref()))),
        Bind::Float(r.coordinates.map(|c| c.lat)),
        Bind::Float(r.coordinates.map(|c| c.lon)),
        Bind::Text(r.address.clone()),
        Bind::Text(r.territory.clone().map(String::from)),
        Bind::Text(r.agency.clone().map(String::from)),
        text(item.status.as_str()),
        text(r.priority.as_str()),
        Bind::Time(Some(r.created_at)),
        Bind::Time(Some(item.updated_at)),
        Bind::Time(item.closed_at),
        Bind::Time(item.due_at),
        Bind::Text(Some(serde_json::to_string(&r.attributes).unwrap_or_else(|_| "{}".to_owned()))),
        Bind::Text(r.media_url.clone()),
        Bind::Text(r.category.clone()),
        Bind::Text(r.reason.clone()),
        Bind::Int(item.rating.map(i64::from)),
        Bind::Text(item.last_answer.clone()),
        Bind::Time(item.first_reaction_due_at),
        Bind::Time(item.first_reaction_at),
        Bind::Time(item.first_answer_at),
        Bind::Time(item.routing_due_at),
        Bind::Text(r.location.flag.map(|f| f.as_str().to_owned())),
        Bind::Int(r.location.cell),
        Bind::Int(Some(item.events.iter().filter(|e| e.kind == okno_core::EventKind::Reopened).count() as i64)),
    ]
}

/// The values of an event row, in the order of [`EVENT_INSERT_COLUMNS`].
pub fn event_row(request_id: okno_core::RequestId, e: &NewEvent) -> Vec<Bind> {
    vec![
        Bind::Int(Some(request_id.0)),
        Bind::Time(Some(e.at)),
        Bind::Text(Some(e.kind.as_str().to_owned())),
        Bind::Text(Some(e.actor.clone())),
        Bind::Text(e.status.map(|s| s.as_str().to_owned())),
        Bind::Text(e.agency.clone().map(String::from)),
        Bind::Text(e.text.clone()),
        Bind::Time(e.old_due_at),
        Bind::Time(e.new_due_at),
        Bind::Int(e.rating.map(i64::from)),
    ]
}

/// Reads the times packed by a backend's `packed_times_sql`: `created,answered,closed` in Unix
/// microseconds (empty for none), rows separated by `;`.
pub fn unpack_times(packed: &str) -> crate::Result<Vec<okno_core::scorecard::ScoreTimes>> {
    let corrupt = || crate::StoreError::Corrupt(format!("packed times near {:?}", packed.get(..40).unwrap_or(packed)));
    let time = |v: &str| -> crate::Result<Option<DateTime<Utc>>> {
        if v.is_empty() {
            return Ok(None);
        }
        v.parse().ok().and_then(DateTime::from_timestamp_micros).map(Some).ok_or_else(corrupt)
    };
    packed
        .split(';')
        .map(|row| {
            let mut parts = row.split(',');
            let (Some(created), Some(answered), Some(closed), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(corrupt());
            };
            Ok(okno_core::scorecard::ScoreTimes { created_at: time(created)?.ok_or_else(corrupt)?, first_answer_at: time(answered)?, closed_at: time(closed)? })
        })
        .collect()
}

/// A value to bind to a dynamically built query; `None` is a NULL of that type.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(Option<String>),
    /// Whole number.
    Int(Option<i64>),
    /// Real number.
    Float(Option<f64>),
    /// Point in time.
    Time(Option<DateTime<Utc>>),
    /// Calendar day.
    Date(Option<NaiveDate>),
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

/// A `SELECT … WHERE 1=1` being extended with conditions, and the values bound to them.
struct Conditions {
    sql: String,
    binds: Vec<Bind>,
}

impl Conditions {
    fn new(select: String) -> Self {
        Conditions { sql: select + " WHERE 1=1", binds: Vec::new() }
    }

    /// Appends `clause`, its `?` standing for `value`.
    fn push(&mut self, clause: &str, value: Bind) {
        self.binds.push(value);
        self.sql += &clause.replace('?', &format!("${}", self.binds.len()));
    }

    /// Appends ` AND column IN (…)` for `values`, unless there are none.
    fn push_in(&mut self, column: &str, values: impl IntoIterator<Item = Bind>) {
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return;
        }
        self.sql += &format!(" AND {column} IN (");
        for (i, v) in values.enumerate() {
            self.push(if i == 0 { "?" } else { ", ?" }, v);
        }
        self.sql += ")";
    }

    /// Ends with `tail` (ORDER BY …), its `?` standing for the page size.
    fn finish(mut self, tail: &str, limit: u32) -> (String, Vec<Bind>) {
        self.push(tail, Bind::Int(Some(i64::from(limit))));
        (self.sql, self.binds)
    }
}

/// The `SELECT` for a request filter and the values to bind to it, in order.
pub fn list_requests(filter: &RequestFilter) -> (String, Vec<Bind>) {
    let mut c = Conditions::new(format!("SELECT {REQUEST_COLUMNS} FROM requests"));
    c.push_in("id", filter.ids.iter().map(|id| Bind::Int(Some(id.0))));
    c.push_in("service_code", filter.services.iter().map(|s| Bind::Text(Some(s.to_string()))));
    c.push_in("status", filter.statuses.iter().map(|s| Bind::Text(Some(s.as_str().to_owned()))));
    if let Some(a) = &filter.agency {
        c.push(" AND agency_code = ?", Bind::Text(Some(a.to_string())));
    }
    if let Some(t) = &filter.territory {
        c.push(" AND territory_code = ?", Bind::Text(Some(t.to_string())));
    }
    if let Some(cat) = &filter.category {
        c.push(" AND category = ?", Bind::Text(Some(cat.clone())));
    }
    if let Some((first, last)) = filter.h3_cells {
        c.push(" AND h3_cell >= ?", Bind::Int(Some(first)));
        c.push(" AND h3_cell <= ?", Bind::Int(Some(last)));
    }
    if let Some(ch) = filter.channel {
        c.push(" AND channel = ?", Bind::Text(Some(ch.as_str().to_owned())));
    }
    if let Some(t) = filter.created_from {
        c.push(" AND created_at >= ?", Bind::Time(Some(t)));
    }
    if let Some(t) = filter.created_to {
        c.push(" AND created_at < ?", Bind::Time(Some(t)));
    }
    if let Some(b) = filter.bbox {
        c.push(" AND lon >= ?", Bind::Float(Some(b.min_lon)));
        c.push(" AND lon <= ?", Bind::Float(Some(b.max_lon)));
        c.push(" AND lat >= ?", Bind::Float(Some(b.min_lat)));
        c.push(" AND lat <= ?", Bind::Float(Some(b.max_lat)));
    }
    if let Some(words) = filter.text.as_deref().filter(|w| !w.trim().is_empty()) {
        c.push(" AND search_text LIKE ? ESCAPE '\\'", Bind::Text(Some(like_pattern(words))));
    }
    if let Some(t) = filter.due_before {
        c.push(" AND due_at < ? AND paused_at IS NULL", Bind::Time(Some(t)));
    }
    if let Some(t) = filter.due_from {
        c.push(" AND due_at >= ? AND paused_at IS NULL", Bind::Time(Some(t)));
    }
    if let Some(t) = filter.no_reaction_by {
        c.push(" AND first_reaction_at IS NULL AND first_reaction_due_at < ?", Bind::Time(Some(t)));
    }
    if let Some(t) = filter.unrouted_by {
        c.push(" AND agency_code IS NULL AND routing_due_at < ?", Bind::Time(Some(t)));
    }
    if let Some(id) = filter.duplicate_of {
        c.push(" AND duplicate_of = ?", Bind::Int(Some(id.0)));
    }
    if let Some(id) = filter.problem {
        c.push(" AND id IN (SELECT request_id FROM problem_members WHERE problem_id = ?)", Bind::Int(Some(id.0)));
    }
    if let Some(id) = filter.before_id {
        c.push(" AND id < ?", Bind::Int(Some(id.0)));
    }
    let order = match filter.order {
        RequestOrder::NewestId => " ORDER BY id DESC",
        RequestOrder::NewestCreated => " ORDER BY created_at DESC, id DESC",
        RequestOrder::DueSoonest => " ORDER BY due_at IS NULL, due_at, id",
    };
    let (mut sql, mut binds) = c.finish(&format!("{order} LIMIT ?"), filter.limit);
    binds.push(Bind::Int(Some(i64::from(filter.offset))));
    sql += &format!(" OFFSET ${}", binds.len());
    (sql, binds)
}

/// The `SELECT` for a problem filter and the values to bind to it, in order: newest first.
pub fn list_problems(filter: &ProblemFilter) -> (String, Vec<Bind>) {
    let mut c = Conditions::new("SELECT * FROM problems".into());
    c.push_in("state", filter.states.iter().map(|s| Bind::Text(Some(s.as_str().to_owned()))));
    if let Some(t) = &filter.topic {
        c.push(" AND topic = ?", Bind::Text(Some(t.clone())));
    }
    if let Some(o) = &filter.owner {
        c.push(" AND owner_agency = ?", Bind::Text(Some(o.to_string())));
    }
    if let Some(id) = filter.before_id {
        c.push(" AND id < ?", Bind::Int(Some(id.0)));
    }
    c.finish(" ORDER BY id DESC LIMIT ?", filter.limit)
}

/// The `SELECT` for an alert filter and the values to bind to it, in order: newest first.
pub fn list_alerts(filter: &AlertFilter) -> (String, Vec<Bind>) {
    let mut c = Conditions::new("SELECT * FROM alerts".into());
    c.push_in("state", filter.states.iter().map(|s| Bind::Text(Some(s.as_str().to_owned()))));
    if let Some(p) = filter.period {
        c.push(" AND period = ?", Bind::Text(Some(p.as_str().to_owned())));
    }
    if let Some(cat) = &filter.category {
        c.push(" AND category = ?", Bind::Text(Some(cat.clone())));
    }
    if let Some(t) = &filter.territory {
        c.push(" AND territory_code = ?", Bind::Text(Some(t.to_string())));
    }
    if let Some(d) = filter.since {
        c.push(" AND last_day >= ?", Bind::Date(Some(d)));
    }
    if let Some(id) = filter.before_id {
        c.push(" AND id < ?", Bind::Int(Some(id.0)));
    }
    c.finish(" ORDER BY id DESC LIMIT ?", filter.limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use okno_core::Status;

    /// The lifecycle's statuses that satisfy `keep`, as an SQL list.
    fn sql_list(keep: fn(Status) -> bool) -> String {
        let listed: Vec<String> = okno_core::lifecycle::ALL_STATUSES.into_iter().filter(|s| keep(*s)).map(|s| format!("'{}'", s.as_str())).collect();
        listed.join(", ")
    }

    #[test]
    fn packed_times_unpack_and_refuse_garbage() {
        let times = unpack_times("1000000,2000000,;3000000,,4000000").unwrap();
        assert_eq!(times.len(), 2);
        assert_eq!((times[0].created_at.timestamp(), times[0].first_answer_at.map(|t| t.timestamp()), times[0].closed_at), (1, Some(2), None));
        assert_eq!((times[1].first_answer_at, times[1].closed_at.map(|t| t.timestamp())), (None, Some(4)));
        for bad in ["", "1,2", "1,2,3,4", "x,2,3", ",2,3"] {
            assert!(unpack_times(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_status_lists_are_the_lifecycle_s() {
        assert_eq!(AWAITING_STATUSES, sql_list(Status::awaits_agency));
        assert_eq!(FINAL_STATUSES, sql_list(Status::is_final));
    }

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
        assert!(sql.ends_with("LIMIT $5 OFFSET $6"));
        assert_eq!(binds[3], Bind::Text(Some("%50\\%\\_off%".into())));
        assert_eq!(binds.len(), 6);
    }
}
