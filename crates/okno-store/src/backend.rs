//! The store's code, written once and instantiated for each backend by [`impl_store!`].
//!
//! A backend module provides, before invoking the macro: a struct with `writer` and `reader`
//! pools, a `DbTime` type with `to_db`/`from_db` conversions (how a time is stored),
//! `known_source_ids`, `reserve_request_ids` and `write_rows` (how a bulk import is streamed in),
//! `hour_sql` (a time column's hour in SQL), `packed_times_sql` (scorecard times in one text
//! per group), `READ_SNAPSHOT` (how a read transaction sees one snapshot) and
//! `NUMBERED_PLACEHOLDERS`. The macro supplies everything else.

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

/// Maps a database error onto the store's errors: broken references and taken keys become
/// [`crate::StoreError::Conflict`] with the database's message.
pub fn classify(err: sqlx::Error) -> crate::StoreError {
    use sqlx::error::ErrorKind;
    if let Some(db) = err.as_database_error()
        && matches!(db.kind(), ErrorKind::ForeignKeyViolation | ErrorKind::UniqueViolation | ErrorKind::CheckViolation)
    {
        return crate::StoreError::Conflict(db.message().to_owned());
    }
    crate::StoreError::Database(err)
}

/// Parses a stored enum name, reporting corruption instead of panicking.
pub fn parse_stored<T: std::str::FromStr>(column: &str, value: &str) -> crate::Result<T> {
    value.parse().map_err(|_| crate::StoreError::Corrupt(format!("{column} = {value:?}")))
}

/// Parses a stored JSON column.
pub fn parse_json<T: serde::de::DeserializeOwned>(column: &str, value: &str) -> crate::Result<T> {
    serde_json::from_str(value).map_err(|e| crate::StoreError::Corrupt(format!("{column}: {e}")))
}

