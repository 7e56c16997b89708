//! Who may do what: every route of the server, tried by every kind of caller, against one table
//! of expected answers. The table must name every operation of the OpenAPI document (which is
//! built from the same list that routes them), every page of the UI and the Open311 routes, so a
//! new route without a row fails this test.

mod common;

use common::{citizen_request, client, login, okno, Server};
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// The callers, in the order of each row's expectations.
const CALLERS: [&str; 7] = ["anonymous", "citizen", "own agency", "other agency", "analyst", "operator", "admin"];

/// What a caller should get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Exactly this status.
    Status(u16),
    /// Let through: a 2xx, or a refusal on the request's state or input (409, 422), never on who asks.
    Acts,
}

/// One row: a method, a path (the document's template, with `{…}` filled in by [`Fixture::fill`]),
/// a body, and the expectations of the seven callers as `"401 401 200 403 403 200 200"`, where
/// `acts` stands for [`Expect::Acts`].
type Row = (&'static str, &'static str, Option<fn(&Fixture) -> Value>, &'static str);

/// Signed-in callers deny with 401 before anything else; staff of another agency are told 403
/// about a request that is not theirs; analysts change nothing.
const ROWS: &[Row] = &[
    // The catalog and the UI's configuration are public.
    ("GET", "/api/v1/services", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/services/{code}", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/agencies", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/territories", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/territories/boundaries", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/ui-config", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/openapi.json", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/duplicates?service=pothole&lat=60.0424&lon=30.5813", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/places/search?q=%D0%B3%D0%B0%D1%82%D1%87", None, "200 200 200 200 200 200 200"),
    ("POST", "/api/v1/classify", Some(|_| json!({"text": "Яма на дороге"})), "200 200 200 200 200 200 200"),
    // Filing: anyone through the web; only the channels a caller's role may use.
    ("POST", "/api/v1/requests", Some(|_| citizen_request("pothole")), "201 201 201 201 201 201 201"),
    ("POST", "/api/v1/requests", Some(|_| with_channel("phone")), "422 422 422 422 422 201 201"),
    ("POST", "/api/v1/requests", Some(|_| with_channel("open311")), "422 422 422 422 422 422 422"),
    // The citizen's token is a bearer secret: whoever holds it acts as the citizen, and no staff
    // answer carries it (the trust tests check that).
    ("GET", "/api/v1/track/{token}", None, "200 200 200 200 200 200 200"),
    ("POST", "/api/v1/track/{token}/comment", Some(|_| json!({"text": "Дополнение"})), "200 200 200 200 200 200 200"),
    ("POST", "/api/v1/track/{token}/close", Some(|_| json!({})), "403 403 403 403 403 403 403"),
    ("GET", "/api/v1/public/requests/{id}", None, "200 200 200 200 200 200 200"),
    // Requests: staff only, agency staff their own agency's.
    ("GET", "/api/v1/requests", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/requests?agency=roads", None, "401 401 200 403 200 200 200"),
    ("GET", "/api/v1/requests/{id}", None, "401 401 200 403 200 200 200"),
    ("GET", "/api/v1/requests/{id}/events", None, "401 401 200 403 200 200 200"),
    ("GET", "/api/v1/requests/{id}/duplicates", None, "401 401 200 403 200 200 200"),
    ("GET", "/api/v1/requests/{id}/actions", None, "401 401 200 403 200 200 200"),
    // (the demo trains no model, so a caller let through learns there is no prediction)
    ("GET", "/api/v1/requests/{id}/prediction", None, "401 401 404 403 404 404 404"),
    ("GET", "/api/v1/requests/{id}/contact", None, "401 401 200 403 403 200 200"),
    ("POST", "/api/v1/requests/{id}/comment", Some(|_| json!({"text": "Заметка"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/route", Some(|_| json!({"agency": "roads", "text": "По принадлежности"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/start", Some(|_| json!({})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/intermediate_answer", Some(|_| json!({"text": "Работы запланированы"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/pause_deadline", Some(|_| json!({"text": "Ждём ответа заявителя"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/resume_deadline", Some(|_| json!({})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/extend_deadline", Some(|_| json!({"text": "Нужна экспертиза", "due_at": "2099-01-01T00:00:00Z"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/reclassify", Some(|_| json!({"service": "pothole"})), "401 401 403 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/rate", Some(|_| json!({"rating": 5})), "401 401 403 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/mark_duplicate", Some(|f| json!({"duplicate_of": f.second_request})), "401 401 403 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/answer", Some(|_| json!({"text": "Яма заделана"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/reopen", Some(|_| json!({"text": "Не сделано"})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/close", Some(|_| json!({})), "401 401 acts 403 403 acts acts"),
    ("POST", "/api/v1/requests/{id}/reject", Some(|_| json!({"text": "Не по адресу"})), "401 401 403 403 403 acts acts"),
    // Queues, triage, scorecards and analytics: staff, scoped to an agency for its staff.
    ("GET", "/api/v1/queues", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/queues/{queue}", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/triage", None, "401 401 403 403 403 200 200"),
    ("GET", "/api/v1/models", None, "401 401 403 403 403 200 200"),
    ("POST", "/api/v1/models/reload", Some(|_| json!({})), "401 401 403 403 403 403 acts"),
    ("GET", "/api/v1/routing-rules", None, "401 401 403 403 403 200 200"),
    ("POST", "/api/v1/routing-rules", Some(|_| json!({"keywords": ["выбоина"], "service": "pothole", "agency": "roads"})), "401 401 403 403 403 acts acts"),
    ("DELETE", "/api/v1/routing-rules/{id}", None, "401 401 403 403 403 acts acts"),
    ("GET", "/api/v1/scorecards", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/data-quality/locations", None, "401 401 403 403 200 200 200"),
    ("POST", "/api/v1/territories/reload", Some(|_| json!({})), "401 401 403 403 403 403 acts"),
    // The heat map and the series feed the public map: counts only, no request or person.
    ("GET", "/api/v1/analytics/heatmap", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/analytics/series", None, "200 200 200 200 200 200 200"),
    ("GET", "/api/v1/analytics/backlog", None, "401 401 200 200 200 200 200"),
    ("POST", "/api/v1/analytics/reload", Some(|_| json!({})), "401 401 403 403 403 403 acts"),
    ("GET", "/api/v1/alerts", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/alerts/{id}", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/alerts/{id}/requests", None, "401 401 200 200 200 200 200"),
    // Alerts and systemic problems are the center's: operators and analysts handle them, admins scan.
    ("POST", "/api/v1/alerts/{id}", Some(|_| json!({"state": "acknowledged"})), "401 401 403 403 acts acts acts"),
    ("POST", "/api/v1/alerts/scan", Some(|_| json!({})), "401 401 403 403 403 403 acts"),
    ("GET", "/api/v1/problems", None, "401 401 200 200 200 200 200"),
    ("GET", "/api/v1/problems/{id}", None, "401 401 200 403 200 200 200"),
    ("GET", "/api/v1/problems/{id}/requests", None, "401 401 200 403 200 200 200"),
    ("POST", "/api/v1/problems/{id}", Some(|_| json!({"state": "accepted", "title": "Ямы на Садовой", "owner": "roads"})), "401 401 403 403 acts acts acts"),
    ("POST", "/api/v1/problems/scan", Some(|_| json!({})), "401 401 403 403 403 403 acts"),
    // Administration.
    ("GET", "/api/v1/audit", None, "401 401 403 403 403 403 200"),
    ("GET", "/api/v1/jobs", None, "401 401 403 403 403 403 200"),
    ("POST", "/api/v1/users", Some(|_| json!({"login": "matrix-user", "password": "a long enough password", "role": "analyst"})), "401 401 403 403 403 403 201"),
    ("POST", "/api/v1/auth/tokens", Some(|_| json!({"name": "script"})), "401 401 201 201 201 201 201"),
    ("GET", "/api/v1/auth/tokens", None, "401 401 200 200 200 200 200"),
    // (the analyst's token: only its owner revokes it here, so the admin comes too late)
    ("DELETE", "/api/v1/auth/tokens/{id}", None, "401 401 404 404 204 404 404"),
    ("GET", "/api/v1/auth/me", None, "401 401 200 200 200 200 200"),
    ("POST", "/api/v1/auth/login", Some(|_| json!({"login": "nobody", "password": "wrong password"})), "401 401 401 401 401 401 401"),
    // Open311: public reads; filing needs an API key, which no role replaces.
    ("GET", "/open311/v2/discovery.json", None, "200 200 200 200 200 200 200"),
    ("GET", "/open311/v2/services.json", None, "200 200 200 200 200 200 200"),
    ("GET", "/open311/v2/services/pothole.json", None, "200 200 200 200 200 200 200"),
    ("GET", "/open311/v2/requests.json", None, "200 200 200 200 200 200 200"),
    ("GET", "/open311/v2/requests/{id}.json", None, "200 200 200 200 200 200 200"),
    ("POST", "/open311/v2/requests.json", Some(|_| json!({})), "403 403 403 403 403 403 403"),
    // The UI's pages and files are public; what they show comes from the API above.
    ("GET", "/", None, "200 200 200 200 200 200 200"),
    ("GET", "/login", None, "200 200 200 200 200 200 200"),
    ("GET", "/map", None, "200 200 200 200 200 200 200"),
    ("GET", "/dashboards", None, "200 200 200 200 200 200 200"),
    ("GET", "/console", None, "200 200 200 200 200 200 200"),
    ("GET", "/console/requests/{id}", None, "200 200 200 200 200 200 200"),
    ("GET", "/agency", None, "200 200 200 200 200 200 200"),
    ("GET", "/agency/requests/{id}", None, "200 200 200 200 200 200 200"),
    ("GET", "/track/{token}", None, "200 200 200 200 200 200 200"),
    ("GET", "/requests/{id}", None, "200 200 200 200 200 200 200"),
    ("GET", "/assets/no-such-file.js", None, "404 404 404 404 404 404 404"),
    ("GET", "/media/no-such-photo", None, "404 404 404 404 404 404 404"),
    ("GET", "/healthz", None, "200 200 200 200 200 200 200"),
    ("GET", "/metrics", None, "401 401 403 403 403 403 200"),
    // Signing out ends the session, so it comes last.
    ("POST", "/api/v1/auth/logout", Some(|_| json!({})), "401 401 acts acts acts acts acts"),
];

/// A body filed through another channel than the web.
fn with_channel(channel: &str) -> Value {
    let mut body = citizen_request("pothole");
    body["channel"] = json!(channel);
    body
}

/// The records the rows act on.
struct Fixture {
    /// A request of the `roads` agency, filed by the citizen.
    request: i64,
    /// The citizen's tracking token of `request`.
    token: String,
    /// Another request of the `roads` agency.
    second_request: i64,
    alert: i64,
    /// A systemic problem the `roads` agency owns.
    problem: i64,
    rule: i64,
    /// A bearer token the analyst issued.
    analysts_token: i64,
}

impl Fixture {
    /// `path` with its placeholders filled in.
    fn fill(&self, path: &str) -> String {
        let id = if path.contains("/alerts/") {
            self.alert
        } else if path.contains("/problems/") {
            self.problem
        } else if path.contains("/routing-rules/") {
            self.rule
        } else if path.contains("/auth/tokens/") {
            self.analysts_token
        } else {
            self.request
        };
        path.replace("{id}", &id.to_string()).replace("{token}", &self.token).replace("{code}", "pothole").replace("{queue}", "overdue")
    }
}

/// A caller: its client and, when signed in, its CSRF token.
struct Caller {
    client: Client,
    csrf: Option<String>,
}

fn expectations(row: &Row) -> Vec<Expect> {
    let parsed: Vec<Expect> = row.3.split_whitespace()
        .map(|e| if e == "acts" { Expect::Acts } else { Expect::Status(e.parse().expect("a status")) })
        .collect();
    assert_eq!(parsed.len(), CALLERS.len(), "{} {}: one expectation per caller", row.0, row.1);
    parsed
}

fn meets(expect: Expect, status: u16) -> bool {
    match expect {
        Expect::Status(s) => s == status,
        Expect::Acts => (200..300).contains(&status) || status == 409 || status == 422,
    }
}

/// Whether a row's path is an instance of `template` (a `{…}` segment matches any segment).
fn instance_of(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (p, t): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    let last = t.last().is_some_and(|s| s.starts_with("{*"));
    (p.len() == t.len() || (last && p.len() >= t.len()))
        && p.iter().zip(&t).all(|(p, t)| t.starts_with('{') || p == t || (t.ends_with(".json") && p.ends_with(".json") && t.starts_with('{')))
}

#[test]
fn the_document_says_which_operations_need_sign_in_as_the_table_does() {
    let (_, document) = okno_server::api_routes();
    let mut wrong = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [("GET", &item.get), ("POST", &item.post), ("DELETE", &item.delete)] {
            let Some(operation) = operation else { continue };
            let documented = operation.security.is_some();
            for row in ROWS.iter().filter(|r| r.0 == method && instance_of(r.1, path)) {
                // (a wrong password is a 401 for everyone: that is not about signing in)
                let anonymous_refused = row.3.starts_with("401") && row.3.split(' ').any(|e| e != "401");
                if anonymous_refused != documented {
                    wrong.push(format!("{method} {path}: anonymous gets {} but the document says sign-in is {}", row.3, if documented { "required" } else { "not required" }));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_table_names_every_route() {
    let (_, document) = okno_server::api_routes();
    let mut missing = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods = [("GET", item.get.is_some()), ("POST", item.post.is_some()), ("DELETE", item.delete.is_some()), ("PUT", item.put.is_some()), ("PATCH", item.patch.is_some())];
        for (method, present) in methods {
            if present && !ROWS.iter().any(|r| r.0 == method && instance_of(r.1, path)) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    for page in okno_server::web::PAGES {
        if !ROWS.iter().any(|r| r.0 == "GET" && instance_of(r.1, page)) {
            missing.push(format!("GET {page}"));
        }
    }
    for route in ["/open311/v2/{file}", "/open311/v2/{kind}/{file}", "/metrics", "/healthz", "/media/{token}", "/assets/{*file}"] {
        if !ROWS.iter().any(|r| instance_of(r.1, route)) {
            missing.push(route.to_owned());
        }
    }
    assert!(missing.is_empty(), "routes without a row in the authorization table:\n{}", missing.join("\n"));
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    let db = okno_store::testing::fresh_sqlite_url();
    okno(&db, &["demo", "--no-serve"]);
    let added = std::process::Command::new(common::OKNO)
        .args(["--db", &db, "user", "add", "--login", "housing", "--role", "agency_staff", "--agency", "housing"])
        .env("OKNO_PASSWORD", "demo-housing-password").output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let server = Server::start(&db, &["--submit-per-minute", "0", "--login-per-minute", "0", "--classify-per-minute", "0"]);
    let anonymous = client();
    let filed = |body: Value| {
        let (anonymous, url) = (anonymous.clone(), server.url("/api/v1/requests"));
        async move { anonymous.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let (first, second) = (filed(citizen_request("pothole")).await, filed(citizen_request("pothole")).await);
    let mut callers = vec![Caller { client: client(), csrf: None }, Caller { client: client(), csrf: None }];
    for (user, password) in [("roads", "demo-roads-password"), ("housing", "demo-housing-password"), ("analyst", "demo-analyst-password"),
        ("operator", "demo-operator-password"), ("admin", "demo-admin-password")] {
        let (client, csrf) = login(&server, user, password).await;
        callers.push(Caller { client, csrf: Some(csrf) });
    }
    let admin = &callers[6];
    let first_of = |path: &'static str| {
        let (client, url) = (admin.client.clone(), server.url(path));
        async move {
            let list: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            let items = list.get("items").unwrap_or(&list);
            items[0]["id"].as_i64().unwrap_or_else(|| panic!("{path}: no records to act on: {list}"))
        }
    };
    for request in [&first, &second] {
        let seen: Value = admin.client.get(server.url(&format!("/api/v1/requests/{}", request["id"]))).send().await.unwrap().json().await.unwrap();
        assert_eq!(seen["agency"], "roads", "potholes go to the roads agency");
    }
    let analyst = &callers[4];
    analyst.client.post(server.url("/api/v1/auth/tokens")).header("x-csrf-token", analyst.csrf.as_deref().unwrap())
        .json(&json!({"name": "notebook"})).send().await.unwrap();
    let tokens: Value = analyst.client.get(server.url("/api/v1/auth/tokens")).send().await.unwrap().json().await.unwrap();
    let analysts_token = tokens[0]["id"].as_i64().unwrap_or_else(|| panic!("the analyst's token: {tokens}"));
    let problem = first_of("/api/v1/problems").await;
    let owned = admin.client.post(server.url(&format!("/api/v1/problems/{problem}"))).header("x-csrf-token", admin.csrf.as_deref().unwrap())
        .json(&json!({"state": "accepted", "title": "Ямы на Садовой", "owner": "roads"})).send().await.unwrap();
    assert_eq!(owned.status(), 200, "the roads agency owns a systemic problem: {}", owned.text().await.unwrap());
    let rule: Value = admin.client.post(server.url("/api/v1/routing-rules")).header("x-csrf-token", admin.csrf.as_deref().unwrap())
        .json(&json!({"keywords": ["выбоина"], "service": "pothole", "agency": "roads"})).send().await.unwrap().json().await.unwrap();
    let fixture = Fixture {
        request: first["id"].as_i64().unwrap(),
        token: first["token"].as_str().unwrap().to_owned(),
        second_request: second["id"].as_i64().unwrap(),
        alert: first_of("/api/v1/alerts").await,
        problem,
        rule: rule["id"].as_i64().unwrap_or_else(|| panic!("a routing rule: {rule}")),
        analysts_token,
    };
    let mut wrong = Vec::new();
    let mut cells = 0;
    for row in ROWS {
        let expected = expectations(row);
        let url = server.url(&fixture.fill(row.1));
        for (index, caller) in callers.iter().enumerate() {
            let mut request = caller.client.request(Method::from_bytes(row.0.as_bytes()).unwrap(), &url);
            if let Some(csrf) = &caller.csrf {
                request = request.header("x-csrf-token", csrf);
            }
            if let Some(body) = row.2 {
                request = request.json(&body(&fixture));
            }
            let status = request.send().await.unwrap().status().as_u16();
            cells += 1;
            if !meets(expected[index], status) {
                wrong.push(format!("{} {} as {}: {status}, expected {:?}", row.0, row.1, CALLERS[index], expected[index]));
            }
        }
    }
    eprintln!("authorization matrix: {} rows × {} callers = {cells} cells", ROWS.len(), CALLERS.len());
    assert!(wrong.is_empty(), "{} of {cells} cells differ from the table:\n{}", wrong.len(), wrong.join("\n"));
}
