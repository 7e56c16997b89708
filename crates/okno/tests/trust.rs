//! Trust: no one but the citizen holds the citizen's tracking token, no one files through a
//! channel their role may not use, no login looks like another, hostile or misshapen JSON is
//! refused naming its field, and every sign-in failure, refused contact read and issued token
//! is audited. The real binary on SQLite and (when configured) PostgreSQL.

use reqwest::StatusCode;
use serde_json::{json, Value};

mod common;
use common::*;

/// Whether an answer carries a `token` field anywhere.
fn has_token(v: &Value) -> bool {
    v.to_string().contains("\"token\"")
}

#[tokio::test]
async fn only_the_citizen_holds_the_tracking_token() {
    for db in okno_store::testing::fresh_database_urls().await {
        okno(&db, &["demo", "--no-serve"]);
        let server = Server::start(&db, &[]);
        let anon = client();
        let filed = anon.post(server.url("/api/v1/requests")).json(&citizen_request("pothole")).send().await.unwrap();
        assert!(filed.headers()["location"].to_str().unwrap().starts_with("/api/v1/track/"));
        let filed: Value = filed.json().await.unwrap();
        let (id, token) = (filed["id"].as_i64().unwrap(), filed["token"].as_str().unwrap().to_owned());

        for (user, password) in [("operator", "demo-operator-password"), ("roads", "demo-roads-password"), ("analyst", "demo-analyst-password"), ("admin", "demo-admin-password")] {
            let (staff, _) = login(&server, user, password).await;
            let one = staff.get(server.url(&format!("/api/v1/requests/{id}"))).send().await.unwrap();
            assert_eq!(one.status(), StatusCode::OK, "{user}");
            let one: Value = one.json().await.unwrap();
            assert!(!has_token(&one) && !one.to_string().contains(&token), "{user} sees the token: {one}");
            let list: Value = staff.get(server.url("/api/v1/requests?limit=50")).send().await.unwrap().json().await.unwrap();
            assert!(!list["items"].as_array().unwrap().is_empty() && !has_token(&list), "{user}'s list carries tokens");
        }
        let (admin, admin_csrf) = login(&server, "admin", "demo-admin-password").await;
        let issues: Value = admin.get(server.url("/api/v1/data-quality/locations?limit=1000")).send().await.unwrap().json().await.unwrap();
        assert!(!has_token(&issues));

        // An operator entering a call gets no token (it goes to the citizen), and is sent to the
        // request's staff address.
        let (operator, csrf) = login(&server, "operator", "demo-operator-password").await;
        let mut call = citizen_request("pothole");
        call["channel"] = json!("phone");
        let entered = operator.post(server.url("/api/v1/requests")).header("x-csrf-token", &csrf).json(&call).send().await.unwrap();
        assert_eq!(entered.status(), StatusCode::CREATED);
        let location = entered.headers()["location"].to_str().unwrap().to_owned();
        let entered: Value = entered.json().await.unwrap();
        assert!(!has_token(&entered), "{entered}");
        assert_eq!(location, format!("/api/v1/requests/{}", entered["id"]));

        // The citizen's token still works for the citizen.
        let rated = anon.post(server.url(&format!("/api/v1/track/{token}/rate"))).json(&json!({"rating": 4})).send().await.unwrap();
        assert_eq!(rated.status(), StatusCode::CONFLICT, "not answered yet, but the token is accepted");

        // Only the center enters phone, e-mail and social requests; no one files as an import
        // or as Open311.
        let (roads, roads_csrf) = login(&server, "roads", "demo-roads-password").await;
        let refused = [
            (&anon, None, "phone"),
            (&roads, Some(roads_csrf.as_str()), "phone"),
            (&operator, Some(csrf.as_str()), "import"),
            (&admin, Some(admin_csrf.as_str()), "open311"),
        ];
        for (client, csrf, channel) in refused {
            let mut body = citizen_request("pothole");
            body["channel"] = json!(channel);
            let mut post = client.post(server.url("/api/v1/requests")).json(&body);
            if let Some(csrf) = csrf {
                post = post.header("x-csrf-token", csrf);
            }
            let answer = post.send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{channel}");
            let problem: Value = answer.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], "channel", "{problem}");
        }
    }
}

