//! Okno's persistence behind one [`Store`] trait, with an embedded SQLite backend (the default)
//! and a PostgreSQL backend for production, chosen at run time by the database URL's scheme.
//!
//! Both backends share their SQL and their code (see `backend.rs`); they differ only in how a
//! time is stored, how a row is locked for update, and how bulk imports are streamed in.
//! Every acknowledged write has been committed durably before the call returns.

mod backend;
mod dims;
mod postgres;
mod query;
mod sqlite;
pub mod testing;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::alert::{Alert, AlertDraft, AlertFilter, AlertState};
use okno_core::deadline::Due;
use okno_core::rollup::{RollupDeltas, RollupRow};
use okno_core::scorecard::ScoreGroup;
use okno_core::triage::{Prediction, PredictionRecord, RoutingRule, RuleDraft};
use okno_core::workflow::{ActionError, RequestUpdate};
use okno_core::{Agency, Contact, Coordinates, Event, Location, NewEvent, NewRequest, Principal, Request, RequestFilter, Role, Service, Status, Territory};
use std::sync::Arc;

pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, WRITER_CACHE_KIB as SQLITE_WRITER_CACHE_KIB};

/// The database URL used when none is configured: a file under `./data`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/okno.db";

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A referenced row does not exist, or a unique key is taken.
    #[error("{0}")]
    Conflict(String),
    /// The action was refused by the domain rules.
    #[error(transparent)]
    Refused(#[from] ActionError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (a bug or a foreign write).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// File system trouble (creating the database's folder).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The outcome of creating a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The request as stored.
    pub request: Request,
    /// `false` when the source system and id were already known and the existing request is returned.
    pub created: bool,
}

/// A request from another system, with its history, for bulk import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRequest {
    /// The request as it entered the source system (`source_system` and `source_id` set).
    pub request: NewRequest,
    /// Its public tracking token.
    pub token: String,
    /// Its current status there.
    pub status: Status,
    /// Last change there.
    pub updated_at: DateTime<Utc>,
    /// When it was finished there.
    pub closed_at: Option<DateTime<Utc>>,
    /// Its deadline there.
    pub due_at: Option<DateTime<Utc>>,
    /// Latest answer text.
    pub last_answer: Option<String>,
    /// Rating given.
    pub rating: Option<i16>,
    /// When a first reaction was due.
    pub first_reaction_due_at: Option<DateTime<Utc>>,
    /// While it had no agency: when routing to one was due.
    pub routing_due_at: Option<DateTime<Utc>>,
    /// When the agency first reacted.
    pub first_reaction_at: Option<DateTime<Utc>>,
    /// When the first answer was given.
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Its timeline, oldest first.
    pub events: Vec<NewEvent>,
}

/// Counts from one bulk-import batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Requests newly stored.
    pub inserted: u64,
    /// Requests skipped because their source id was already stored.
    pub existing: u64,
    /// Events stored.
    pub events: u64,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.existing += o.existing;
        self.events += o.events;
    }
}

/// Receives each committed change to the rollups made through this store (in this process),
/// to keep in-memory views current. Changes are sums, so their order does not matter.
pub type RollupListener = Arc<dyn Fn(&RollupDeltas) + Send + Sync>;

/// The listeners a store tells about committed rollup changes.
#[derive(Clone, Default)]
pub(crate) struct Listeners(Arc<std::sync::RwLock<Vec<RollupListener>>>);

impl Listeners {
    fn add(&self, listener: RollupListener) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(listener);
    }

    fn notify(&self, deltas: &RollupDeltas) {
        if deltas.is_empty() {
            return;
        }
        for listener in self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            listener(deltas);
        }
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listeners")
    }
}

/// What recounting the rollups from the requests found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RollupRebuild {
    /// Keys that differed between the kept rollups and the recount (0 when they agree).
    pub differing: u64,
    /// Rollup rows after the call.
    pub rows: u64,
    /// Requests they count.
    pub requests: u64,
    /// Whether the kept rollups were replaced by the recount.
    pub replaced: bool,
}