/// The schema's migrations for one backend, oldest first: (description, SQL).
pub(crate) fn migrator(steps: &[(&'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        steps
            .iter()
            .zip(1..)
            .map(|((description, sql), version)| {
                Migration::new(version, (*description).into(), MigrationType::Simple, sqlx::AssertSqlSafe(*sql).into_sql_str(), false)
            })
            .collect(),
    )
}

/// Implements [`crate::Store`] for a backend struct; see the module documentation.
/// `lock` is appended to the `SELECT` that reads a request before changing it.
macro_rules! impl_store {
    (store = $Store:ty, db = $DB:ty, backend = $backend:expr, lock = $lock:literal) => {
        use crate::backend::{classify, parse_json, parse_stored};
        use crate::query::{self, Bind, AWAITING_STATUSES, FINAL_STATUSES, EVENT_COLUMNS, EVENT_INSERT_COLUMNS, INSERT_EVENT, INSERT_REQUEST, REQUEST_COLUMNS};
        use crate::{ApiKeyInfo, AuditEntry, Backend, Media, Notification, QueueCounts, ScoreBy, CountBy, Created, DeadlineUpdate, ImportCounts, ImportedRequest, NewUser, Pending, Planner, Result, Store, StoreError, Timeline, TimelineEvent, UserRecord};
        use chrono::{DateTime, Utc};
        use okno_core::alert::{Alert, AlertDraft, AlertFilter, AlertState};
        use okno_core::deadline::Due;
        use okno_core::problem::{ClusterSummary, Problem, ProblemChange, ProblemFilter, ProblemUpdate};
        use okno_core::rollup::{Counted, RollupDeltas, RollupKey, RollupRow};
        use okno_core::scorecard::{ScoreCounts, ScoreGroup};
        use okno_core::triage::{Prediction, PredictionRecord, RoutingRule, RuleDraft};
        use okno_core::{Agency, Contact, Coordinates, Event, NewEvent, NewRequest, Principal, Request, RequestFilter, Service, Status, Territory};
        use sqlx::{AssertSqlSafe, Row};

        type DbRow = <$DB as sqlx::Database>::Row;
        type Tx<'c> = sqlx::Transaction<'c, $DB>;

        fn opt_time(t: Option<DateTime<Utc>>) -> Option<DbTime> {
            t.map(to_db)
        }

        fn get_time(row: &DbRow, col: &str) -> Result<DateTime<Utc>> {
            from_db(row.try_get::<DbTime, _>(col)?)
        }

        fn get_opt_time(row: &DbRow, col: &str) -> Result<Option<DateTime<Utc>>> {
            row.try_get::<Option<DbTime>, _>(col)?.map(from_db).transpose()
        }

        /// Inserts a territory or updates the stored one of its code.
        async fn write_territory<'e, E: sqlx::Executor<'e, Database = $DB>>(executor: E, t: &Territory) -> Result<()> {
            sqlx::query(
                "INSERT INTO territories (code, name_ru, name_en, kind, parent_code, population) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO UPDATE SET name_ru = excluded.name_ru, \
                 name_en = excluded.name_en, kind = excluded.kind, parent_code = excluded.parent_code, \
                 population = excluded.population",
            )
            .bind(&t.code).bind(&t.name_ru).bind(&t.name_en).bind(&t.kind).bind(&t.parent).bind(t.population)
            .execute(executor).await.map_err(classify)?;
            Ok(())
        }

        fn request_from_row(row: &DbRow) -> Result<Request> {
            let lat: Option<f64> = row.try_get("lat")?;
            let lon: Option<f64> = row.try_get("lon")?;
            Ok(Request {
                id: row.try_get("id")?,
                token: row.try_get("token")?,
                service_code: row.try_get("service_code")?,
                channel: parse_stored("channel", row.try_get("channel")?)?,
                source_system: row.try_get("source_system")?,
                source_id: row.try_get("source_id")?,
                text: row.try_get("text")?,
                coordinates: lat.zip(lon).and_then(|(lat, lon)| Coordinates::new(lat, lon)),
                address: row.try_get("address")?,
                territory: row.try_get("territory_code")?,
                agency: row.try_get("agency_code")?,
                status: parse_stored("status", row.try_get("status")?)?,
                priority: parse_stored("priority", row.try_get("priority")?)?,
                created_at: get_time(row, "created_at")?,
                updated_at: get_time(row, "updated_at")?,
                closed_at: get_opt_time(row, "closed_at")?,
                due_at: get_opt_time(row, "due_at")?,
                attributes: parse_json("attributes", row.try_get("attributes")?)?,
                media_url: row.try_get("media_url")?,
                category: row.try_get("category")?,
                reason: row.try_get("reason")?,
                rating: row.try_get("rating")?,
                last_answer: row.try_get("last_answer")?,
                first_reaction_due_at: get_opt_time(row, "first_reaction_due_at")?,
                first_reaction_at: get_opt_time(row, "first_reaction_at")?,
                first_answer_at: get_opt_time(row, "first_answer_at")?,
                extensions: row.try_get("extensions")?,
                escalation_level: row.try_get("escalation_level")?,
                paused_at: get_opt_time(row, "paused_at")?,
                routing_due_at: get_opt_time(row, "routing_due_at")?,
                location: okno_core::Location { flag: row.try_get("location_flag")?, cell: row.try_get("h3_cell")? },
                duplicate_of: row.try_get("duplicate_of")?,
            })
        }

        const PREDICTION_COLUMNS: &str = "p.request_id AS p_request_id, p.at AS p_at, p.services AS p_services, \
            p.agencies AS p_agencies, p.service_by AS p_service_by, p.agency_by AS p_agency_by, p.rule_id AS p_rule_id, \
            p.models AS p_models, p.needs_triage AS p_needs_triage, p.corrected_at AS p_corrected_at, p.corrected_by AS p_corrected_by";

        fn prediction_from_row(row: &DbRow) -> Result<Option<PredictionRecord>> {
            let Some(request_id) = row.try_get::<Option<i64>, _>("p_request_id")? else { return Ok(None) };
            Ok(Some(PredictionRecord {
                request_id,
                at: get_time(row, "p_at")?,
                prediction: Prediction {
                    services: parse_json("services", row.try_get("p_services")?)?,
                    agencies: parse_json("agencies", row.try_get("p_agencies")?)?,
                    service_by: parse_stored("service_by", row.try_get("p_service_by")?)?,
                    agency_by: parse_stored("agency_by", row.try_get("p_agency_by")?)?,
                    rule_id: row.try_get("p_rule_id")?,
                    models: parse_json("models", row.try_get("p_models")?)?,
                    needs_triage: row.try_get("p_needs_triage")?,
                },
                corrected_at: get_opt_time(row, "p_corrected_at")?,
                corrected_by: row.try_get("p_corrected_by")?,
            }))
        }

        fn alert_from_row(row: &DbRow) -> Result<Alert> {
            let territory: String = row.try_get("territory_code")?;
            Ok(Alert {
                id: row.try_get("id")?,
                spike: AlertDraft {
                    category: row.try_get("category")?,
                    territory: (!territory.is_empty()).then_some(territory),
                    period: parse_stored("period", row.try_get("period")?)?,
                    first_day: row.try_get("first_day")?,
                    last_day: row.try_get("last_day")?,
                    observed: row.try_get("observed")?,
                    expected: row.try_get("expected")?,
                    score: row.try_get("score")?,
                },
                state: parse_stored("state", row.try_get("state")?)?,
                detected_at: get_time(row, "detected_at")?,
                updated_at: get_time(row, "updated_at")?,
                handled_by: row.try_get("handled_by")?,
                note: row.try_get("note")?,
            })
        }

        fn problem_from_row(row: &DbRow) -> Result<Problem> {
            Ok(Problem {
                id: row.try_get("id")?,
                state: parse_stored("state", row.try_get("state")?)?,
                title: row.try_get("title")?,
                owner: row.try_get("owner_agency")?,
                summary: ClusterSummary {
                    topic: row.try_get("topic")?,
                    territory: row.try_get("territory_code")?,
                    agency: row.try_get("agency_code")?,
                    centre: Coordinates { lat: row.try_get("lat")?, lon: row.try_get("lon")? },
                    radius_m: row.try_get("radius_m")?,
                    sample_text: row.try_get("sample_text")?,
                    first_at: get_time(row, "first_at")?,
                    last_at: get_time(row, "last_at")?,
                },
                members: row.try_get("members")?,
                detected_at: get_time(row, "detected_at")?,
                updated_at: get_time(row, "updated_at")?,
                handled_by: row.try_get("handled_by")?,
                note: row.try_get("note")?,
            })
        }

        /// Links requests to a problem (those already in one stay there) and brings its count
        /// and span up to date; how many were linked.
        async fn add_problem_members(tx: &mut Tx<'_>, problem: i64, ids: &[i64], added_by: &str, now: DateTime<Utc>) -> Result<u64> {
            let mut linked = 0;
            for id in ids {
                linked += sqlx::query("INSERT INTO problem_members (request_id, problem_id, added_at, added_by) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING")
                    .bind(id).bind(problem).bind(to_db(now)).bind(added_by)
                    .execute(&mut **tx).await.map_err(classify)?.rows_affected();
            }
            sqlx::query(
                "UPDATE problems SET members = (SELECT COUNT(*) FROM problem_members WHERE problem_id = $1), \
                 first_at = COALESCE((SELECT MIN(r.created_at) FROM problem_members m JOIN requests r ON r.id = m.request_id WHERE m.problem_id = $1), first_at), \
                 last_at = COALESCE((SELECT MAX(r.created_at) FROM problem_members m JOIN requests r ON r.id = m.request_id WHERE m.problem_id = $1), last_at), \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(problem).bind(to_db(now)).execute(&mut **tx).await.map_err(classify)?;
            Ok(linked)
        }

        fn rule_from_row(row: &DbRow) -> Result<RoutingRule> {
            Ok(RoutingRule {
                id: row.try_get("id")?,
                keywords: parse_json("keywords", row.try_get("keywords")?)?,
                service: row.try_get("service_code")?,
                agency: row.try_get("agency_code")?,
                territory: row.try_get("territory_code")?,
                priority: row.try_get("priority")?,
                active: row.try_get("active")?,
                created_by: row.try_get("created_by")?,
                created_at: get_time(row, "created_at")?,
            })
        }

        fn to_json<T: serde::Serialize>(value: &T) -> String {
            serde_json::to_string(value).unwrap_or_default()
        }

        /// Requests joined with their predictions: `{columns}` of both, then the condition.
        fn with_predictions(join: &str, condition: &str) -> String {
            let columns = REQUEST_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
            format!("SELECT {columns}, {PREDICTION_COLUMNS} FROM requests r {join} predictions p ON p.request_id = r.id WHERE {condition}")
        }

        fn event_from_row(row: &DbRow) -> Result<Event> {
            let status: Option<String> = row.try_get("status")?;
            Ok(Event {
                id: row.try_get("id")?,
                request_id: row.try_get("request_id")?,
                at: get_time(row, "at")?,
                kind: parse_stored("kind", row.try_get("kind")?)?,
                actor: row.try_get("actor")?,
                status: status.as_deref().map(|s| parse_stored("status", s)).transpose()?,
                agency: row.try_get("agency_code")?,
                text: row.try_get("text")?,
                old_due_at: get_opt_time(row, "old_due_at")?,
                new_due_at: get_opt_time(row, "new_due_at")?,
                rating: row.try_get("rating")?,
            })
        }

        fn principal_from_row(row: &DbRow) -> Result<Principal> {
            Ok(Principal {
                user_id: row.try_get("id")?,
                login: row.try_get("login")?,
                role: parse_stored("role", row.try_get("role")?)?,
                agency: row.try_get("agency_code")?,
            })
        }

        fn service_from_row(row: &DbRow) -> Result<Service> {
            Ok(Service {
                code: row.try_get("code")?,
                name_ru: row.try_get("name_ru")?,
                name_en: row.try_get("name_en")?,
                description_ru: row.try_get("description_ru")?,
                description_en: row.try_get("description_en")?,
                group: row.try_get("group_name")?,
                keywords: parse_json("keywords", row.try_get("keywords")?)?,
                attributes: parse_json("attributes", row.try_get("attributes")?)?,
                default_agency: row.try_get("default_agency")?,
                deadline_regime: row.try_get("deadline_regime")?,
                electronic: row.try_get("electronic")?,
                active: row.try_get("active")?,
            })
        }

        type Query<'q> = sqlx::query::Query<'q, $DB, <$DB as sqlx::Database>::Arguments>;

        fn bind_all<'q>(mut q: Query<'q>, binds: impl IntoIterator<Item = Bind>) -> Query<'q> {
            for b in binds {
                q = match b {
                    Bind::Text(s) => q.bind(s),
                    Bind::Int(i) => q.bind(i),
                    Bind::Float(f) => q.bind(f),
                    Bind::Time(t) => q.bind(t.map(to_db)),
                    Bind::Date(d) => q.bind(d),
                };
            }
            q
        }

        /// Statements to run one after another, each bound only when it is next.
        type Statements<'a> = Box<dyn Iterator<Item = Query<'static>> + Send + 'a>;

        /// Runs `statements` in order in the transaction, binding each while the database runs
        /// the one before (SQLite on its worker thread, PostgreSQL in its server): `join` polls
        /// the running statement first, which hands it over, then binds the next.
        async fn execute_pipelined(tx: &mut Tx<'_>, mut statements: Statements<'_>) -> Result<()> {
            let mut next = statements.next();
            while let Some(statement) = next {
                let (done, following) = futures_util::future::join(statement.execute(&mut **tx), async { statements.next() }).await;
                done.map_err(classify)?;
                next = following;
            }
            Ok(())
        }

        /// Inserts a request row; `None` when its source id is already stored.
        async fn insert_request(tx: &mut Tx<'_>, item: &ImportedRequest) -> Result<Option<i64>> {
            let q = bind_all(sqlx::query(AssertSqlSafe(INSERT_REQUEST.as_str())), query::request_row(item));
            let row = q.fetch_optional(&mut **tx).await.map_err(classify)?;
            row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(StoreError::from)
        }

        async fn insert_event(tx: &mut Tx<'_>, request_id: i64, e: &NewEvent) -> Result<()> {
            bind_all(sqlx::query(AssertSqlSafe(INSERT_EVENT.as_str())), query::event_row(request_id, e))
                .execute(&mut **tx).await.map_err(classify)?;
            Ok(())
        }

        async fn insert_contact(tx: &mut Tx<'_>, request_id: i64, c: &Contact) -> Result<()> {
            if c.is_empty() {
                return Ok(());
            }
            sqlx::query("INSERT INTO contacts (request_id, name, phone, email) VALUES ($1, $2, $3, $4)")
                .bind(request_id).bind(&c.name).bind(&c.phone).bind(&c.email)
                .execute(&mut **tx).await?;
            Ok(())
        }

        async fn request_in<'e, E>(executor: E, id: i64) -> Result<Option<Request>>
        where
            E: sqlx::Executor<'e, Database = $DB>,
        {
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(executor).await?;
            row.as_ref().map(request_from_row).transpose()
        }

        /// The `rollup_dims` ids of the texts in `deltas`' keys, adding the values not stored
        /// yet; also returns the pairs it had to ask for, for the dictionary to learn once the
        /// transaction commits (not before: a rollback takes added values back).
        async fn dim_ids<'k>(tx: &mut Tx<'_>, dims: &crate::dims::RollupDims, deltas: &'k RollupDeltas)
            -> Result<(std::collections::HashMap<&'k str, i64>, Vec<(String, i64)>)> {
            let (mut ids, unknown) = dims.split(deltas.iter().flat_map(|(key, _)| query::dim_texts(key)));
            let mut asked = Vec::with_capacity(unknown.len());
            for value in unknown {
                let id: i64 = sqlx::query_scalar(query::ADD_ROLLUP_DIM).bind(value).fetch_one(&mut **tx).await.map_err(classify)?;
                ids.insert(value, id);
                asked.push((value.to_owned(), id));
            }
            Ok((ids, asked))
        }

        /// Adds counts to the rollups inside the writing transaction: additions are upserted in
        /// batches, subtractions update their key and remove it when its count reaches zero. A
        /// subtraction from a key not stored, or below zero, is refused: the rollups drifted.
        /// Returns the dictionary pairs to learn after the commit (see [`dim_ids`]).
        async fn write_rollups(tx: &mut Tx<'_>, dims: &crate::dims::RollupDims, deltas: &RollupDeltas) -> Result<Vec<(String, i64)>> {
            let (ids, asked) = dim_ids(tx, dims, deltas).await?;
            let (added, removed): (Vec<(&RollupKey, i64)>, Vec<(&RollupKey, i64)>) = deltas.iter().partition(|(_, n)| *n > 0);
            let upserts = added.chunks(query::ROLLUPS_PER_UPSERT).map(|chunk| {
                let sql = query::upsert_rollups(chunk.len(), NUMBERED_PLACEHOLDERS);
                bind_all(sqlx::query(AssertSqlSafe(sql)), chunk.iter().flat_map(|(key, n)| query::rollup_row(key, &ids, Some(*n))))
            });
            execute_pipelined(tx, Box::new(upserts)).await?;
            for (key, n) in removed {
                let mut binds = vec![Bind::Int(Some(n))];
                binds.extend(query::rollup_row(key, &ids, None));
                let done = bind_all(sqlx::query(AssertSqlSafe(query::SUBTRACT_ROLLUP.as_str())), binds).execute(&mut **tx).await.map_err(classify)?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Corrupt(format!("rollup {key:?} is not stored; run `okno rollup rebuild`")));
                }
                bind_all(sqlx::query(AssertSqlSafe(query::DELETE_EMPTY_ROLLUP.as_str())), query::rollup_row(key, &ids, None))
                    .execute(&mut **tx).await?;
            }
            Ok(asked)
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

        /// The items of an import batch whose source ids are not stored yet (first of any repeats).
        async fn new_items<'b>(tx: &mut Tx<'_>, batch: &'b [ImportedRequest]) -> Result<Vec<&'b ImportedRequest>> {
            let mut by_system: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
            for r in batch.iter().map(|i| &i.request) {
                if let (Some(system), Some(id)) = (&r.source_system, &r.source_id) {
                    by_system.entry(system.as_str()).or_default().push(id.as_str());
                }
            }
            let mut stored = std::collections::HashSet::new();
            for (system, ids) in by_system {
                for id in known_source_ids(tx, system, &ids).await? {
                    stored.insert((Some(system.to_owned()), Some(id)));
                }
            }
            Ok(batch
                .iter()
                .filter(|item| {
                    let key = (item.request.source_system.clone(), item.request.source_id.clone());
                    key.0.is_none() || key.1.is_none() || stored.insert(key)
                })
                .collect())
        }

        impl $Store {
            /// Writes the rollup changes of a transaction, commits it, then lets the rollups'
            /// dictionary learn the values added and the listeners hear of the changes.
            async fn commit_counted(&self, mut tx: Tx<'_>, deltas: &RollupDeltas) -> Result<()> {
                let asked = write_rollups(&mut tx, &self.dims, deltas).await?;
                tx.commit().await?;
                self.dims.learn(asked);
                self.listeners.notify(deltas);
                Ok(())
            }

            /// Reads the whole rollups' dictionary in (values another process added).
            async fn read_rollup_dims(&self) -> Result<()> {
                let pairs: Vec<(i64, String)> = sqlx::query_as("SELECT id, value FROM rollup_dims").fetch_all(&self.reader).await?;
                self.dims.learn(pairs.into_iter().map(|(id, value)| (value, id)));
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl Store for $Store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn upsert_agency(&self, a: &Agency) -> Result<()> {
                sqlx::query(
                    "INSERT INTO agencies (code, name_ru, name_en, parent_code) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO UPDATE SET name_ru = excluded.name_ru, name_en = excluded.name_en, \
                     parent_code = excluded.parent_code",
                )
                .bind(&a.code).bind(&a.name_ru).bind(&a.name_en).bind(&a.parent)
                .execute(&self.writer).await.map_err(classify)?;
                Ok(())
            }

            async fn agencies(&self) -> Result<Vec<Agency>> {
                let rows = sqlx::query("SELECT code, name_ru, name_en, parent_code FROM agencies ORDER BY code")
                    .fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| Ok(Agency { code: r.try_get(0)?, name_ru: r.try_get(1)?, name_en: r.try_get(2)?, parent: r.try_get(3)? }))
                    .collect()
            }

            async fn upsert_territory(&self, t: &Territory) -> Result<()> {
                write_territory(&self.writer, t).await
            }

            async fn territories(&self) -> Result<Vec<Territory>> {
                let rows = sqlx::query("SELECT code, name_ru, name_en, kind, parent_code, population FROM territories ORDER BY code")
                    .fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(Territory {
                            code: r.try_get(0)?, name_ru: r.try_get(1)?, name_en: r.try_get(2)?,
                            kind: r.try_get(3)?, parent: r.try_get(4)?, population: r.try_get(5)?,
                        })
                    })
                    .collect()
            }

            async fn put_territory_shapes(&self, shapes: &[(Territory, crate::StoredShape)]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for (t, shape) in shapes {
                    write_territory(&mut *tx, t).await?;
                    sqlx::query(
                        "INSERT INTO territory_shapes (territory_code, geometry, area_km2) VALUES ($1, $2, $3) \
                         ON CONFLICT (territory_code) DO UPDATE SET geometry = excluded.geometry, area_km2 = excluded.area_km2",
                    )
                    .bind(&shape.territory_code).bind(&shape.geometry).bind(shape.area_km2)
                    .execute(&mut *tx).await.map_err(classify)?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn territory_shapes(&self) -> Result<Vec<crate::StoredShape>> {
                let rows = sqlx::query("SELECT territory_code, geometry, area_km2 FROM territory_shapes ORDER BY territory_code")
                    .fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| Ok(crate::StoredShape { territory_code: r.try_get(0)?, geometry: r.try_get(1)?, area_km2: r.try_get(2)? }))
                    .collect()
            }

            async fn locations(&self, after_id: i64, limit: u32) -> Result<Vec<crate::Located>> {
                let rows = sqlx::query(
                    "SELECT id, lat, lon, territory_code, location_flag, h3_cell FROM requests \
                     WHERE id > $1 AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY id LIMIT $2",
                )
                .bind(after_id).bind(i64::from(limit)).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        let (lat, lon): (f64, f64) = (r.try_get("lat")?, r.try_get("lon")?);
                        Ok(crate::Located {
                            request_id: r.try_get("id")?,
                            coordinates: Coordinates::new(lat, lon).ok_or_else(|| StoreError::Corrupt(format!("coordinates {lat},{lon}")))?,
                            territory: r.try_get("territory_code")?,
                            location: okno_core::Location { flag: r.try_get("location_flag")?, cell: r.try_get("h3_cell")? },
                        })
                    })
                    .collect()
            }

            async fn set_placements(&self, updates: &[crate::PlacementUpdate]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let mut deltas = RollupDeltas::default();
                let mut before: std::collections::HashMap<i64, Request> = std::collections::HashMap::with_capacity(updates.len());
                for chunk in updates.chunks(500) {
                    let ids = chunk.iter().map(|u| u.request_id.to_string()).collect::<Vec<_>>().join(", ");
                    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id IN ({ids})");
                    for row in sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *tx).await? {
                        let request = request_from_row(&row)?;
                        before.insert(request.id, request);
                    }
                }
                for u in updates {
                    let Some(mut request) = before.remove(&u.request_id) else { continue };
                    deltas.count(&request, -1);
                    request.territory.clone_from(&u.territory);
                    request.location = u.location.clone();
                    deltas.count(&request, 1);
                    sqlx::query("UPDATE requests SET territory_code = $1, location_flag = $2, h3_cell = $3 WHERE id = $4")
                        .bind(&u.territory).bind(&u.location.flag).bind(u.location.cell).bind(u.request_id)
                        .execute(&mut *tx).await.map_err(classify)?;
                }
                self.commit_counted(tx, &deltas).await?;
                Ok(())
            }

            fn watch_rollups(&self, listener: crate::RollupListener) {
                self.listeners.add(listener);
            }

            async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<RollupRow>> {
                type Stored = (i64, i64, i64, i64, i64, i64, i64, i64, i64);
                let sql = format!("SELECT {}, n FROM rollups WHERE hour >= $1 AND hour < $2", query::ROLLUP_KEY_COLUMNS.join(", "));
                let rows: Vec<Stored> = sqlx::query_as(AssertSqlSafe(sql)).bind(from_hour).bind(to_hour).fetch_all(&self.reader).await?;
                if !self.dims.knows_all(rows.iter().flat_map(|r| [r.2, r.3, r.4, r.5, r.6])) {
                    self.read_rollup_dims().await?;
                }
                self.dims.with_values(|values| {
                    let text = |id: i64| values.get(id).map(str::to_owned).ok_or_else(|| StoreError::Corrupt(format!("rollup_dims has no id {id}")));
                    rows.into_iter()
                        .map(|(hour, cell, territory, service, category, agency, channel, closed_hour, n)| Ok(RollupRow {
                            key: RollupKey {
                                hour, cell, territory: text(territory)?, service: text(service)?, category: text(category)?,
                                agency: text(agency)?, channel: text(channel)?, closed_hour,
                            },
                            n,
                        }))
                        .collect()
                })
            }

            async fn rollup_hours(&self) -> Result<Option<(i64, i64)>> {
                // Two subqueries: each is one step down the key's index, where SQLite answers
                // `min(hour), max(hour)` together by reading every row (3.8 s at ten million).
                let (first, last): (Option<i64>, Option<i64>) =
                    sqlx::query_as("SELECT (SELECT min(hour) FROM rollups), (SELECT max(hour) FROM rollups)").fetch_one(&self.reader).await?;
                Ok(first.zip(last))
            }

            async fn rebuild_rollups(&self, dry_run: bool) -> Result<crate::RollupRebuild> {
                let fresh = query::rollups_from_requests(hour_sql);
                let columns = [&query::ROLLUP_KEY_COLUMNS[..], &["n"]].concat().join(", ");
                let mut tx = self.writer.begin().await?;
                sqlx::query(AssertSqlSafe(query::ADD_ROLLUP_DIMS_OF_REQUESTS.as_str())).execute(&mut *tx).await?;
                let differing: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                    "WITH fresh AS ({fresh}) SELECT \
                     (SELECT count(*) FROM (SELECT {columns} FROM rollups EXCEPT SELECT {columns} FROM fresh) kept_only) + \
                     (SELECT count(*) FROM (SELECT {columns} FROM fresh EXCEPT SELECT {columns} FROM rollups) fresh_only)"
                ))).fetch_one(&mut *tx).await?;
                let replaced = !dry_run && differing > 0;
                if replaced {
                    sqlx::query("DELETE FROM rollups").execute(&mut *tx).await?;
                    sqlx::query(AssertSqlSafe(format!("INSERT INTO rollups ({columns}) {fresh}"))).execute(&mut *tx).await?;
                }
                let (rows, requests): (i64, Option<i64>) =
                    sqlx::query_as("SELECT count(*), CAST(sum(n) AS BIGINT) FROM rollups").fetch_one(&mut *tx).await?;
                // A check changes nothing, not even the dictionary the recount added to.
                if dry_run { tx.rollback().await? } else { tx.commit().await? }
                let count = |n: i64| u64::try_from(n).unwrap_or_default();
                Ok(crate::RollupRebuild { differing: count(differing), rows: count(rows), requests: count(requests.unwrap_or(0)), replaced })
            }

            async fn location_issues(&self, flag: Option<&str>, after_id: i64, limit: u32) -> Result<Vec<Request>> {
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE location_flag IS NOT NULL \
                     AND ($1 IS NULL OR location_flag = $1) AND id > $2 ORDER BY id LIMIT $3"
                )))
                .bind(flag).bind(after_id).bind(i64::from(limit)).fetch_all(&self.reader).await?;
                rows.iter().map(request_from_row).collect()
            }

            async fn upsert_service(&self, s: &Service) -> Result<()> {
                let keywords = serde_json::to_string(&s.keywords).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let attributes = serde_json::to_string(&s.attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO services (code, name_ru, name_en, description_ru, description_en, group_name, keywords, \
                     attributes, default_agency, deadline_regime, electronic, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (code) DO UPDATE SET \
                     name_ru = excluded.name_ru, name_en = excluded.name_en, description_ru = excluded.description_ru, \
                     description_en = excluded.description_en, group_name = excluded.group_name, keywords = excluded.keywords, \
                     attributes = excluded.attributes, default_agency = excluded.default_agency, \
                     deadline_regime = excluded.deadline_regime, electronic = excluded.electronic, active = excluded.active",
                )
                .bind(&s.code).bind(&s.name_ru).bind(&s.name_en).bind(&s.description_ru).bind(&s.description_en)
                .bind(&s.group).bind(keywords).bind(attributes).bind(&s.default_agency).bind(&s.deadline_regime)
                .bind(s.electronic).bind(s.active)
                .execute(&self.writer).await.map_err(classify)?;
                Ok(())
            }

            async fn services(&self) -> Result<Vec<Service>> {
                let rows = sqlx::query("SELECT * FROM services ORDER BY group_name, code").fetch_all(&self.reader).await?;
                rows.iter().map(service_from_row).collect()
            }

            async fn service(&self, code: &str) -> Result<Option<Service>> {
                let row = sqlx::query("SELECT * FROM services WHERE code = $1").bind(code).fetch_optional(&self.reader).await?;
                row.as_ref().map(service_from_row).transpose()
            }

            async fn create_triaged_request(&self, r: &NewRequest, token: &str, due: Due, prediction: Option<&Prediction>) -> Result<Created> {
                let item = ImportedRequest {
                    request: r.clone(), token: token.to_owned(),
                    status: if r.agency.is_some() { Status::Routed } else { Status::Registered },
                    updated_at: r.created_at, closed_at: None, due_at: due.answer, last_answer: None, rating: None,
                    first_reaction_due_at: due.first_reaction, first_reaction_at: None, first_answer_at: None,
                    routing_due_at: due.routing, events: intake_events(r, due),
                };
                let mut tx = self.writer.begin().await?;
                let Some(id) = insert_request(&mut tx, &item).await? else {
                    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE source_system = $1 AND source_id = $2");
                    let row = sqlx::query(AssertSqlSafe(sql)).bind(&r.source_system).bind(&r.source_id)
                        .fetch_one(&mut *tx).await?;
                    return Ok(Created { request: request_from_row(&row)?, created: false });
                };
                insert_contact(&mut tx, id, &r.contact).await?;
                for event in &item.events {
                    insert_event(&mut tx, id, event).await?;
                }
                if let Some(p) = prediction {
                    sqlx::query(
                        "INSERT INTO predictions (request_id, at, services, agencies, service_by, agency_by, rule_id, models, needs_triage) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(id).bind(to_db(r.created_at)).bind(to_json(&p.services)).bind(to_json(&p.agencies))
                    .bind(p.service_by.as_str()).bind(p.agency_by.as_str()).bind(p.rule_id).bind(to_json(&p.models)).bind(p.needs_triage)
                    .execute(&mut *tx).await.map_err(classify)?;
                }
                let request = request_in(&mut *tx, id).await?.ok_or_else(|| StoreError::Corrupt("inserted request vanished".into()))?;
                let mut deltas = RollupDeltas::default();
                deltas.count(&request, 1);
                self.commit_counted(tx, &deltas).await?;
                Ok(Created { request, created: true })
            }

            async fn request(&self, id: i64) -> Result<Option<Request>> {
                request_in(&self.reader, id).await
            }

            async fn request_by_token(&self, token: &str) -> Result<Option<Request>> {
                let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE token = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(token).fetch_optional(&self.reader).await?;
                row.as_ref().map(request_from_row).transpose()
            }

            async fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<Request>> {
                let (sql, binds) = query::list_requests(filter);
                let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds).fetch_all(&self.reader).await?;
                rows.iter().map(request_from_row).collect()
            }

            async fn events(&self, request_id: i64) -> Result<Vec<Event>> {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE request_id = $1 ORDER BY at, id");
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(request_id).fetch_all(&self.reader).await?;
                rows.iter().map(event_from_row).collect()
            }

            async fn apply(&self, request_id: i64, plan: &Planner<'_>) -> Result<Option<Request>> {
                let mut tx = self.writer.begin().await?;
                let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1{}", $lock);
                let Some(row) = sqlx::query(AssertSqlSafe(sql)).bind(request_id).fetch_optional(&mut *tx).await? else {
                    return Ok(None);
                };
                let before = request_from_row(&row)?;
                let update = plan(&before)?;
                sqlx::query(
                    "UPDATE requests SET status = $1, agency_code = $2, due_at = $3, closed_at = $4, rating = $5, \
                     last_answer = $6, updated_at = $7, first_reaction_at = $8, first_answer_at = $9, extensions = $10, \
                     escalation_level = $11, paused_at = $12, service_code = $14, duplicate_of = $15, reopenings = reopenings + $16 \
                     WHERE id = $13",
                )
                .bind(update.status.as_str()).bind(&update.agency).bind(opt_time(update.due_at))
                .bind(opt_time(update.closed_at)).bind(update.rating).bind(&update.last_answer)
                .bind(to_db(update.event.at)).bind(opt_time(update.first_reaction_at)).bind(opt_time(update.first_answer_at))
                .bind(update.extensions).bind(update.escalation_level).bind(opt_time(update.paused_at)).bind(request_id)
                .bind(&update.service_code).bind(update.duplicate_of)
                .bind(i64::from(update.event.kind == okno_core::EventKind::Reopened))
                .execute(&mut *tx).await.map_err(classify)?;
                insert_event(&mut tx, request_id, &update.event).await?;
                if matches!(update.event.kind, okno_core::EventKind::Routed | okno_core::EventKind::Reclassified) {
                    sqlx::query("UPDATE predictions SET corrected_at = $1, corrected_by = $2 WHERE request_id = $3")
                        .bind(to_db(update.event.at)).bind(&update.event.actor).bind(request_id)
                        .execute(&mut *tx).await?;
                }
                let request = request_in(&mut *tx, request_id).await?.ok_or_else(|| StoreError::Corrupt("changed request vanished".into()))?;
                let mut deltas = RollupDeltas::default();
                deltas.change(&before, &request);
                self.commit_counted(tx, &deltas).await?;
                Ok(Some(request))
            }

            async fn duplicate_count(&self, id: i64) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE duplicate_of = $1").bind(id).fetch_one(&self.reader).await?)
            }

            async fn prediction(&self, request_id: i64) -> Result<Option<PredictionRecord>> {
                let sql = format!("SELECT {PREDICTION_COLUMNS} FROM predictions p WHERE p.request_id = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(request_id).fetch_optional(&self.reader).await?;
                Ok(row.as_ref().map(prediction_from_row).transpose()?.flatten())
            }

            async fn triage_queue(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, PredictionRecord)>> {
                let sql = with_predictions("JOIN", &format!(
                    "p.needs_triage AND p.corrected_at IS NULL AND r.status IN ({AWAITING_STATUSES}) AND r.id > $1 ORDER BY r.id LIMIT $2"));
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(after_id).bind(i64::from(limit)).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|row| {
                        let p = prediction_from_row(row)?.ok_or_else(|| StoreError::Corrupt("triage row without a prediction".into()))?;
                        Ok((request_from_row(row)?, p))
                    })
                    .collect()
            }

            async fn requests_with_predictions(&self, after_id: i64, limit: u32) -> Result<Vec<(Request, Option<PredictionRecord>)>> {
                let sql = with_predictions("LEFT JOIN", "r.id > $1 ORDER BY r.id LIMIT $2");
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(after_id).bind(i64::from(limit)).fetch_all(&self.reader).await?;
                rows.iter().map(|row| Ok((request_from_row(row)?, prediction_from_row(row)?))).collect()
            }

            async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
                let rows = sqlx::query("SELECT * FROM routing_rules ORDER BY id").fetch_all(&self.reader).await?;
                rows.iter().map(rule_from_row).collect()
            }

            async fn add_routing_rule(&self, rule: &RuleDraft, by: &str, now: DateTime<Utc>) -> Result<RoutingRule> {
                let row = sqlx::query(
                    "INSERT INTO routing_rules (keywords, service_code, agency_code, territory_code, priority, active, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7) RETURNING *",
                )
                .bind(to_json(&rule.keywords)).bind(&rule.service).bind(&rule.agency).bind(&rule.territory).bind(rule.priority)
                .bind(by).bind(to_db(now))
                .fetch_one(&self.writer).await.map_err(classify)?;
                rule_from_row(&row)
            }

            async fn set_routing_rule_active(&self, id: i64, active: bool) -> Result<bool> {
                let done = sqlx::query("UPDATE routing_rules SET active = $1 WHERE id = $2").bind(active).bind(id).execute(&self.writer).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn count_requests_by(&self, by: CountBy) -> Result<Vec<(Option<String>, i64)>> {
                let column = match by {
                    CountBy::Category => "category",
                    CountBy::Agency => "agency_code",
                    CountBy::Status => "status",
                    CountBy::Service => "service_code",
                    CountBy::Channel => "channel",
                };
                let sql = format!("SELECT {column}, COUNT(*) FROM requests GROUP BY {column} ORDER BY COUNT(*) DESC, {column}");
                let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
            }

            async fn score_groups(&self, from: DateTime<Utc>, to: DateTime<Utc>, by: ScoreBy, now: DateTime<Utc>) -> Result<Vec<ScoreGroup>> {
                let key = match by {
                    ScoreBy::Agency => "agency_code",
                    ScoreBy::Territory => "territory_code",
                };
                let mut tx = self.reader.begin().await?;
                if let Some(snapshot) = READ_SNAPSHOT {
                    sqlx::query(snapshot).execute(&mut *tx).await?;
                }
                let counts = format!(
                    "SELECT {key}, COUNT(*), \
                     SUM(CASE WHEN status IN ({FINAL_STATUSES}) THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN due_at IS NOT NULL AND first_answer_at <= due_at THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN due_at IS NOT NULL AND (first_answer_at IS NOT NULL OR due_at < $3) THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN status IN ({AWAITING_STATUSES}) AND due_at < $3 THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN reopenings > 0 THEN 1 ELSE 0 END), \
                     COUNT(rating), COALESCE(SUM(rating), 0) \
                     FROM requests WHERE created_at >= $1 AND created_at < $2 GROUP BY {key}"
                );
                let rows = sqlx::query(AssertSqlSafe(counts)).bind(to_db(from)).bind(to_db(to)).bind(to_db(now)).fetch_all(&mut *tx).await?;
                let count = |r: &DbRow, i: usize| -> Result<u64> { Ok(u64::try_from(r.try_get::<i64, _>(i)?).unwrap_or(0)) };
                let mut groups = rows
                    .iter()
                    .map(|r| Ok(ScoreGroup {
                        key: r.try_get(0)?,
                        counts: ScoreCounts {
                            received: count(r, 1)?, closed: count(r, 2)?, on_time: count(r, 3)?, judged: count(r, 4)?,
                            overdue_now: count(r, 5)?, reopened: count(r, 6)?, rated: count(r, 7)?, rating_sum: count(r, 8)?,
                        },
                        times: Vec::new(),
                    }))
                    .collect::<Result<Vec<_>>>()?;
                // The times of the answered or finished requests come packed, one text per group:
                // the driver copies every value it reads, and row by row a year of a large region
                // (millions of rows) took several times longer than the database's own work.
                let times = format!(
                    "SELECT {key}, {} FROM requests \
                     WHERE created_at >= $1 AND created_at < $2 AND (first_answer_at IS NOT NULL OR closed_at IS NOT NULL) GROUP BY {key}",
                    packed_times_sql()
                );
                let packed = sqlx::query(AssertSqlSafe(times)).bind(to_db(from)).bind(to_db(to)).fetch_all(&mut *tx).await?;
                for r in &packed {
                    let key: Option<String> = r.try_get(0)?;
                    if let Some(group) = groups.iter_mut().find(|g| g.key == key) {
                        group.times = query::unpack_times(r.try_get(1)?)?;
                    }
                }
                tx.commit().await?;
                Ok(groups)
            }

            async fn queue_counts(&self, now: DateTime<Utc>, today_end: DateTime<Utc>, soon_end: DateTime<Utc>) -> Result<Vec<QueueCounts>> {
                let sql = format!(
                    "SELECT agency_code, \
                     SUM(CASE WHEN due_at < $1 AND paused_at IS NULL THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN due_at >= $1 AND due_at < $2 AND paused_at IS NULL THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN due_at >= $1 AND due_at < $3 AND paused_at IS NULL THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN first_reaction_at IS NULL AND first_reaction_due_at < $1 THEN 1 ELSE 0 END), \
                     SUM(CASE WHEN agency_code IS NULL AND routing_due_at < $1 THEN 1 ELSE 0 END) \
                     FROM requests WHERE status IN ({}) GROUP BY agency_code ORDER BY agency_code",
                    query::AWAITING_STATUSES
                );
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(to_db(now)).bind(to_db(today_end)).bind(to_db(soon_end))
                    .fetch_all(&self.reader).await?;
                let count = |r: &DbRow, i: usize| -> Result<i64> { Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0)) };
                rows.iter()
                    .map(|r| Ok(QueueCounts {
                        agency: r.try_get(0)?, overdue: count(r, 1)?, due_today: count(r, 2)?, due_soon: count(r, 3)?,
                        no_first_reaction: count(r, 4)?,
                        unrouted: count(r, 5)?,
                    }))
                    .collect()
            }

            async fn escalate(&self, request_id: i64, level: i16, event: &NewEvent, notifications: &[Notification]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let raised = sqlx::query("UPDATE requests SET escalation_level = $1 WHERE id = $2 AND escalation_level < $1")
                    .bind(level).bind(request_id).execute(&mut *tx).await?;
                if raised.rows_affected() == 0 {
                    return Ok(false);
                }
                insert_event(&mut tx, request_id, event).await?;
                for n in notifications {
                    sqlx::query("INSERT INTO outbox (created_at, channel, recipient, subject, body, request_id) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(to_db(event.at)).bind(&n.channel).bind(&n.recipient).bind(&n.subject).bind(&n.body).bind(request_id)
                        .execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn pending_notifications(&self, channel: Option<&str>, now: DateTime<Utc>, max_attempts: u32, limit: u32) -> Result<Vec<Pending>> {
                let rows = sqlx::query(
                    "SELECT id, channel, recipient, subject, body, attempts FROM outbox WHERE sent_at IS NULL \
                     AND ($1 IS NULL OR channel = $1) AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
                     AND attempts < $3 ORDER BY id LIMIT $4",
                )
                .bind(channel).bind(to_db(now)).bind(i64::from(max_attempts)).bind(i64::from(limit))
                .fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| Ok(Pending {
                        id: r.try_get(0)?,
                        notification: Notification { channel: r.try_get(1)?, recipient: r.try_get(2)?, subject: r.try_get(3)?, body: r.try_get(4)? },
                        attempts: u32::try_from(r.try_get::<i32, _>(5)?).unwrap_or(0),
                    }))
                    .collect()
            }

            async fn notification_sent(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2 AND sent_at IS NULL")
                    .bind(to_db(now)).bind(id).execute(&self.writer).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn notification_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3")
                    .bind(error).bind(to_db(retry_at)).bind(id).execute(&self.writer).await?;
                Ok(())
            }

            async fn timelines(&self, after_id: i64, limit: u32) -> Result<Vec<Timeline>> {
                let rows = sqlx::query(
                    "SELECT id, service_code, channel, source_system, status, due_at, paused_at FROM requests \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after_id).bind(i64::from(limit)).fetch_all(&self.reader).await?;
                let mut timelines = rows.iter()
                    .map(|r| Ok(Timeline {
                        request_id: r.try_get("id")?, service_code: r.try_get("service_code")?,
                        channel: parse_stored("channel", r.try_get("channel")?)?, source_system: r.try_get("source_system")?,
                        status: parse_stored("status", r.try_get("status")?)?, due_at: get_opt_time(r, "due_at")?,
                        paused_at: get_opt_time(r, "paused_at")?, events: Vec::new(),
                    }))
                    .collect::<Result<Vec<_>>>()?;
                let (Some(first), Some(last)) = (timelines.first(), timelines.last()) else { return Ok(timelines) };
                let events = sqlx::query(
                    "SELECT request_id, at, kind, status, agency_code, new_due_at FROM events \
                     WHERE request_id >= $1 AND request_id <= $2 ORDER BY request_id, at, id",
                )
                .bind(first.request_id).bind(last.request_id).fetch_all(&self.reader).await?;
                let mut index = 0;
                for e in &events {
                    let request_id: i64 = e.try_get("request_id")?;
                    while timelines[index].request_id < request_id {
                        index += 1;
                    }
                    let status: Option<String> = e.try_get("status")?;
                    timelines[index].events.push(TimelineEvent {
                        at: get_time(e, "at")?, kind: parse_stored("kind", e.try_get("kind")?)?,
                        status: status.as_deref().map(|s| parse_stored("status", s)).transpose()?,
                        agency: e.try_get("agency_code")?, new_due_at: get_opt_time(e, "new_due_at")?,
                    });
                }
                Ok(timelines)
            }

            async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for u in updates {
                    sqlx::query("UPDATE requests SET due_at = $1, paused_at = $2, escalation_level = 0 WHERE id = $3")
                        .bind(opt_time(u.due_at)).bind(opt_time(u.paused_at)).bind(u.request_id)
                        .execute(&mut *tx).await?;
                    insert_event(&mut tx, u.request_id, &u.event).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn totals(&self) -> Result<(i64, i64)> {
                let row = sqlx::query("SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM events)")
                    .fetch_one(&self.reader).await?;
                Ok((row.try_get(0)?, row.try_get(1)?))
            }

            async fn read_contact(&self, request_id: i64, reader: &Principal, now: DateTime<Utc>) -> Result<Option<Contact>> {
                let mut tx = self.writer.begin().await?;
                let row = sqlx::query("SELECT name, phone, email FROM contacts WHERE request_id = $1")
                    .bind(request_id).fetch_optional(&mut *tx).await?;
                sqlx::query("INSERT INTO audit_log (at, user_login, action, request_id, detail) VALUES ($1, $2, 'contact.read', $3, $4)")
                    .bind(to_db(now)).bind(&reader.login).bind(request_id).bind(reader.role.as_str())
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                row.map(|r| Ok(Contact { name: r.try_get(0)?, phone: r.try_get(1)?, email: r.try_get(2)? })).transpose()
            }

            async fn audit(&self, user_login: &str, action: &str, request_id: Option<i64>, detail: Option<&str>, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("INSERT INTO audit_log (at, user_login, action, request_id, detail) VALUES ($1, $2, $3, $4, $5)")
                    .bind(to_db(now)).bind(user_login).bind(action).bind(request_id).bind(detail)
                    .execute(&self.writer).await?;
                Ok(())
            }

            async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
                let rows = sqlx::query("SELECT id, at, user_login, action, request_id, detail FROM audit_log ORDER BY id DESC LIMIT $1")
                    .bind(i64::from(limit)).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            id: r.try_get("id")?, at: get_time(r, "at")?, user_login: r.try_get("user_login")?,
                            action: r.try_get("action")?, request_id: r.try_get("request_id")?, detail: r.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn create_user(&self, u: &NewUser, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO users (login, password_hash, role, agency_code, active, created_at) \
                     VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id",
                )
                .bind(&u.login).bind(&u.password_hash).bind(u.role.as_str()).bind(&u.agency).bind(to_db(now))
                .fetch_one(&self.writer).await.map_err(classify)?;
                Ok(id)
            }

            async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
                let row = sqlx::query("SELECT id, login, role, agency_code, password_hash, active FROM users WHERE login = $1")
                    .bind(login).fetch_optional(&self.reader).await?;
                row.map(|r| Ok(UserRecord { principal: principal_from_row(&r)?, password_hash: r.try_get("password_hash")?, active: r.try_get("active")? }))
                    .transpose()
            }

            async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: DateTime<Utc>) -> Result<()> {
                sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_hash).bind(user_id).bind(to_db(expires_at))
                    .execute(&self.writer).await.map_err(classify)?;
                Ok(())
            }

            async fn session_principal(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
                let row = sqlx::query(
                    "SELECT u.id, u.login, u.role, u.agency_code FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active",
                )
                .bind(token_hash).bind(to_db(now)).fetch_optional(&self.reader).await?;
                row.as_ref().map(principal_from_row).transpose()
            }

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await?;
                Ok(())
            }

            async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(token_hash).bind(user_id).bind(name).bind(to_db(now))
                .fetch_one(&self.writer).await.map_err(classify)?;
                Ok(id)
            }

            async fn token_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
                let row = sqlx::query(
                    "SELECT u.id, u.login, u.role, u.agency_code FROM api_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
                )
                .bind(token_hash).fetch_optional(&self.reader).await?;
                row.as_ref().map(principal_from_row).transpose()
            }

            async fn create_api_key(&self, client: &str, key_hash: &str, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar("INSERT INTO api_keys (client, key_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(client).bind(key_hash).bind(to_db(now))
                    .fetch_one(&self.writer).await.map_err(classify)?;
                Ok(id)
            }

            async fn api_key_client(&self, key_hash: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT client FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
                    .bind(key_hash).fetch_optional(&self.reader).await?)
            }

            async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
                let rows = sqlx::query("SELECT id, client, created_at, revoked_at FROM api_keys ORDER BY id DESC")
                    .fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| Ok(ApiKeyInfo {
                        id: r.try_get("id")?, client: r.try_get("client")?,
                        created_at: get_time(r, "created_at")?, revoked_at: get_opt_time(r, "revoked_at")?,
                    }))
                    .collect()
            }

            async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(to_db(now)).bind(id).execute(&self.writer).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn store_media(&self, token: &str, media: &Media, now: DateTime<Utc>) -> Result<()> {
                sqlx::query("INSERT INTO media (token, content_type, bytes, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(token).bind(&media.content_type).bind(&media.bytes).bind(to_db(now))
                    .execute(&self.writer).await.map_err(classify)?;
                Ok(())
            }

            async fn media(&self, token: &str) -> Result<Option<Media>> {
                let row = sqlx::query("SELECT content_type, bytes FROM media WHERE token = $1").bind(token)
                    .fetch_optional(&self.reader).await?;
                row.map(|r| Ok(Media { content_type: r.try_get(0)?, bytes: r.try_get(1)? })).transpose()
            }

            async fn record_alerts(&self, drafts: &[AlertDraft], now: DateTime<Utc>) -> Result<Vec<Alert>> {
                let mut tx = self.writer.begin().await?;
                let mut stored = Vec::with_capacity(drafts.len());
                for d in drafts {
                    let row = sqlx::query(
                        "INSERT INTO alerts (period, category, territory_code, first_day, last_day, observed, expected, score, \
                         detected_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                         ON CONFLICT (period, category, territory_code, first_day) DO UPDATE SET last_day = excluded.last_day, \
                         observed = excluded.observed, expected = excluded.expected, score = excluded.score, \
                         updated_at = excluded.updated_at RETURNING *",
                    )
                    .bind(d.period.as_str()).bind(&d.category).bind(d.territory.as_deref().unwrap_or("")).bind(d.first_day)
                    .bind(d.last_day).bind(d.observed).bind(d.expected).bind(d.score).bind(to_db(now))
                    .fetch_one(&mut *tx).await.map_err(classify)?;
                    stored.push(alert_from_row(&row)?);
                }
                tx.commit().await?;
                Ok(stored)
            }

            async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
                let (sql, binds) = query::list_alerts(filter);
                let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds).fetch_all(&self.reader).await?;
                rows.iter().map(alert_from_row).collect()
            }

            async fn alert(&self, id: i64) -> Result<Option<Alert>> {
                let row = sqlx::query("SELECT * FROM alerts WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(alert_from_row).transpose()
            }

            async fn set_alert_state(&self, id: i64, state: AlertState, by: &str, note: Option<&str>, now: DateTime<Utc>) -> Result<Option<Alert>> {
                let row = sqlx::query(
                    "UPDATE alerts SET state = $1, handled_by = $2, note = COALESCE($3, note), updated_at = $4 WHERE id = $5 RETURNING *",
                )
                .bind(state.as_str()).bind(by).bind(note).bind(to_db(now)).bind(id)
                .fetch_optional(&self.writer).await.map_err(classify)?;
                row.as_ref().map(alert_from_row).transpose()
            }

            async fn problem_links(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, okno_core::problem::Link>> {
                let mut links = std::collections::HashMap::new();
                for chunk in ids.chunks(500) {
                    let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT m.request_id, m.problem_id, p.state FROM problem_members m JOIN problems p ON p.id = m.problem_id \
                         WHERE m.request_id IN ({})",
                        placeholders.join(", ")
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(id);
                    }
                    for row in q.fetch_all(&self.reader).await? {
                        let state: String = row.try_get("state")?;
                        links.insert(row.try_get("request_id")?, (row.try_get("problem_id")?, parse_stored("state", &state)?));
                    }
                }
                Ok(links)
            }

            async fn record_problems(&self, changes: &[ProblemChange], now: DateTime<Utc>) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for change in changes {
                    let (id, draft) = match change {
                        ProblemChange::Create(d) => {
                            let f = &d.summary;
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO problems (topic, territory_code, agency_code, lat, lon, radius_m, sample_text, first_at, last_at, \
                                 members, detected_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) RETURNING id",
                            )
                            .bind(&f.topic).bind(&f.territory).bind(&f.agency).bind(f.centre.lat).bind(f.centre.lon).bind(f.radius_m)
                            .bind(&f.sample_text).bind(to_db(f.first_at)).bind(to_db(f.last_at)).bind(to_db(now))
                            .fetch_one(&mut *tx).await.map_err(classify)?;
                            (id, d)
                        }
                        ProblemChange::Extend { problem, draft } => {
                            let f = &draft.summary;
                            sqlx::query("UPDATE problems SET lat = $1, lon = $2, radius_m = $3, sample_text = $4 WHERE id = $5")
                                .bind(f.centre.lat).bind(f.centre.lon).bind(f.radius_m).bind(&f.sample_text).bind(problem)
                                .execute(&mut *tx).await.map_err(classify)?;
                            (*problem, draft)
                        }
                    };
                    add_problem_members(&mut tx, id, &draft.members, "scan", now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>> {
                let (sql, binds) = query::list_problems(filter);
                let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), binds).fetch_all(&self.reader).await?;
                rows.iter().map(problem_from_row).collect()
            }

            async fn problem(&self, id: i64) -> Result<Option<Problem>> {
                let row = sqlx::query("SELECT * FROM problems WHERE id = $1").bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(problem_from_row).transpose()
            }

            async fn update_problem(&self, id: i64, change: &ProblemUpdate, by: &str, now: DateTime<Utc>) -> Result<Option<Problem>> {
                let row = sqlx::query(
                    "UPDATE problems SET state = $1, title = COALESCE($2, title), owner_agency = COALESCE($3, owner_agency), \
                     note = COALESCE($4, note), handled_by = $5, updated_at = $6 WHERE id = $7 RETURNING *",
                )
                .bind(change.state.as_str()).bind(&change.title).bind(&change.owner).bind(&change.note).bind(by).bind(to_db(now)).bind(id)
                .fetch_optional(&self.writer).await.map_err(classify)?;
                row.as_ref().map(problem_from_row).transpose()
            }

            async fn attach_to_problem(&self, problem: i64, request_id: i64, now: DateTime<Utc>) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let sql = format!("SELECT state FROM problems WHERE id = $1{}", $lock);
                let state: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql)).bind(problem).fetch_optional(&mut *tx).await?;
                let open = match state {
                    Some(s) => parse_stored::<okno_core::problem::ProblemState>("state", &s)?.is_open(),
                    None => false,
                };
                let added = open && add_problem_members(&mut tx, problem, &[request_id], "intake", now).await? == 1;
                tx.commit().await?;
                Ok(added)
            }

            async fn import_batch(&self, batch: &[ImportedRequest]) -> Result<ImportCounts> {
                let mut tx = self.writer.begin().await?;
                let fresh = new_items(&mut tx, batch).await?;
                let ids = reserve_request_ids(&mut tx, fresh.len()).await?;
                let request_columns = [&["id"][..], &query::REQUEST_INSERT_COLUMNS[..]].concat();
                let requests: query::Rows = Box::new(fresh.iter().zip(&ids).map(|(item, &id)| {
                    let mut row = vec![Bind::Int(Some(id))];
                    row.extend(query::request_row(item));
                    row
                }));
                write_rows(&mut tx, "requests", &request_columns, requests).await?;
                let events: query::Rows = Box::new(fresh.iter().zip(&ids).flat_map(|(item, &id)| item.events.iter().map(move |e| query::event_row(id, e))));
                write_rows(&mut tx, "events", &EVENT_INSERT_COLUMNS, events).await?;
                let mut deltas = RollupDeltas::default();
                for (item, &id) in fresh.iter().zip(&ids) {
                    insert_contact(&mut tx, id, &item.request.contact).await?;
                    let r = &item.request;
                    deltas.add(RollupKey::new(Counted {
                        created_at: r.created_at, cell: r.location.cell, territory: r.territory.as_deref(), service: &r.service_code,
                        category: r.category.as_deref(), agency: r.agency.as_deref(), channel: r.channel, closed_at: item.closed_at,
                    }), 1);
                }
                self.commit_counted(tx, &deltas).await?;
                Ok(ImportCounts {
                    inserted: fresh.len() as u64,
                    existing: (batch.len() - fresh.len()) as u64,
                    events: fresh.iter().map(|i| i.events.len() as u64).sum(),
                })
            }
        }
    };
}

pub(crate) use impl_store;