#[tokio::test]
async fn misshapen_json_is_refused_naming_its_field() {
    let db = okno_store::testing::fresh_database_urls().await.remove(0);
    okno(&db, &["demo", "--no-serve"]);
    let server = Server::start(&db, &[]);
    let anon = client();
    let post = |body: Value| anon.post(server.url("/api/v1/requests")).json(&body).send();
    let field_of = |problem: &Value| problem["errors"][0]["field"].as_str().unwrap_or_default().to_owned();
    let code_of = |problem: &Value| problem["errors"][0]["code"].as_str().unwrap_or_default().to_owned();

    let mut placed = citizen_request("pothole");
    placed.as_object_mut().unwrap().remove("lat");
    placed.as_object_mut().unwrap().remove("lon");
    placed["coordinates"] = json!({"lat": 60.0424, "lon": 30.5813});
    let answer = post(placed).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = answer.json().await.unwrap();
    assert_eq!((field_of(&problem), code_of(&problem)), ("coordinates".into(), "unknown_field".into()), "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("lat"), "names the fields expected: {problem}");

    let mut nested = citizen_request("pothole");
    nested["contact"]["telegram"] = json!("@someone");
    let problem: Value = post(nested).await.unwrap().json().await.unwrap();
    assert_eq!(field_of(&problem), "contact.telegram", "{problem}");

    let mut typed = citizen_request("pothole");
    typed["lat"] = json!("north");
    let answer = post(typed).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = answer.json().await.unwrap();
    assert_eq!((field_of(&problem), code_of(&problem)), ("lat".into(), "wrong_type".into()), "{problem}");

    let listed = post(json!([null, null])).await.unwrap();
    assert_eq!(listed.status(), StatusCode::UNPROCESSABLE_ENTITY, "an array is not read as the fields in order");
    let problem: Value = listed.json().await.unwrap();
    assert_eq!((field_of(&problem), code_of(&problem)), ("body".into(), "wrong_type".into()), "{problem}");

    let mut incomplete = citizen_request("pothole");
    incomplete["text"] = json!("");
    incomplete["service_code"] = json!("no-such-service");
    incomplete["address"] = json!("д".repeat(501));
    let problem: Value = post(incomplete).await.unwrap().json().await.unwrap();
    let codes: Vec<(&str, &str)> = problem["errors"].as_array().unwrap().iter().map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap())).collect();
    assert_eq!(codes, [("service_code", "unknown_value"), ("text", "required"), ("address", "too_long")], "every field error has a stable code: {problem}");

    let plain = anon.post(server.url("/api/v1/requests")).header("content-type", "text/plain").body(citizen_request("pothole").to_string()).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let trailing = anon.post(server.url("/api/v1/requests")).header("content-type", "application/json")
        .body(format!("{} {{}}", citizen_request("pothole"))).send().await.unwrap();
    assert_eq!(trailing.status(), StatusCode::BAD_REQUEST);

    let login_typo = anon.post(server.url("/api/v1/auth/login")).json(&json!({"login": "admin", "pasword": "x"})).send().await.unwrap();
    assert_eq!(login_typo.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // One rule for query parameters: a value not of its type, an empty number or date among them,
    // is a 422 naming it; an empty text filters nothing.
    let (operator, _) = login(&server, "operator", "demo-operator-password").await;
    for path in ["/api/v1/requests?q=&status=", "/api/v1/alerts?state="] {
        assert_eq!(operator.get(server.url(path)).send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    for (path, field) in [("/api/v1/requests?limit=many", "limit"), ("/api/v1/requests?limit=", "limit"), ("/api/v1/queues?days=-1", "days"),
        ("/api/v1/queues?days=", "days"), ("/api/v1/analytics/heatmap?zoom=x", "zoom")] {
        let answer = operator.get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let problem: Value = answer.json().await.unwrap();
        assert_eq!((field_of(&problem), code_of(&problem)), (field.into(), "invalid_format".into()), "{path}: {problem}");
    }
    // A number outside the range the API document states is refused, never quietly clamped.
    for (path, field) in [("/api/v1/data-quality/locations?limit=1001", "limit"), ("/api/v1/triage?limit=2147483648", "limit"),
        ("/api/v1/queues?days=61", "days"), ("/api/v1/queues/overdue?page=0", "page"), ("/api/v1/scorecards?min=1000001", "min")] {
        let answer = operator.get(server.url(path)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(field_of(&problem), field, "{path}: {problem}");
        assert!(["out_of_range", "invalid_format"].contains(&code_of(&problem).as_str()), "{path}: {problem}");
    }
}

#[tokio::test]
async fn logins_are_normalized_look_alikes_refused_and_sign_in_failures_audited() {
    for db in okno_store::testing::fresh_database_urls().await {
        okno(&db, &["demo", "--no-serve"]);
        let server = Server::start(&db, &[]);
        let (admin, csrf) = login(&server, "admin", "demo-admin-password").await;
        let create = |login: &str| {
            admin.post(server.url("/api/v1/users")).header("x-csrf-token", &csrf)
                .json(&json!({"login": login, "password": "a long enough password", "role": "analyst"})).send()
        };
        for look_alike in ["\u{430}dmin", "Admin", "\u{43e}perator"] {
            let answer = create(look_alike).await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{look_alike}");
            let problem: Value = answer.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], "login", "{problem}");
        }
        let created: Value = create("\u{ff41}nalyst2").await.unwrap().json().await.unwrap();
        assert_eq!(created["login"], "analyst2", "full-width letters are the plain ones");
        login(&server, "\u{ff41}nalyst2", "a long enough password").await;
        let created = create("иванов.п").await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED, "a login in one alphabet, Cyrillic, is fine");

        let anon = client();
        let wrong = |login: &str| anon.post(server.url("/api/v1/auth/login")).json(&json!({"login": login, "password": "not it"})).send();
        let refused = wrong("operator").await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["detail"], "wrong login or password", "not 'sign in first': {problem}");
        assert_eq!(wrong("nobody-here").await.unwrap().status(), StatusCode::UNAUTHORIZED);

        // A refused contact read, an issued token: audited too; the contact is never cached.
        let (analyst, analyst_csrf) = login(&server, "analyst", "demo-analyst-password").await;
        let filed: Value = anon.post(server.url("/api/v1/requests")).json(&citizen_request("pothole")).send().await.unwrap().json().await.unwrap();
        let id = filed["id"].as_i64().unwrap();
        assert_eq!(analyst.get(server.url(&format!("/api/v1/requests/{id}/contact"))).send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let (operator, _) = login(&server, "operator", "demo-operator-password").await;
        let contact = operator.get(server.url(&format!("/api/v1/requests/{id}/contact"))).send().await.unwrap();
        assert_eq!(contact.headers()["cache-control"], "no-store");
        let issued = analyst.post(server.url("/api/v1/auth/tokens")).header("x-csrf-token", &analyst_csrf).json(&json!({"name": "notebook"})).send().await.unwrap();
        assert_eq!(issued.status(), StatusCode::CREATED);

        let audit: Value = admin.get(server.url("/api/v1/audit?limit=50")).send().await.unwrap().json().await.unwrap();
        let entries: Vec<(String, String)> = audit.as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["user_login"].as_str().unwrap().to_owned())).collect();
        let has = |action: &str, user: &str| entries.iter().any(|(a, u)| a == action && u == user);
        assert!(has("login.failed", "operator"), "{entries:?}");
        assert!(has("login.failed", "(unknown login)"), "{entries:?}");
        assert!(!entries.iter().any(|(_, u)| u == "nobody-here"), "an unknown login is not kept");
        assert!(has("contact.refused", "analyst") && has("contact.read", "operator") && has("token.create", "analyst"), "{entries:?}");
        assert!(has("user.create", "admin"));
        let one: Value = admin.get(server.url("/api/v1/audit?limit=1")).send().await.unwrap().json().await.unwrap();
        assert_eq!(one.as_array().unwrap().len(), 1);
        assert_eq!(admin.get(server.url("/api/v1/audit?limit=0")).send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// Reads from `stream` until it closes or `wait` passes; whether it closed, and what came.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, wait: std::time::Duration) -> (bool, String) {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (true, String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
            Err(_) => return (false, String::from_utf8_lossy(&seen).into_owned()),
        }
    }
}

