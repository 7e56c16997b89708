//! One conformance suite for every backend: each test runs on SQLite, and on PostgreSQL when
//! `OKNO_TEST_POSTGRES_URL` names a server (CI starts one; each test gets a fresh database).

use chrono::{DateTime, Duration, TimeZone, Utc};
use okno_core::deadline::Due;
use okno_core::workflow::{plan, ActionError, ActionInput, Actor};
use okno_core::{
    Action, Agency, Attribute, AttributeDatatype, Channel, Contact, Coordinates, EventKind, Location, NewEvent, NewRequest,
    Principal, RequestFilter, Role, Service, Status, Territory,
};
use okno_store::{CountBy, ImportedRequest, NewUser, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Fresh stores to run a test against: SQLite always, PostgreSQL when configured.
async fn stores() -> Vec<Arc<dyn Store>> {
    let mut stores = Vec::new();
    for url in okno_store::testing::fresh_database_urls().await {
        stores.push(okno_store::open(&url).await.expect("open store"));
    }
    stores
}

fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap() + Duration::microseconds(123_456)
}

async fn seed(store: &dyn Store) {
    for (code, ru, en) in [("roads", "Комитет по дорогам", "Roads committee"), ("water", "Водоканал", "Water utility")] {
        store.upsert_agency(&Agency { code: code.into(), name_ru: ru.into(), name_en: en.into(), parent: None }).await.unwrap();
    }
    store.upsert_territory(&Territory {
        code: "north".into(), name_ru: "Северный район".into(), name_en: "North district".into(),
        kind: "district".into(), parent: None, population: Some(120_000),
    }).await.unwrap();
    for (code, agency) in [("pothole", "roads"), ("leak", "water")] {
        store.upsert_service(&Service {
            code: code.into(), name_ru: format!("Услуга {code}"), name_en: format!("Service {code}"),
            description_ru: String::new(), description_en: String::new(), group: "city".into(),
            keywords: vec!["яма".into()], default_agency: Some(agency.into()), deadline_regime: "fz59".into(),
            electronic: true, active: true,
            attributes: vec![Attribute {
                code: "depth".into(), description_ru: "Глубина".into(), description_en: "Depth".into(),
                datatype: AttributeDatatype::Number, required: false, order: 1, variable: true, values: vec![],
            }],
        }).await.unwrap();
    }
}

fn new_request(service: &str, text: &str, at: DateTime<Utc>) -> NewRequest {
    let mut request = NewRequest::recorded(service, Channel::Web, None, text, at).unwrap();
    request.coordinates = Coordinates::new(59.95, 30.3);
    request.address = Some("Невский проспект, 1".into());
    request.territory = Some("north".into());
    request.attributes = BTreeMap::from([("depth".to_string(), vec!["10".to_string()])]);
    request.contact = Contact { name: Some("Иванов И.".into()), phone: Some("+7 900 000-00-00".into()), email: None };
    request
}

fn operator() -> Principal {
    Principal { user_id: okno_core::UserId(0), login: "op".into(), role: Role::Operator, agency: None }
}

async fn act(store: &dyn Store, id: okno_core::RequestId, action: Action, input: ActionInput, at: DateTime<Utc>) -> Result<okno_core::Request, StoreError> {
    let op = operator();
    let agencies = ["roads", "water"];
    let planner = move |r: &okno_core::Request| plan(r, action, &input, &Actor::User(&op), at, &|_, c| agencies.contains(&c), None);
    Ok(store.apply(id, &planner).await?.expect("request exists"))
}