/// A user as stored, with the password hash for verification.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// Who it is, for access decisions.
    pub principal: Principal,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Disabled users cannot sign in.
    pub active: bool,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// Unique login.
    pub login: String,
    /// argon2id PHC string (never the password itself).
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Agency of agency staff.
    pub agency: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// Entry id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub user_login: String,
    /// What (`contact.read`, `user.create`…).
    pub action: String,
    /// Which request, if any.
    pub request_id: Option<i64>,
    /// More detail.
    pub detail: Option<String>,
}

/// An Open311 API key as listed to administrators (never the key itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: i64,
    /// The client it was issued to; requests it files carry `open311:<client>` as their source.
    pub client: String,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A stored media file.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// MIME type as uploaded.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// How many of an agency's open requests are in each queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    /// Agency code (`None`: not routed yet).
    pub agency: Option<String>,
    /// Past their answer deadline.
    pub overdue: i64,
    /// Due before the end of today.
    pub due_today: i64,
    /// Due before the end of the horizon (today plus N working days).
    pub due_soon: i64,
    /// Past their first-reaction deadline without a reaction.
    pub no_first_reaction: i64,
    /// Past their routing deadline without an agency (counted under `agency: null`).
    pub unrouted: i64,
}

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

/// A request's deadline state and the events that decide it, for recomputing its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The request.
    pub request_id: i64,
    /// Its service (which decides the regime).
    pub service_code: String,
    /// How it arrived (imported histories keep their source's deadlines).
    pub channel: okno_core::Channel,
    /// The system it came from.
    pub source_system: Option<String>,
    /// Its status now.
    pub status: okno_core::Status,
    /// Its stored answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When its clock stopped, if it stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// Its events, oldest first.
    pub events: Vec<TimelineEvent>,
}

/// The part of an event that matters to the deadline clock.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: okno_core::EventKind,
    /// Status after it.
    pub status: Option<okno_core::Status>,
    /// Agency it names.
    pub agency: Option<String>,
    /// Deadline it set.
    pub new_due_at: Option<DateTime<Utc>>,
}

impl TimelineEvent {
    /// The event as the clock sees it.
    pub fn fact(&self) -> okno_core::clock::Fact<'_> {
        okno_core::clock::Fact { at: self.at, kind: self.kind, status: self.status, agency: self.agency.as_deref(), new_due_at: self.new_due_at }
    }
}

/// A territory's boundary as stored: a GeoJSON `MultiPolygon` in WGS84 longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredShape {
    /// The territory.
    pub territory_code: String,
    /// The boundary, GeoJSON geometry text.
    pub geometry: String,
    /// Its area in square kilometres.
    pub area_km2: f64,
}

/// Where a stored request's point lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The request.
    pub request_id: i64,
    /// Its point.
    pub coordinates: Coordinates,
    /// Its territory now.
    pub territory: Option<String>,
    /// What placing it found.
    pub location: Location,
}

/// A request's new place, from `okno reindex`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementUpdate {
    /// The request.
    pub request_id: i64,
    /// Its territory (unchanged when its point lies in none).
    pub territory: Option<String>,
    /// What placing it found.
    pub location: Location,
}

/// A recomputed deadline to store, with the event that records the change.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineUpdate {
    /// The request.
    pub request_id: i64,
    /// Its new answer deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// When its clock stopped, if it stands still.
    pub paused_at: Option<DateTime<Utc>>,
    /// The `deadline_recomputed` event (old and new deadline, reason).
    pub event: NewEvent,
}

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// Its outbox id.
    pub id: i64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// What to deliver.
    #[serde(flatten)]
    pub notification: Notification,
}

/// What scorecards group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreBy {
    /// The responsible agency.
    Agency,
    /// The territory.
    Territory,
}

/// A column requests can be counted by (for import verification and summaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    /// First-level topic label.
    Category,
    /// Responsible agency code.
    Agency,
    /// Fine-grained status.
    Status,
    /// Service code.
    Service,
    /// Channel.
    Channel,
}

/// Decides an action's effect on a request, given the request as currently stored.
pub type Planner<'a> = dyn Fn(&Request) -> Result<RequestUpdate, ActionError> + Send + Sync + 'a;