#[tokio::test]
async fn slow_and_crowding_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let db = okno_store::testing::fresh_database_urls().await.remove(0);
    let server = Server::start(&db, &["--header-timeout", "1", "--body-timeout", "1", "--max-connections-per-address", "4"]);
    let address = server.url("").trim_start_matches("http://").to_owned();
    let long = std::time::Duration::from_secs(5);

    // Headers that never end.
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: okno\r\nX-Slow: ").await.unwrap();
    let started = std::time::Instant::now();
    let (closed, _) = read_until_closed(&mut slow, long).await;
    assert!(closed, "a client that never finishes its headers is disconnected");
    assert!(started.elapsed() < long);

    // A body shorter than its Content-Length.
    let mut short = TcpStream::connect(&address).await.unwrap();
    short.write_all(b"POST /api/v1/requests HTTP/1.1\r\nHost: okno\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"text\": ").await.unwrap();
    let (closed, answer) = read_until_closed(&mut short, long).await;
    assert!(closed, "a body that never arrives is given up: {answer}");

    // A keep-alive connection left idle after its answer.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: okno\r\n\r\n").await.unwrap();
    let (closed, answer) = read_until_closed(&mut idle, long).await;
    assert!(closed && answer.starts_with("HTTP/1.1 200"), "answered, then closed when idle: {answer}");

    // A fifth connection from one address while four are open is closed at once; the four's
    // places free when they close.
    let mut crowd = Vec::new();
    for _ in 0..4 {
        crowd.push(TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(&address).await.unwrap();
    let _ = fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: okno\r\n\r\n").await;
    let (closed, answer) = read_until_closed(&mut fifth, std::time::Duration::from_millis(800)).await;
    assert!(closed && answer.is_empty(), "the fifth is refused: {answer:?}");
    drop(crowd);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let ok = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn limits_key_on_the_client_a_trusted_proxy_names_and_per_purpose() {
    let db = okno_store::testing::fresh_database_urls().await.remove(0);
    okno(&db, &["demo", "--no-serve"]);
    let behind = Server::start(&db, &["--trusted-proxy", "127.0.0.1", "--login-per-minute", "3", "--submit-per-minute", "2"]);
    let client = client();
    let sign_in = |server: &Server, from: &str, login: &str, password: &str| {
        client.post(server.url("/api/v1/auth/login")).header("x-forwarded-for", from).json(&json!({"login": login, "password": password})).send()
    };
    // One address's failures do not lock out another address behind the same proxy.
    for _ in 0..3 {
        assert_eq!(sign_in(&behind, "203.0.113.1", "nobody-1", "wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = sign_in(&behind, "203.0.113.1", "nobody-1", "wrong").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(sign_in(&behind, "203.0.113.2", "admin", "demo-admin-password").await.unwrap().status(), StatusCode::OK);
    // One account's failures from many addresses throttle that account.
    for from in ["203.0.113.3", "203.0.113.4", "203.0.113.5"] {
        assert_eq!(sign_in(&behind, from, "operator", "wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&behind, "203.0.113.6", "operator", "demo-operator-password").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in(&behind, "203.0.113.7", "operator", "demo-operator-password").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Each throttling is audited once, under the login tried when it names a user.
    let (admin, _) = login(&behind, "admin", "demo-admin-password").await;
    let audit: Value = admin.get(behind.url("/api/v1/audit?limit=100")).send().await.unwrap().json().await.unwrap();
    let throttled: Vec<(String, String)> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "login.throttled")
        .map(|e| (e["user_login"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned())).collect();
    assert_eq!(throttled.iter().filter(|(u, _)| u == "operator").count(), 1, "{throttled:?}");
    assert!(throttled.iter().any(|(u, d)| u == "(unknown login)" && d.contains("address")), "{throttled:?}");
    // Filing and classifying draw on buckets of their own.
    let file = || client.post(behind.url("/api/v1/requests")).header("x-forwarded-for", "203.0.113.7").json(&citizen_request("pothole")).send();
    assert_eq!(file().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(file().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(file().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    let classified = client.post(behind.url("/api/v1/classify")).header("x-forwarded-for", "203.0.113.7").json(&json!({"text": "Яма на дороге"})).send().await.unwrap();
    assert_eq!(classified.status(), StatusCode::OK, "classification has its own bucket");
    drop(behind);

    // Without a trusted proxy the header is the client's say-so and is ignored.
    let direct = Server::start(&db, &["--login-per-minute", "3"]);
    for from in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(sign_in(&direct, from, "nobody-2", "wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&direct, "198.51.100.4", "nobody-3", "wrong").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn bearer_tokens_are_listed_and_revoked_by_their_owner_or_an_admin_and_audited() {
    for db in okno_store::testing::fresh_database_urls().await {
        okno(&db, &["demo", "--no-serve"]);
        let server = Server::start(&db, &[]);
        let (operator, operator_csrf) = login(&server, "operator", "demo-operator-password").await;
        let (analyst, analyst_csrf) = login(&server, "analyst", "demo-analyst-password").await;
        let (admin, admin_csrf) = login(&server, "admin", "demo-admin-password").await;
        let mut issued = Vec::new();
        for name in ["nightly report", "spare"] {
            let token: Value = operator.post(server.url("/api/v1/auth/tokens")).header("x-csrf-token", &operator_csrf)
                .json(&json!({"name": name})).send().await.unwrap().json().await.unwrap();
            issued.push(token["token"].as_str().unwrap().to_owned());
        }
        let bearer = client();
        let me = |token: String| {
            let (bearer, url) = (bearer.clone(), server.url("/api/v1/auth/me"));
            async move { bearer.get(url).bearer_auth(token).send().await.unwrap().status() }
        };
        assert_eq!(me(issued[0].clone()).await, StatusCode::OK);
        let listed: Value = operator.get(server.url("/api/v1/auth/tokens")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
        assert!(!listed.to_string().contains(&issued[0]), "a listed token never shows its secret");
        let (spare, report) = (listed[0]["id"].as_i64().unwrap(), listed[1]["id"].as_i64().unwrap());
        assert_eq!(listed[1]["name"], "nightly report");
        let analysts: Value = analyst.get(server.url("/api/v1/auth/tokens")).send().await.unwrap().json().await.unwrap();
        assert_eq!(analysts, json!([]), "others see none of them");
        let by_analyst = analyst.delete(server.url(&format!("/api/v1/auth/tokens/{report}"))).header("x-csrf-token", &analyst_csrf).send().await.unwrap();
        assert_eq!(by_analyst.status(), StatusCode::NOT_FOUND, "nor revoke them");
        let by_owner = operator.delete(server.url(&format!("/api/v1/auth/tokens/{spare}"))).header("x-csrf-token", &operator_csrf).send().await.unwrap();
        assert_eq!(by_owner.status(), StatusCode::NO_CONTENT);
        assert_eq!(me(issued[1].clone()).await, StatusCode::UNAUTHORIZED, "a revoked token stops at once");
        let everyone: Value = admin.get(server.url("/api/v1/auth/tokens")).send().await.unwrap().json().await.unwrap();
        assert_eq!(everyone.as_array().unwrap().len(), 2, "an admin sees every token: {everyone}");
        let by_admin = admin.delete(server.url(&format!("/api/v1/auth/tokens/{report}"))).header("x-csrf-token", &admin_csrf).send().await.unwrap();
        assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
        assert_eq!(me(issued[0].clone()).await, StatusCode::UNAUTHORIZED);
        let audit: Value = admin.get(server.url("/api/v1/audit?limit=20")).send().await.unwrap().json().await.unwrap();
        let revocations: Vec<(&str, &str)> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "token.revoke")
            .map(|e| (e["user_login"].as_str().unwrap(), e["detail"].as_str().unwrap())).collect();
        assert_eq!(revocations, [("admin", format!("token {report}").as_str()), ("operator", format!("token {spare}").as_str())]);
    }
}