#[tokio::test]
async fn catalog_round_trips() {
    for store in stores().await {
        seed(&*store).await;
        let services = store.services().await.unwrap();
        assert_eq!(services.len(), 2);
        let leak = store.service("leak").await.unwrap().unwrap();
        assert_eq!(leak.attributes[0].datatype, AttributeDatatype::Number);
        assert_eq!(leak.keywords, ["яма"]);
        assert_eq!(store.agencies().await.unwrap()[0].name_ru, "Комитет по дорогам");
        assert_eq!(store.territories().await.unwrap()[0].population, Some(120_000));
        assert!(store.service("nope").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn requests_are_stored_with_contact_and_history() {
    for store in stores().await {
        seed(&*store).await;
        let mut r = new_request("pothole", "Яма на дороге", t(1, 9));
        r.agency = Some("roads".into());
        let created = store.create_request(&r, "tok-1", Due { answer: Some(t(31, 9)), ..Due::default() }).await.unwrap();
        assert!(created.created);
        let req = created.request;
        assert_eq!(req.status, Status::Routed);
        assert_eq!(req.created_at, t(1, 9), "times keep microseconds on {:?}", store.backend());
        assert_eq!(req.due_at, Some(t(31, 9)));
        assert_eq!(req.attributes["depth"], ["10"]);
        assert_eq!(store.request_by_token("tok-1").await.unwrap().unwrap().id, req.id);
        let events = store.events(req.id).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Registered, EventKind::Routed]);
        assert!(store.request(okno_core::RequestId(req.id.0 + 1000)).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_repeated_source_id_returns_the_same_request() {
    for store in stores().await {
        seed(&*store).await;
        let mut r = new_request("pothole", "Яма", t(1, 9));
        r.source_system = Some("portal".into());
        r.source_id = Some("A-1".into());
        let first = store.create_request(&r, "tok-a", Due::default()).await.unwrap();
        let again = store.create_request(&r, "tok-b", Due::default()).await.unwrap();
        assert!(first.created && !again.created);
        assert_eq!(first.request.id, again.request.id);
        assert_eq!(store.totals().await.unwrap().0, 1);
    }
}

#[tokio::test]
async fn unknown_references_are_conflicts() {
    for store in stores().await {
        seed(&*store).await;
        let err = store.create_request(&new_request("no-such-service", "x", t(1, 9)), "tok", Due::default()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert_eq!(store.totals().await.unwrap(), (0, 0), "nothing half-written");
    }
}

#[tokio::test]
async fn lists_filter_search_and_paginate() {
    for store in stores().await {
        seed(&*store).await;
        for i in 0..25u32 {
            let (service, text) = if i % 5 == 0 { ("leak", "Течёт ВОДА из трубы") } else { ("pothole", "Яма") };
            let mut r = new_request(service, text, t(1 + i, 8));
            if i == 7 {
                r.coordinates = Coordinates::new(55.75, 37.6);
            }
            store.create_request(&r, &format!("tok-{i}"), Due::default()).await.unwrap();
        }
        let list = |f: RequestFilter| { let s = store.clone(); async move { s.list_requests(&RequestFilter { limit: 100, ..f }).await.unwrap() } };
        assert_eq!(list(RequestFilter::default()).await.len(), 25);
        assert_eq!(list(RequestFilter { services: vec!["leak".into()], ..Default::default() }).await.len(), 5);
        let found = list(RequestFilter { text: Some("течет вода".into()), ..Default::default() }).await;
        assert_eq!(found.len(), 5, "search folds case and ё");
        assert_eq!(list(RequestFilter { text: Some("невский".into()), ..Default::default() }).await.len(), 25, "address is searched");
        assert_eq!(list(RequestFilter { text: Some("%".into()), ..Default::default() }).await.len(), 0, "wildcards are literal");
        let moscow = "37,55,38,56".parse().unwrap();
        assert_eq!(list(RequestFilter { bbox: Some(moscow), ..Default::default() }).await.len(), 1);
        let window = list(RequestFilter { created_from: Some(t(3, 0)), created_to: Some(t(6, 0)), ..Default::default() }).await;
        assert_eq!(window.len(), 3);
        assert_eq!(list(RequestFilter { statuses: vec![Status::Registered], territory: Some("north".into()), channel: Some(Channel::Web), ..Default::default() }).await.len(), 25);
        assert_eq!(list(RequestFilter { agency: Some("roads".into()), ..Default::default() }).await.len(), 0);

        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.list_requests(&RequestFilter { limit: 10, before_id: cursor, ..Default::default() }).await.unwrap();
            if page.is_empty() { break; }
            cursor = page.last().map(|r| r.id);
            seen.extend(page.into_iter().map(|r| r.id.0));
        }
        assert_eq!(seen.len(), 25);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    }
}

#[tokio::test]
async fn actions_change_status_and_record_events() {
    for store in stores().await {
        seed(&*store).await;
        let id = store.create_request(&new_request("pothole", "Яма", t(1, 9)), "tok", Due { answer: Some(t(20, 9)), first_reaction: Some(t(2, 9)), routing: None }).await.unwrap().request.id;
        let route = ActionInput { agency: Some("roads".into()), text: Some("по компетенции".into()), ..Default::default() };
        assert_eq!(act(&*store, id, Action::Route, route, t(1, 10)).await.unwrap().agency.as_deref(), Some("roads"));
        act(&*store, id, Action::Start, ActionInput::default(), t(2, 10)).await.unwrap();
        let extend = ActionInput { due_at: Some(t(30, 9)), text: Some("нужна экспертиза".into()), ..Default::default() };
        assert_eq!(act(&*store, id, Action::ExtendDeadline, extend, t(3, 10)).await.unwrap().due_at, Some(t(30, 9)));
        let answer = ActionInput { text: Some("Яма заделана".into()), ..Default::default() };
        let answered = act(&*store, id, Action::Answer, answer, t(4, 10)).await.unwrap();
        assert_eq!((answered.status, answered.last_answer.as_deref()), (Status::Answered, Some("Яма заделана")));
        assert_eq!((answered.first_reaction_at, answered.first_answer_at), (Some(t(2, 10)), Some(t(4, 10))));
        assert_eq!((answered.extensions, answered.first_reaction_due_at), (1, Some(t(2, 9))));

        let refused = act(&*store, id, Action::Start, ActionInput::default(), t(5, 10)).await.unwrap_err();
        assert!(matches!(refused, StoreError::Refused(ActionError::Transition(_))));
        let bad_rating = act(&*store, id, Action::Rate, ActionInput { rating: Some(9), ..Default::default() }, t(5, 10)).await.unwrap_err();
        assert!(matches!(bad_rating, StoreError::Refused(ActionError::Invalid(_))));
        act(&*store, id, Action::Rate, ActionInput { rating: Some(5), ..Default::default() }, t(5, 11)).await.unwrap();
        let closed = act(&*store, id, Action::Close, ActionInput::default(), t(6, 10)).await.unwrap();
        assert_eq!((closed.status, closed.closed_at, closed.rating), (Status::Closed, Some(t(6, 10)), Some(5)));
        let reopened = act(&*store, id, Action::Reopen, ActionInput { text: Some("яма снова".into()), ..Default::default() }, t(7, 10)).await.unwrap();
        assert_eq!((reopened.status, reopened.closed_at), (Status::Reopened, None));

        let events = store.events(id).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Registered, EventKind::Routed, EventKind::Started, EventKind::DeadlineExtended,
            EventKind::Answered, EventKind::Rated, EventKind::Closed, EventKind::Reopened]);
        assert_eq!((events[3].old_due_at, events[3].new_due_at), (Some(t(20, 9)), Some(t(30, 9))));
        assert_eq!(events[1].actor, "op");
        assert_eq!(store.request(id).await.unwrap().unwrap().updated_at, t(7, 10));

        // What scorecards read: counted by the database, answered in time, reopened, rated 5.
        let groups = store.score_groups(t(1, 0), t(2, 0), okno_store::ScoreBy::Agency, t(8, 0)).await.unwrap();
        assert_eq!(groups.len(), 1);
        let (group, c) = (&groups[0], &groups[0].counts);
        assert_eq!(group.key.as_deref(), Some("roads"));
        assert_eq!((c.received, c.closed, c.on_time, c.judged, c.overdue_now, c.reopened, c.rated, c.rating_sum), (1, 0, 1, 1, 0, 1, 1, 5));
        let times = [okno_core::scorecard::ScoreTimes { created_at: t(1, 9), first_answer_at: Some(t(4, 10)), closed_at: None }];
        assert_eq!(group.times, times);
        let overdue = store.score_groups(t(1, 0), t(2, 0), okno_store::ScoreBy::Territory, t(31, 0)).await.unwrap();
        assert_eq!((overdue[0].key.as_deref(), overdue[0].counts.overdue_now), (Some("north"), 1), "reopened, awaiting its agency past the deadline");
    }
}

#[tokio::test]
async fn an_unrouted_request_waits_in_the_centers_queue_until_routed() {
    for store in stores().await {
        seed(&*store).await;
        let due = Due { answer: Some(t(20, 9)), first_reaction: None, routing: Some(t(8, 9)) };
        let id = store.create_request(&new_request("pothole", "Яма", t(1, 9)), "tok", due).await.unwrap().request.id;
        assert_eq!(store.request(id).await.unwrap().unwrap().routing_due_at, Some(t(8, 9)));
        let unrouted_at = |at: DateTime<Utc>| {
            let store = store.clone();
            async move {
                let counts = store.queue_counts(at, at, at).await.unwrap();
                let listed = store.list_requests(&RequestFilter { unrouted_by: Some(at), limit: 10, ..Default::default() }).await.unwrap();
                (counts.iter().map(|c| c.unrouted).sum::<i64>(), listed.len())
            }
        };
        assert_eq!(unrouted_at(t(8, 8)).await, (0, 0), "not yet due");
        assert_eq!(unrouted_at(t(8, 10)).await, (1, 1), "due and still without an agency");
        let route = ActionInput { agency: Some("roads".into()), ..Default::default() };
        act(&*store, id, Action::Route, route, t(9, 10)).await.unwrap();
        assert_eq!(unrouted_at(t(9, 11)).await, (0, 0), "routed, even late, leaves the queue");
    }
}

#[tokio::test]
async fn a_paused_deadline_leaves_the_queues_and_moves_on_resume() {
    let config = okno_core::deadline::DeadlineConfig::shipped();
    let rules = config.rules_for("pothole", "fz59");
    let op = operator();
    for store in stores().await {
        seed(&*store).await;
        let due = Due { answer: Some(t(5, 9)), ..Due::default() };
        let id = store.create_request(&new_request("pothole", "Яма", t(1, 9)), "tok", due).await.unwrap().request.id;
        let step = |action: Action, text: Option<&str>, at: DateTime<Utc>| {
            let input = ActionInput { agency: Some("roads".into()), text: text.map(str::to_owned), ..Default::default() };
            let store = store.clone();
            let op = op.clone();
            async move {
                let planner = move |r: &okno_core::Request| plan(r, action, &input, &Actor::User(&op), at, &|_, _| true, rules);
                store.apply(id, &planner).await
            }
        };
        step(Action::Route, None, t(1, 10)).await.unwrap();
        let paused = step(Action::PauseDeadline, Some("ждём ответа заявителя"), t(3, 10)).await.unwrap().unwrap();
        assert_eq!(paused.paused_at, Some(t(3, 10)));
        let overdue = |s: Arc<dyn Store>| async move { s.queue_counts(t(9, 0), t(9, 23), t(12, 0)).await.unwrap()[0].overdue };
        assert_eq!(overdue(store.clone()).await, 0, "a paused request is not overdue");
        let listed = store.list_requests(&RequestFilter { due_before: Some(t(9, 0)), limit: 10, ..Default::default() }).await.unwrap();
        assert!(listed.is_empty());
        assert!(step(Action::PauseDeadline, Some("ещё раз"), t(4, 8)).await.is_err(), "already paused");
        let resumed = step(Action::ResumeDeadline, None, t(4, 10)).await.unwrap().unwrap();
        // stopped 3 → 4 March 2025: one calendar day under 59-FZ, so 5 March becomes Thursday 6 March
        assert_eq!((resumed.paused_at, resumed.due_at), (None, Some(t(6, 9))));
        assert_eq!(store.queue_counts(t(6, 8), t(6, 23), t(12, 0)).await.unwrap()[0].overdue, 0);
        assert_eq!(store.queue_counts(t(6, 10), t(6, 23), t(12, 0)).await.unwrap()[0].overdue, 1);
        let events = store.events(id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!((last.kind, last.old_due_at, last.new_due_at), (EventKind::DeadlineResumed, Some(t(5, 9)), Some(t(6, 9))));
    }
}

#[tokio::test]
async fn concurrent_actions_are_serialized() {
    for store in stores().await {
        seed(&*store).await;
        let id = store.create_request(&new_request("pothole", "Яма", t(1, 9)), "tok", Due::default()).await.unwrap().request.id;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let input = ActionInput { text: Some(format!("comment {i}")), ..Default::default() };
                act(&*store, id, Action::Comment, input, t(2, 9)).await.unwrap();
            }));
        }
        for task in tasks { task.await.unwrap(); }
        assert_eq!(store.events(id).await.unwrap().len(), 21);
    }
}