/// Everything Okno keeps. One implementation per database; both pass the same conformance tests.
#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Creates or updates an agency by code.
    async fn upsert_agency(&self, agency: &Agency) -> Result<()>;
    /// All agencies, by code.
    async fn agencies(&self) -> Result<Vec<Agency>>;
    /// Creates or updates a territory by code.
    async fn upsert_territory(&self, territory: &Territory) -> Result<()>;
    /// All territories, by code.
    async fn territories(&self) -> Result<Vec<Territory>>;
    /// Stores territories with their boundaries, all or none.
    async fn put_territory_shapes(&self, shapes: &[(Territory, StoredShape)]) -> Result<()>;
    /// All stored boundaries.
    async fn territory_shapes(&self) -> Result<Vec<StoredShape>>;
    /// The requests with a point, by id after `after_id`, at most `limit`.
    async fn locations(&self, after_id: i64, limit: u32) -> Result<Vec<Located>>;
    /// Stores new places of requests, all or none.
    async fn set_placements(&self, updates: &[PlacementUpdate]) -> Result<()>;
    /// Requests whose point was flagged (only those with `flag` when given), by id after
    /// `after_id`, at most `limit`.
    async fn location_issues(&self, flag: Option<&str>, after_id: i64, limit: u32) -> Result<Vec<Request>>;
    /// Calls `listener` after every committed change to the rollups made through this store.
    fn watch_rollups(&self, listener: RollupListener);
    /// The rollups of the creation hours in `[from_hour, to_hour)`.
    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<RollupRow>>;
    /// The first and the last creation hour counted, when any request is.
    async fn rollup_hours(&self) -> Result<Option<(i64, i64)>>;
    /// Recounts the rollups from the requests in SQL and compares them with the kept ones;
    /// unless `dry_run`, replaces the kept ones when they differ.
    async fn rebuild_rollups(&self, dry_run: bool) -> Result<RollupRebuild>;
    /// Creates or updates a service by code.
    async fn upsert_service(&self, service: &Service) -> Result<()>;
    /// The whole catalog, by group then code.
    async fn services(&self) -> Result<Vec<Service>>;
    /// One service.
    async fn service(&self, code: &str) -> Result<Option<Service>>;

    /// Stores a new request with its contact and `registered` event (and `routed`, when it
    /// names an agency) in one transaction. A request whose source system and id are already
    /// stored is not stored again: the existing one is returned with `created: false`.
    async fn create_request(&self, request: &NewRequest, token: &str, due: Due) -> Result<Created> {
        self.create_triaged_request(request, token, due, None).await
    }
    /// [`Store::create_request`], storing in the same transaction what intake's triage
    /// decided (a request already stored keeps its own).
    async fn create_triaged_request(&self, request: &NewRequest, token: &str, due: Due, prediction: Option<&Prediction>) -> Result<Created>;
    /// What intake's triage decided for a request, if it was triaged.
    async fn prediction(&self, request_id: i64) -> Result<Option<PredictionRecord>>;
    /// Open requests waiting for an operator's triage (not routed or reclassified by one since),
    /// oldest first, after `after_id`, at most `limit`.
    async fn triage_queue(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, PredictionRecord)>>;
    /// Requests with their triage record (if any), by id, after `after_id`, at most `limit`
    /// (for exporting training data).
    async fn requests_with_predictions(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, Option<PredictionRecord>)>>;
    /// Operators' routing rules, by id.
    async fn routing_rules(&self) -> Result<Vec<RoutingRule>>;
    /// Adds a validated rule (its codes must exist: a conflict otherwise).
    async fn add_routing_rule(&self, rule: &RuleDraft, by: &str, now: DateTime<Utc>) -> Result<RoutingRule>;
    /// Turns a rule on or off; false if there is no such rule.
    async fn set_routing_rule_active(&self, id: i64, active: bool) -> Result<bool>;
    /// One request by id.
    async fn request(&self, id: i64) -> Result<Option<Request>>;
    /// One request by its public token.
    async fn request_by_token(&self, token: &str) -> Result<Option<Request>>;
    /// Requests matching a filter, newest first (by id), at most `filter.limit`.
    async fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>>;
    /// A request's timeline, oldest first.
    async fn events(&self, request_id: i64) -> Result<Vec<Event>>;
    /// Applies an action atomically: reads the request under a write lock, asks `plan` what to
    /// do, stores the new state and its event. `Ok(None)` if there is no such request.
    async fn apply(&self, request_id: i64, plan: &Planner<'_>) -> Result<Option<Request>>;
    /// How many requests were merged into request `id` as its duplicates.
    async fn duplicate_count(&self, id: i64) -> Result<i64>;
    /// Counts requests grouped by a column, largest first.
    async fn count_requests_by(&self, by: CountBy) -> Result<Vec<(Option<String>, i64)>>;
    /// What scorecards are computed from, per agency or territory, for requests submitted in
    /// `[from, to)`: counts made by the database (overdue and on time as of `now`), and the
    /// times of the answered or finished requests, read from one snapshot.
    async fn score_groups(&self, from: DateTime<Utc>, to: DateTime<Utc>, by: ScoreBy, now: DateTime<Utc>) -> Result<Vec<ScoreGroup>>;
    /// Queue sizes per agency, for requests awaiting their agency: overdue at `now`, due before
    /// `today_end`, due before `soon_end`, first reaction missing at `now`.
    async fn queue_counts(&self, now: DateTime<Utc>, today_end: DateTime<Utc>, soon_end: DateTime<Utc>) -> Result<Vec<QueueCounts>>;
    /// Raises a request's escalation level to `level` with its event and notifications, in one
    /// transaction; `false` (nothing written) if the request is already at that level or higher.
    async fn escalate(&self, request_id: i64, level: i16, event: &NewEvent, notifications: &[Notification]) -> Result<bool>;
    /// Notifications not yet delivered (of one channel, if given) that are due at `now`: never
    /// tried, or their retry time has come, and tried fewer than `max_attempts` times; oldest first.
    async fn pending_notifications(&self, channel: Option<&str>, now: DateTime<Utc>, max_attempts: u32, limit: u32) -> Result<Vec<Pending>>;
    /// Records a notification as delivered.
    async fn notification_sent(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Records a failed delivery attempt and when to try again.
    async fn notification_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()>;
    /// Up to `limit` requests with ids above `after_id`, in id order, with their timelines.
    async fn timelines(&self, after_id: i64, limit: u32) -> Result<Vec<Timeline>>;
    /// Stores recomputed deadlines with their events, in one transaction; a changed deadline
    /// resets the escalation level.
    async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> Result<()>;
    /// Number of stored requests and events.
    async fn totals(&self) -> Result<(i64, i64)>;

    /// The citizen's contact of a request, read by staff member `reader`. The read is written
    /// to the audit log in the same transaction, whether or not a contact exists.
    async fn read_contact(&self, request_id: i64, reader: &Principal, now: DateTime<Utc>) -> Result<Option<Contact>>;
    /// Appends an audit entry.
    async fn audit(&self, user_login: &str, action: &str, request_id: Option<i64>, detail: Option<&str>, now: DateTime<Utc>) -> Result<()>;
    /// The newest audit entries first.
    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>>;

    /// Creates a user; fails with `Conflict` if the login is taken.
    async fn create_user(&self, user: &NewUser, now: DateTime<Utc>) -> Result<i64>;
    /// A user by login.
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>>;
    /// Stores a browser session by the hash of its secret.
    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: DateTime<Utc>) -> Result<()>;
    /// The active user behind a session that has not expired at `now`.
    async fn session_principal(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Stores a bearer token by the hash of its secret.
    async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, now: DateTime<Utc>) -> Result<i64>;
    /// The active user behind a bearer token that has not been revoked.
    async fn token_principal(&self, token_hash: &str) -> Result<Option<Principal>>;

    /// Issues an Open311 API key to `client`, stored by the hash of its secret.
    async fn create_api_key(&self, client: &str, key_hash: &str, now: DateTime<Utc>) -> Result<i64>;
    /// The client holding a key that has not been revoked.
    async fn api_key_client(&self, key_hash: &str) -> Result<Option<String>>;
    /// Every key issued, newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>>;
    /// Revokes a key by id; `false` if there is no such unrevoked key.
    async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// Stores an uploaded media file under an unguessable token.
    async fn store_media(&self, token: &str, media: &Media, now: DateTime<Utc>) -> Result<()>;
    /// A stored media file.
    async fn media(&self, token: &str) -> Result<Option<Media>>;

    /// Records spikes found by a scan: new ones as `new` alerts; those already raised for the
    /// same topic, territory, period and first day get the new counts and keep their state.
    /// Returns the stored alerts.
    async fn record_alerts(&self, drafts: &[AlertDraft], now: DateTime<Utc>) -> Result<Vec<Alert>>;
    /// Alerts matching the filter, newest first.
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    /// One alert.
    async fn alert(&self, id: i64) -> Result<Option<Alert>>;
    /// Moves an alert to `state`, recording who did it and their note (a missing note keeps the
    /// previous one); `None` when there is no such alert.
    async fn set_alert_state(&self, id: i64, state: AlertState, by: &str, note: Option<&str>, now: DateTime<Utc>) -> Result<Option<Alert>>;
    /// The problems the requests `ids` belong to, by request id.
    async fn problem_links(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, okno_core::problem::Link>>;
    /// Stores what a problem scan found, in one transaction: new proposals and new requests of
    /// existing problems (a request already in a problem stays where it is).
    async fn record_problems(&self, changes: &[okno_core::problem::ProblemChange], now: DateTime<Utc>) -> Result<()>;
    /// Problems by a filter, newest first.
    async fn problems(&self, filter: &okno_core::problem::ProblemFilter) -> Result<Vec<okno_core::problem::Problem>>;
    /// One problem.
    async fn problem(&self, id: i64) -> Result<Option<okno_core::problem::Problem>>;
    /// An operator's change of a problem's state, name, owner or note.
    async fn update_problem(&self, id: i64, change: &okno_core::problem::ProblemUpdate, by: &str, now: DateTime<Utc>) -> Result<Option<okno_core::problem::Problem>>;
    /// Adds request `request_id` to problem `problem` if the problem is open and the request
    /// belongs to none yet; whether it was added.
    async fn attach_to_problem(&self, problem: i64, request_id: i64, now: DateTime<Utc>) -> Result<bool>;


    /// Stores a batch of imported requests with their histories in one transaction, skipping
    /// those whose source id is already stored (and repeats within the batch).
    async fn import_batch(&self, batch: &[ImportedRequest]) -> Result<ImportCounts>;
}

/// Opens (creating if needed) the database at `url` and brings its schema up to date.
/// `sqlite://PATH` (relative to the working directory; `sqlite::memory:` for a throwaway one)
/// or `postgres://…`/`postgresql://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use okno_core::rollup::{RollupKey, RollupRow};

    /// Rollups stored by an Okno older than migration 13 (texts in every key).
    const OLD_ROLLUPS: &str = "INSERT INTO rollups (hour, cell, territory_code, service_code, category, agency_code, channel, closed_hour, n) \
        VALUES (10, 0, '', 'snow', 'Благоустройство', 'roads', 'web', 0, 3), (11, 612789031652032511, 'smolny', 'snow', '', '', 'import', 12, 1)";

    /// Migrations applied before rollups were keyed by ids (0001–0012).
    const BEFORE_ROLLUP_DIMS: usize = 12;

    #[tokio::test]
    async fn rollups_keyed_by_text_are_carried_over_to_ids() {
        for url in crate::testing::fresh_database_urls().await {
            if url.starts_with("sqlite:") {
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
                std::fs::create_dir_all(options.get_filename().parent().unwrap()).unwrap();
                let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap();
                crate::backend::migrator(&crate::sqlite::MIGRATIONS[..BEFORE_ROLLUP_DIMS]).run(&pool).await.unwrap();
                sqlx::query(OLD_ROLLUPS).execute(&pool).await.unwrap();
            } else {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                crate::backend::migrator(&crate::postgres::MIGRATIONS[..BEFORE_ROLLUP_DIMS]).run(&pool).await.unwrap();
                sqlx::query(OLD_ROLLUPS).execute(&pool).await.unwrap();
            }
            let store = crate::open(&url).await.unwrap();
            let key = |hour, cell, territory: &str, category: &str, agency: &str, channel: &str, closed_hour| RollupKey {
                hour, cell, territory: territory.into(), service: "snow".into(), category: category.into(), agency: agency.into(),
                channel: channel.into(), closed_hour,
            };
            let mut rows = store.rollups(0, 100).await.unwrap();
            rows.sort_by_key(|r| r.key.hour);
            assert_eq!(rows, [
                RollupRow { key: key(10, 0, "", "Благоустройство", "roads", "web", 0), n: 3 },
                RollupRow { key: key(11, 612789031652032511, "smolny", "", "", "import", 12), n: 1 },
            ], "{url}");
        }
    }
}
