//! Requests and their events: filing, reading, listing and the atomic lifecycle action, and the
//! row mapping every other aggregate that reads requests shares.

use crate::dialect::{classify, get_time, parse_json, parse_stored, to_json, Conn, Dialect, Row, SqlStore};
use crate::query::{self, EVENT_COLUMNS, INSERT_EVENT, INSERT_REQUEST, REQUEST_COLUMNS};
use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use okno_core::deadline::Due;
use okno_core::rollup::RollupDeltas;
use okno_core::triage::Prediction;
use okno_core::workflow::{ActionError, RequestUpdate};
use okno_core::{Contact, Coordinates, Event, NewEvent, NewRequest, Request, RequestFilter, RequestId, Status};
use sqlx::AssertSqlSafe;

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

/// Decides an action's effect on a request, given the request as currently stored.
pub type Planner<'a> = dyn Fn(&Request) -> Result<RequestUpdate, ActionError> + Send + Sync + 'a;

/// Requests and their timelines.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Stores a new request with its contact and `registered` event (and `routed`, when it
    /// names an agency) in one transaction. A request whose source system and id are already
    /// stored is not stored again: the existing one is returned with `created: false`.
    async fn create_request(&self, request: &NewRequest, token: &str, due: Due) -> Result<Created> {
        self.create_triaged_request(request, token, due, None).await
    }
    /// [`RequestStore::create_request`], storing in the same transaction what intake's triage
    /// decided (a request already stored keeps its own).
    async fn create_triaged_request(&self, request: &NewRequest, token: &str, due: Due, prediction: Option<&Prediction>) -> Result<Created>;
    /// One request by id.
    async fn request(&self, id: RequestId) -> Result<Option<Request>>;
    /// One request by its public token.
    async fn request_by_token(&self, token: &str) -> Result<Option<Request>>;
    /// Requests matching a filter, newest first (by id), at most `filter.limit`.
    async fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>>;
    /// A request's timeline, oldest first.
    async fn events(&self, request: RequestId) -> Result<Vec<Event>>;
    /// Applies an action atomically: reads the request under a write lock, asks `plan` what to
    /// do, stores the new state and its event. `Ok(None)` if there is no such request.
    async fn apply(&self, request: RequestId, plan: &Planner<'_>) -> Result<Option<Request>>;
    /// How many requests were merged into request `id` as its duplicates.
    async fn duplicate_count(&self, id: RequestId) -> Result<i64>;
}

/// Reads a request row (the columns of [`REQUEST_COLUMNS`]).
pub(crate) fn request_from_row<D: Dialect>(row: &Row<D>) -> Result<Request> {
    let lat: Option<f64> = D::get(row, "lat")?;
    let lon: Option<f64> = D::get(row, "lon")?;
    Ok(Request {
        id: RequestId(D::get(row, "id")?),
        token: D::get(row, "token")?,
        service_code: D::get(row, "service_code")?,
        channel: parse_stored("channel", &D::get::<String, _>(row, "channel")?)?,
        source_system: D::get(row, "source_system")?,
        source_id: D::get(row, "source_id")?,
        text: D::get(row, "text")?,
        coordinates: lat.zip(lon).and_then(|(lat, lon)| Coordinates::new(lat, lon)),
        address: D::get(row, "address")?,
        territory: D::get(row, "territory_code")?,
        agency: D::get(row, "agency_code")?,
        status: parse_stored("status", &D::get::<String, _>(row, "status")?)?,
        priority: parse_stored("priority", &D::get::<String, _>(row, "priority")?)?,
        created_at: get_time::<D, _>(row, "created_at")?,
        updated_at: get_time::<D, _>(row, "updated_at")?,
        closed_at: D::get_opt_time(row, "closed_at")?,
        due_at: D::get_opt_time(row, "due_at")?,
        attributes: parse_json("attributes", &D::get::<String, _>(row, "attributes")?)?,
        media_url: D::get(row, "media_url")?,
        category: D::get(row, "category")?,
        reason: D::get(row, "reason")?,
        rating: D::get(row, "rating")?,
        last_answer: D::get(row, "last_answer")?,
        first_reaction_due_at: D::get_opt_time(row, "first_reaction_due_at")?,
        first_reaction_at: D::get_opt_time(row, "first_reaction_at")?,
        first_answer_at: D::get_opt_time(row, "first_answer_at")?,
        extensions: D::get(row, "extensions")?,
        escalation_level: D::get(row, "escalation_level")?,
        paused_at: D::get_opt_time(row, "paused_at")?,
        routing_due_at: D::get_opt_time(row, "routing_due_at")?,
        location: crate::dialect::location_from_row::<D>(row)?,
        duplicate_of: D::get(row, "duplicate_of")?,
    })
}