#[tokio::test]
async fn contact_reads_are_audited() {
    for store in stores().await {
        seed(&*store).await;
        let id = store.create_request(&new_request("pothole", "Яма", t(1, 9)), "tok", Due::default()).await.unwrap().request.id;
        let contact = store.read_contact(id, &operator(), t(2, 9)).await.unwrap().unwrap();
        assert_eq!(contact.name.as_deref(), Some("Иванов И."));
        let log = store.audit_log(10).await.unwrap();
        assert_eq!((log[0].action.as_str(), log[0].user_login.as_str(), log[0].request_id), ("contact.read", "op", Some(id)));
        assert_eq!(log[0].at, t(2, 9));
    }
}

#[tokio::test]
async fn users_sessions_and_tokens() {
    for store in stores().await {
        seed(&*store).await;
        let user = NewUser { login: "anna".into(), password_hash: "$argon2id$x".into(), role: Role::AgencyStaff, agency: Some("roads".into()) };
        let uid = store.create_user(&user, t(1, 9)).await.unwrap();
        assert!(matches!(store.create_user(&user, t(1, 9)).await, Err(StoreError::Conflict(_))));
        let record = store.user_by_login("anna").await.unwrap().unwrap();
        assert_eq!((record.principal.role, record.principal.agency.as_deref(), record.active), (Role::AgencyStaff, Some("roads"), true));
        store.create_session("h1", uid, t(2, 9)).await.unwrap();
        assert_eq!(store.session_principal("h1", t(1, 10)).await.unwrap().unwrap().login, "anna");
        assert!(store.session_principal("h1", t(3, 9)).await.unwrap().is_none(), "expired");
        store.delete_session("h1").await.unwrap();
        assert!(store.session_principal("h1", t(1, 10)).await.unwrap().is_none());
        store.create_api_token(uid, "ci", "th", t(1, 9)).await.unwrap();
        assert_eq!(store.token_principal("th").await.unwrap().unwrap().user_id, uid);
        assert!(store.token_principal("other").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn imports_are_idempotent_and_keep_history() {
    for store in stores().await {
        seed(&*store).await;
        let batch: Vec<ImportedRequest> = (0..50)
            .map(|i| {
                let mut r = new_request(if i % 2 == 0 { "pothole" } else { "leak" }, "imported", t(1, 9));
                r.channel = Channel::Import;
                r.source_system = Some("spb".into());
                r.source_id = Some(format!("{}", i % 40)); // ten repeats within the batch
                r.agency = Some("roads".into());
                r.category = Some(if i % 2 == 0 { "Дороги" } else { "Вода" }.into());
                let mut done = NewEvent::new(t(3, 9), EventKind::StatusChanged, "spb");
                done.status = Some(Status::Closed);
                ImportedRequest {
                    request: r, token: format!("imp-{i}"), status: Status::Closed, updated_at: t(3, 9),
                    closed_at: Some(t(3, 9)), due_at: None, last_answer: Some("ok".into()), rating: None,
                    first_reaction_due_at: None, routing_due_at: None, first_reaction_at: Some(t(2, 9)), first_answer_at: Some(t(3, 9)),
                    events: vec![NewEvent::new(t(1, 9), EventKind::Registered, "spb"), done],
                }
            })
            .collect();
        let first = store.import_batch(&batch).await.unwrap();
        assert_eq!((first.inserted, first.existing, first.events), (40, 10, 80));
        let again = store.import_batch(&batch).await.unwrap();
        assert_eq!((again.inserted, again.existing), (0, 50));
        assert_eq!(store.totals().await.unwrap(), (40, 80));
        let by_category = store.count_requests_by(CountBy::Category).await.unwrap();
        assert_eq!(by_category, [(Some("Вода".to_string()), 20), (Some("Дороги".to_string()), 20)]);
        assert_eq!(store.count_requests_by(CountBy::Status).await.unwrap(), [(Some("closed".to_string()), 40)]);
    }
}

/// A batch of `n` imported requests, a day's hours apart, each with a registration and every
/// third with a closing event too.
fn imported_batch(source: &str, n: usize) -> Vec<ImportedRequest> {
    (0..n)
        .map(|i| {
            let at = t(1, 0) + Duration::hours(i64::try_from(i).unwrap());
            let mut r = new_request(if i % 2 == 0 { "pothole" } else { "leak" }, &format!("обращение {i}"), at);
            (r.channel, r.source_system, r.source_id) = (Channel::Import, Some(source.into()), Some(i.to_string()));
            let mut events = vec![NewEvent::new(at, EventKind::Registered, source)];
            let closed_at = (i % 3 == 0).then(|| at + Duration::hours(5));
            if let Some(closed) = closed_at {
                let mut done = NewEvent::new(closed, EventKind::StatusChanged, source);
                done.status = Some(Status::Closed);
                events.push(done);
            }
            ImportedRequest {
                request: r, token: format!("{source}-{i}"), status: if closed_at.is_some() { Status::Closed } else { Status::Registered },
                updated_at: closed_at.unwrap_or(at), closed_at, due_at: None, last_answer: None, rating: None,
                first_reaction_due_at: None, routing_due_at: None, first_reaction_at: None, first_answer_at: None, events,
            }
        })
        .collect()
}

#[tokio::test]
async fn large_import_batches_are_stored_whole_or_not_at_all() {
    for url in okno_store::testing::fresh_database_urls().await {
        let store = okno_store::open(&url).await.unwrap();
        seed(&*store).await;
        // More rows than one multi-row statement takes, ending with a part-filled statement.
        let batch = imported_batch("big", 1_234);
        let done = store.import_batch(&batch).await.unwrap();
        assert_eq!((done.inserted, done.existing, done.events), (1_234, 0, 1_234 + 412));
        assert_eq!(store.totals().await.unwrap(), (1_234, 1_646));
        let last = store.request_by_token("big-1233").await.unwrap().expect("the last row of the last statement");
        assert_eq!((last.text.as_str(), last.service_code.as_str()), ("обращение 1233", "leak"));
        assert_eq!(store.events(last.id).await.unwrap().len(), 2, "registered, then closed (1,233 is a multiple of 3)");
        let check = store.rebuild_rollups(true).await.unwrap();
        assert_eq!((check.differing, check.requests), (0, 1_234), "{check:?}");

        // A bad row in a later statement refuses the whole batch: nothing of it is kept.
        let mut bad = imported_batch("bad", 1_234);
        bad[1_100].request.service_code = "no-such-service".into();
        let refused = store.import_batch(&bad).await;
        assert!(matches!(refused, Err(okno_store::StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(store.totals().await.unwrap(), (1_234, 1_646));
        assert!(store.request_by_token("bad-0").await.unwrap().is_none());
        assert_eq!(store.rebuild_rollups(true).await.unwrap().differing, 0);
    }
}

#[tokio::test]
async fn api_keys_and_media() {
    for store in stores().await {
        let id = store.create_api_key("city-app", "hash-1", t(1, 9)).await.unwrap();
        assert_eq!(store.api_key_client("hash-1").await.unwrap().as_deref(), Some("city-app"));
        assert!(store.api_key_client("hash-2").await.unwrap().is_none());
        assert!(store.revoke_api_key(id, t(2, 9)).await.unwrap());
        assert!(!store.revoke_api_key(id, t(2, 9)).await.unwrap(), "already revoked");
        assert!(store.api_key_client("hash-1").await.unwrap().is_none());
        assert_eq!(store.api_keys().await.unwrap()[0].revoked_at, Some(t(2, 9)));
        let photo = okno_store::Media { content_type: "image/jpeg".into(), bytes: vec![0xff, 0xd8, 0, 1, 2] };
        store.store_media("m1", &photo, t(1, 9)).await.unwrap();
        assert_eq!(store.media("m1").await.unwrap(), Some(photo));
        assert!(store.media("m2").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn lists_by_id_and_by_page() {
    for store in stores().await {
        seed(&*store).await;
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(store.create_request(&new_request("pothole", "Яма", t(1 + i, 8)), &format!("tok-{i}"), Due::default()).await.unwrap().request.id);
        }
        let by_id = store.list_requests(&RequestFilter { ids: vec![ids[1], ids[4], okno_core::RequestId(9_999)], limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(by_id.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[4], ids[1]]);
        let page2 = store.list_requests(&RequestFilter { limit: 3, offset: 3, ..Default::default() }).await.unwrap();
        assert_eq!(page2.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[3], ids[2], ids[1]]);
    }
}

#[tokio::test]
async fn triage_records_wait_until_an_operator_routes_or_reclassifies() {
    use okno_core::triage::{Decider, Prediction, RuleDraft, Scored};
    for store in stores().await {
        seed(&*store).await;
        let prediction = Prediction {
            services: vec![Scored { code: "pothole".into(), probability: 0.41 }, Scored { code: "leak".into(), probability: 0.3 }],
            agencies: vec![Scored { code: "roads".into(), probability: 0.52 }],
            service_by: Decider::Triage,
            agency_by: Decider::Triage,
            rule_id: None,
            models: vec!["abc".into()],
            needs_triage: true,
        };
        let doubtful = store.create_triaged_request(&new_request("pothole", "Что-то течёт", t(1, 9)), "tok-1", Due::default(), Some(&prediction)).await.unwrap().request;
        let sure = Prediction { needs_triage: false, service_by: Decider::Citizen, agency_by: Decider::Service, ..prediction.clone() };
        let mut routed = new_request("leak", "Течёт труба", t(1, 10));
        routed.agency = Some("water".into());
        let confident = store.create_triaged_request(&routed, "tok-2", Due::default(), Some(&sure)).await.unwrap().request;
        let stored = store.prediction(doubtful.id).await.unwrap().unwrap();
        assert_eq!(stored.prediction, prediction);
        assert_eq!((stored.at, stored.corrected_at), (t(1, 9), None));
        let waiting: Vec<i64> = store.triage_queue(0, 10).await.unwrap().iter().map(|(r, _)| r.id.0).collect();
        assert_eq!(waiting, [doubtful.id.0], "only the doubtful one waits");

        let input = ActionInput { service: Some("leak".into()), text: Some("течь, не яма".into()), ..ActionInput::default() };
        let op = operator();
        let planner = |r: &okno_core::Request| plan(r, Action::Reclassify, &input, &Actor::User(&op), t(1, 11), &|_, c| c == "leak", None);
        let reclassified = store.apply(doubtful.id, &planner).await.unwrap().unwrap();
        assert_eq!((reclassified.service_code.as_str(), reclassified.status), ("leak", Status::Registered));
        let event = store.events(doubtful.id).await.unwrap().pop().unwrap();
        assert_eq!((event.kind, event.text.as_deref()), (EventKind::Reclassified, Some("pothole -> leak: течь, не яма")));
        let stored = store.prediction(doubtful.id).await.unwrap().unwrap();
        assert_eq!((stored.corrected_at, stored.corrected_by.as_deref()), (Some(t(1, 11)), Some("op")));
        assert!(store.triage_queue(0, 10).await.unwrap().is_empty());

        let all = store.requests_with_predictions(0, 10).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|(r, p)| p.as_ref().is_some_and(|p| p.request_id == r.id)));
        assert_eq!(store.requests_with_predictions(confident.id.0, 10).await.unwrap().len(), 0);

        let draft = RuleDraft { keywords: vec!["течет".into()], agency: Some("water".into()), territory: Some("north".into()), priority: 2, ..RuleDraft::default() };
        let rule = store.add_routing_rule(&draft, "op", t(2, 9)).await.unwrap();
        assert_eq!((rule.keywords.clone(), rule.active, rule.created_at), (vec!["течет".to_owned()], true, t(2, 9)));
        let bad = RuleDraft { agency: Some("no-such-agency".into()), ..draft.clone() };
        assert!(matches!(store.add_routing_rule(&bad, "op", t(2, 9)).await, Err(StoreError::Conflict(_))));
        assert!(store.set_routing_rule_active(rule.id, false).await.unwrap());
        assert!(!store.set_routing_rule_active(okno_core::RuleId(rule.id.0 + 100), false).await.unwrap());
        assert_eq!(store.routing_rules().await.unwrap().iter().map(|r| (r.id, r.active)).collect::<Vec<_>>(), [(rule.id, false)]);
    }
}

/// The rollups as the store keeps them, by key.
async fn kept_rollups(store: &dyn Store) -> BTreeMap<okno_core::rollup::RollupKey, i64> {
    store.rollups(i64::MIN, i64::MAX).await.unwrap().into_iter().map(|r| (r.key, r.n)).collect()
}

#[tokio::test]
async fn rollups_follow_every_write_and_agree_with_a_recount() {
    for url in okno_store::testing::fresh_database_urls().await {
        let store = okno_store::open(&url).await.unwrap();
        seed(&*store).await;
        let heard = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let sink = heard.clone();
        store.watch_rollups(Arc::new(move |deltas| {
            let mut sums = sink.lock().unwrap();
            for (key, n) in deltas.iter() {
                *sums.entry(key.clone()).or_insert(0) += n;
            }
            sums.retain(|_, n| *n != 0);
        }));
        // 59.95 N 30.3 E at H3 resolution 10, and its resolution-8 parent.
        let (cell, parent) = (0x08a1_1061_4b73_7fff_i64, 0x0881_1061_4b7f_ffff_i64);
        let mut ids = Vec::new();
        for (i, service) in ["pothole", "pothole", "leak"].into_iter().enumerate() {
            let mut r = new_request(service, "Яма", t(1, 9 + u32::try_from(i).unwrap()));
            r.location.cell = Some(cell);
            ids.push(store.create_request(&r, &format!("roll-{i}"), Due::default()).await.unwrap().request.id);
        }
        let route = ActionInput { agency: Some("roads".into()), text: Some("по компетенции".into()), ..Default::default() };
        act(&*store, ids[0], Action::Route, route, t(1, 12)).await.unwrap();
        let answer = ActionInput { text: Some("Яма заделана".into()), ..Default::default() };
        act(&*store, ids[0], Action::Answer, answer, t(2, 9)).await.unwrap();
        act(&*store, ids[0], Action::Close, ActionInput::default(), t(2, 10)).await.unwrap();
        let moved = okno_store::PlacementUpdate {
            request_id: ids[1], territory: None, location: Location { flag: Some(okno_core::LocationFlag::OutsideTerritories), cell: Some(cell) },
        };
        store.set_placements(&[moved]).await.unwrap();
        let mut imported = new_request("leak", "imported", t(3, 9));
        (imported.source_system, imported.source_id, imported.channel) = (Some("spb".into()), Some("1".into()), Channel::Import);
        store.import_batch(&[ImportedRequest {
            request: imported, token: "imp".into(), status: Status::Closed, updated_at: t(4, 9), closed_at: Some(t(4, 9)),
            due_at: None, last_answer: None, rating: None, first_reaction_due_at: None, routing_due_at: None,
            first_reaction_at: None, first_answer_at: None, events: vec![NewEvent::new(t(3, 9), EventKind::Registered, "spb")],
        }]).await.unwrap();

        let kept = kept_rollups(&*store).await;
        assert_eq!(kept, *heard.lock().unwrap(), "listeners hear exactly what was committed");
        assert_eq!(kept.values().sum::<i64>(), 4, "every request counted once");
        let closed: Vec<_> = kept.keys().filter(|k| k.closed_hour != 0).collect();
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().any(|k| k.agency == "roads" && k.cell == parent && k.hour == okno_core::rollup::hour_of(t(1, 9))));
        assert!(kept.keys().any(|k| k.territory.is_empty() && k.cell == parent), "the re-placed request moved");
        let check = store.rebuild_rollups(true).await.unwrap();
        assert_eq!((check.differing, check.rows, check.requests, check.replaced), (0, kept.len() as u64, 4, false));
        assert_eq!(store.rollup_hours().await.unwrap(), Some((okno_core::rollup::hour_of(t(1, 9)), okno_core::rollup::hour_of(t(3, 9)))));

        // A count changed behind the store's back is found and recounted.
        let tamper = "UPDATE rollups SET n = n + 5 WHERE channel = (SELECT id FROM rollup_dims WHERE value = 'import')";
        if url.starts_with("sqlite:") {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
            sqlx::query(tamper).execute(&mut c).await.unwrap();
        } else {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
            sqlx::query(tamper).execute(&mut c).await.unwrap();
        }
        let found = store.rebuild_rollups(true).await.unwrap();
        assert_eq!((found.differing, found.requests, found.replaced), (2, 9, false), "{found:?}");
        let repaired = store.rebuild_rollups(false).await.unwrap();
        assert_eq!((repaired.differing, repaired.requests, repaired.replaced), (2, 4, true));
        assert_eq!(kept_rollups(&*store).await, kept);
    }
}

#[tokio::test]
async fn alerts_keep_their_state_across_rescans_and_filter() {
    use chrono::NaiveDate;
    use okno_core::alert::{AlertDraft, AlertFilter, AlertState, Period};
    let day = |d: u32| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
    for store in stores().await {
        let draft = |category: &str, territory: Option<&str>, period: Period, first: u32, last: u32, observed: i64| AlertDraft {
            category: category.into(), territory: territory.map(Into::into), period, first_day: day(first), last_day: day(last),
            observed, expected: 2.5, score: 6.25,
        };
        let first = store
            .record_alerts(&[draft("Уборка снега", Some("north"), Period::Day, 3, 3, 12), draft("Уборка снега", None, Period::Week, 3, 4, 40)], t(4, 9))
            .await
            .unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].spike.territory.as_deref(), Some("north"));
        assert_eq!(first[1].spike.territory, None, "the whole region round-trips as None");
        assert!(first.iter().all(|a| a.state == AlertState::New && a.detected_at == t(4, 9)));
        let handled = store.set_alert_state(first[0].id, AlertState::Acknowledged, "operator", Some("бригады вызваны"), t(4, 10)).await.unwrap().unwrap();
        assert_eq!((handled.state, handled.handled_by.as_deref(), handled.note.as_deref()), (AlertState::Acknowledged, Some("operator"), Some("бригады вызваны")));
        // A later scan of the same week grows the count and keeps the state; the same day's alert too.
        let again = store
            .record_alerts(&[draft("Уборка снега", None, Period::Week, 3, 5, 55), draft("Уборка снега", Some("north"), Period::Day, 3, 3, 13)], t(5, 9))
            .await
            .unwrap();
        assert_eq!((again[0].id, again[0].spike.observed, again[0].spike.last_day), (first[1].id, 55, day(5)));
        assert_eq!((again[1].id, again[1].state, again[1].detected_at, again[1].updated_at), (first[0].id, AlertState::Acknowledged, t(4, 9), t(5, 9)));
        let resolved = store.set_alert_state(first[0].id, AlertState::Resolved, "admin", None, t(6, 9)).await.unwrap().unwrap();
        assert_eq!(resolved.note.as_deref(), Some("бригады вызваны"), "no note keeps the previous one");
        assert!(store.set_alert_state(okno_core::AlertId(999_999), AlertState::Resolved, "admin", None, t(6, 9)).await.unwrap().is_none());
        let open = store.alerts(&AlertFilter { states: vec![AlertState::New, AlertState::Acknowledged], limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(open.iter().map(|a| a.id).collect::<Vec<_>>(), vec![first[1].id]);
        let recent = store.alerts(&AlertFilter { since: Some(day(5)), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(recent.len(), 1, "only the week reaches the 5th");
        let in_north = store.alerts(&AlertFilter { territory: Some("north".into()), period: Some(Period::Day), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(in_north.len(), 1);
        let page = store.alerts(&AlertFilter { before_id: Some(first[1].id), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(page.iter().map(|a| a.id).collect::<Vec<_>>(), vec![first[0].id]);
        assert_eq!(store.alert(first[1].id).await.unwrap().unwrap().spike.observed, 55);
    }
}

/// A column as both schemas are compared: its type by storage family, and whether it may be NULL.
type ColumnShape = (String, bool);

/// The family a SQLite column's declared type stores as.
fn sqlite_family(declared: &str) -> String {
    let declared = declared.to_ascii_uppercase();
    let family = match declared.as_str() {
        t if t.contains("INT") => "integer",
        t if t.contains("CHAR") || t.contains("TEXT") => "text",
        t if t.contains("REAL") || t.contains("DOUB") || t.contains("FLOA") => "real",
        "BLOB" => "bytes",
        "BOOLEAN" => "boolean",
        other => other,
    };
    family.to_owned()
}

/// The SQLite storage family a PostgreSQL column's type corresponds to in Okno: times are
/// TIMESTAMPTZ there and Unix microseconds (INTEGER) in SQLite; days are DATE there and ISO text
/// in SQLite.
fn postgres_family(data_type: &str) -> String {
    let family = match data_type {
        "bigint" | "integer" | "smallint" | "timestamp with time zone" => "integer",
        "text" | "character varying" | "date" => "text",
        "double precision" | "real" => "real",
        "bytea" => "bytes",
        "boolean" => "boolean",
        other => other,
    };
    family.to_owned()
}

/// Every table's columns after migrating: (table, column) → shape. A primary-key column counts
/// as NOT NULL on SQLite too (PostgreSQL makes it so; SQLite's rowid key cannot be NULL either).
async fn sqlite_schema(url: &str) -> BTreeMap<(String, String), ColumnShape> {
    use sqlx::{Connection, Row};
    okno_store::open(url).await.expect("migrating SQLite");
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn).await.unwrap();
    rows.iter()
        .map(|r| {
            let (table, column, declared): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            let nullable = r.get::<i64, _>(3) == 0 && r.get::<i64, _>(4) == 0;
            ((table, column), (sqlite_family(&declared), nullable))
        })
        .collect()
}

async fn postgres_schema(url: &str) -> BTreeMap<(String, String), ColumnShape> {
    use sqlx::{Connection, Row};
    okno_store::open(url).await.expect("migrating PostgreSQL");
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES' FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn).await.unwrap();
    rows.iter()
        .map(|r| ((r.get::<String, _>(0), r.get::<String, _>(1)), (postgres_family(&r.get::<String, _>(2)), r.get(3))))
        .collect()
}

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_columns_types_and_nullability() {
    let urls = okno_store::testing::fresh_database_urls().await;
    let [sqlite_url, postgres_url] = urls.as_slice() else {
        okno_store::testing::skipped("comparing the SQLite schema with PostgreSQL's (no PostgreSQL server)");
        return;
    };
    let sqlite = sqlite_schema(sqlite_url).await;
    let postgres = postgres_schema(postgres_url).await;
    assert!(sqlite.len() > 100, "SQLite's schema was read: {} columns", sqlite.len());
    let differences: Vec<String> = sqlite
        .keys()
        .chain(postgres.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|key| sqlite.get(*key) != postgres.get(*key))
        .map(|key| format!("{}.{}: SQLite {:?}, PostgreSQL {:?}", key.0, key.1, sqlite.get(key), postgres.get(key)))
        .collect();
    assert!(differences.is_empty(), "the two migration sets drifted apart:\n{}", differences.join("\n"));
}