/// Reads an event row (the columns of [`EVENT_COLUMNS`]).
fn event_from_row<D: Dialect>(row: &Row<D>) -> Result<Event> {
    let status: Option<String> = D::get(row, "status")?;
    Ok(Event {
        id: D::get(row, "id")?,
        request_id: D::get(row, "request_id")?,
        at: get_time::<D, _>(row, "at")?,
        kind: parse_stored("kind", &D::get::<String, _>(row, "kind")?)?,
        actor: D::get(row, "actor")?,
        status: status.as_deref().map(|s| parse_stored("status", s)).transpose()?,
        agency: D::get(row, "agency_code")?,
        text: D::get(row, "text")?,
        old_due_at: D::get_opt_time(row, "old_due_at")?,
        new_due_at: D::get_opt_time(row, "new_due_at")?,
        rating: D::get(row, "rating")?,
    })
}

/// Inserts a request row; `None` when its source id is already stored.
async fn insert_request<D: Dialect>(conn: &mut Conn<D>, item: &ImportedRequest) -> Result<Option<RequestId>> {
    let row = D::sql(AssertSqlSafe(INSERT_REQUEST.as_str())).bind_all(query::request_row(item)).fetch_optional(conn).await.map_err(classify)?;
    Ok(row.map(|r| D::get::<RequestId, _>(&r, 0)).transpose()?)
}

/// Inserts one event of a request.
pub(crate) async fn insert_event<D: Dialect>(conn: &mut Conn<D>, request_id: RequestId, e: &NewEvent) -> Result<()> {
    D::sql(AssertSqlSafe(INSERT_EVENT.as_str())).bind_all(query::event_row(request_id, e)).execute(conn).await.map_err(classify)?;
    Ok(())
}

/// Stores a request's contact, apart from the request, when there is one.
pub(crate) async fn insert_contact<D: Dialect>(conn: &mut Conn<D>, request_id: RequestId, c: &Contact) -> Result<()> {
    if c.is_empty() {
        return Ok(());
    }
    D::sql("INSERT INTO contacts (request_id, name, phone, email) VALUES ($1, $2, $3, $4)")
        .bind(request_id).bind(&c.name).bind(&c.phone).bind(&c.email)
        .execute(conn).await?;
    Ok(())
}

/// One request, read on `conn`.
pub(crate) async fn request_in<D: Dialect>(conn: &mut Conn<D>, id: RequestId) -> Result<Option<Request>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
    let row = D::sql(AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(request_from_row::<D>).transpose()
}

/// The timeline a new request starts with: registered, then routed by the system if it
/// names an agency (no text: the UI words the event in the reader's language).
fn intake_events(r: &NewRequest, due: Due) -> Vec<NewEvent> {
    let mut registered = NewEvent::new(r.created_at, okno_core::EventKind::Registered, r.channel.as_str());
    registered.status = Some(Status::Registered);
    registered.new_due_at = due.answer;
    let mut events = vec![registered];
    if let Some(agency) = &r.agency {
        let mut routed = NewEvent::new(r.created_at, okno_core::EventKind::Routed, "system");
        routed.status = Some(Status::Routed);
        routed.agency = Some(agency.clone());
        events.push(routed);
    }
    events
}

#[async_trait]
impl<D: Dialect> RequestStore for SqlStore<D> {
    async fn create_triaged_request(&self, r: &NewRequest, token: &str, due: Due, prediction: Option<&Prediction>) -> Result<Created> {
        let item = ImportedRequest {
            request: r.clone(), token: token.to_owned(),
            status: if r.agency.is_some() { Status::Routed } else { Status::Registered },
            updated_at: r.created_at, closed_at: None, due_at: due.answer, last_answer: None, rating: None,
            first_reaction_due_at: due.first_reaction, first_reaction_at: None, first_answer_at: None,
            routing_due_at: due.routing, events: intake_events(r, due),
        };
        let mut tx = self.begin().await?;
        let Some(id) = insert_request::<D>(&mut tx, &item).await? else {
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE source_system = $1 AND source_id = $2");
            let row = D::sql(AssertSqlSafe(sql)).bind(&r.source_system).bind(&r.source_id).fetch_one(&mut tx).await?;
            return Ok(Created { request: request_from_row::<D>(&row)?, created: false });
        };
        insert_contact::<D>(&mut tx, id, &r.contact).await?;
        for event in &item.events {
            insert_event::<D>(&mut tx, id, event).await?;
        }
        if let Some(p) = prediction {
            D::sql(
                "INSERT INTO predictions (request_id, at, services, agencies, service_by, agency_by, rule_id, models, needs_triage) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id).bind_time(r.created_at).bind(to_json(&p.services)).bind(to_json(&p.agencies))
            .bind(p.service_by.as_str()).bind(p.agency_by.as_str()).bind(p.rule_id).bind(to_json(&p.models)).bind(p.needs_triage)
            .execute(&mut tx).await.map_err(classify)?;
        }
        let request = request_in::<D>(&mut tx, id).await?.ok_or_else(|| StoreError::Corrupt("inserted request vanished".into()))?;
        let mut deltas = RollupDeltas::default();
        deltas.count(&request, 1);
        self.commit_counted(tx, &deltas).await?;
        Ok(Created { request, created: true })
    }

    async fn request(&self, id: RequestId) -> Result<Option<Request>> {
        request_in::<D>(&mut *self.read().await?, id).await
    }

    async fn request_by_token(&self, token: &str) -> Result<Option<Request>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE token = $1");
        let row = D::sql(AssertSqlSafe(sql)).bind(token).fetch_optional(&mut *self.read().await?).await?;
        row.as_ref().map(request_from_row::<D>).transpose()
    }

    async fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>> {
        let (sql, binds) = query::list_requests(filter);
        let rows = D::sql(AssertSqlSafe(sql)).bind_all(binds).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(request_from_row::<D>).collect()
    }

    async fn events(&self, request: RequestId) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE request_id = $1 ORDER BY at, id");
        let rows = D::sql(AssertSqlSafe(sql)).bind(request.0).fetch_all(&mut *self.read().await?).await?;
        rows.iter().map(event_from_row::<D>).collect()
    }

    async fn apply(&self, request_id: RequestId, plan: &crate::Planner<'_>) -> Result<Option<Request>> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1{}", D::LOCK_FOR_UPDATE);
        let Some(row) = D::sql(AssertSqlSafe(sql)).bind(request_id).fetch_optional(&mut tx).await? else {
            return Ok(None);
        };
        let before = request_from_row::<D>(&row)?;
        let update = plan(&before)?;
        D::sql(
            "UPDATE requests SET status = $1, agency_code = $2, due_at = $3, closed_at = $4, rating = $5, \
             last_answer = $6, updated_at = $7, first_reaction_at = $8, first_answer_at = $9, extensions = $10, \
             escalation_level = $11, paused_at = $12, service_code = $14, duplicate_of = $15, reopenings = reopenings + $16 \
             WHERE id = $13",
        )
        .bind(update.status.as_str()).bind(update.agency.as_deref()).bind_opt_time(update.due_at)
        .bind_opt_time(update.closed_at).bind(update.rating).bind(&update.last_answer)
        .bind_time(update.event.at).bind_opt_time(update.first_reaction_at).bind_opt_time(update.first_answer_at)
        .bind(update.extensions).bind(update.escalation_level).bind_opt_time(update.paused_at).bind(request_id)
        .bind(update.service_code.as_str()).bind(update.duplicate_of)
        .bind(i64::from(update.event.kind == okno_core::EventKind::Reopened))
        .execute(&mut tx).await.map_err(classify)?;
        insert_event::<D>(&mut tx, request_id, &update.event).await?;
        if matches!(update.event.kind, okno_core::EventKind::Routed | okno_core::EventKind::Reclassified) {
            D::sql("UPDATE predictions SET corrected_at = $1, corrected_by = $2 WHERE request_id = $3")
                .bind_time(update.event.at).bind(&update.event.actor).bind(request_id)
                .execute(&mut tx).await?;
        }
        let request = request_in::<D>(&mut tx, request_id).await?.ok_or_else(|| StoreError::Corrupt("changed request vanished".into()))?;
        let mut deltas = RollupDeltas::default();
        deltas.change(&before, &request);
        self.commit_counted(tx, &deltas).await?;
        Ok(Some(request))
    }

    async fn duplicate_count(&self, id: RequestId) -> Result<i64> {
        let row = D::sql("SELECT COUNT(*) FROM requests WHERE duplicate_of = $1").bind(id.0).fetch_one(&mut *self.read().await?).await?;
        Ok(D::get(&row, 0)?)
    }
}
