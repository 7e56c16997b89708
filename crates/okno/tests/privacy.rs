//! Personal data typed into free text never reaches the public: masked on the St. Petersburg
//! appeals' own patterns (the portal replaced what it hid with `[скрыто]`; each such place gets
//! a planted phone, e-mail, name or flat number of the kind its context calls for), and planted
//! markers grepped for in every public answer and the open-data export, while staff still read
//! the original.

use okno_core::privacy::mask_personal_data;
use reqwest::StatusCode;
use serde_json::{json, Value};

mod common;
use common::*;

/// What a hidden place in a St. Petersburg text most likely held, judged by the words before it.
fn planted_for(before: &str, n: usize) -> String {
    let before = before.to_lowercase();
    let raw = before.split_whitespace().last().unwrap_or_default();
    let last = raw.trim_matches(|c: char| !c.is_alphanumeric());
    // (a word that ends a sentence says nothing of what follows)
    if last.starts_with("кв") && !raw.ends_with(['.', '!', '?']) {
        return format!("{}", 10 + n % 300);
    }
    let role = ["инженер", "сантехник", "электрик", "председатель", "сотрудник", "мастер", "техник", "дворник"].iter().any(|r| last.starts_with(r));
    if role && !raw.ends_with(['.', '!', '?']) {
        return ["Петров", "Сидоровой", "Кузнецов"][n % 3].to_owned();
    }
    match n % 4 {
        0 => format!("+7 (921) {:03}-{:02}-{:02}", n % 1000, n % 100, (n / 7) % 100),
        1 => format!("zhitel{n}@example.ru"),
        2 => ["Петров Иван Сергеевич", "Анна Викторовна Смирнова", "Кузнецову Петру Ильичу"][n % 3].to_owned(),
        _ => ["Петров И.С.", "А. В. Смирнова", "Сидоровой Е.Н."][n % 3].to_owned(),
    }
}

#[test]
fn the_st_petersburg_texts_lose_what_their_portal_hid() {
    let Some(path) = shared_data("ru_spb_appeals/appeals.csv.gz") else { return };
    let mut reader = csv::Reader::from_reader(flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()));
    let headers = reader.headers().unwrap().clone();
    let text_at = headers.iter().position(|h| h == "text").unwrap();
    let (mut texts, mut planted, mut left, mut changed_without) = (0, 0, Vec::new(), 0);
    for record in reader.records() {
        let text = record.unwrap()[text_at].to_owned();
        texts += 1;
        if !text.contains("[скрыто]") {
            changed_without += usize::from(mask_personal_data(&text) != text);
            continue;
        }
        let mut with_data = String::new();
        let mut markers = Vec::new();
        for (i, piece) in text.split("[скрыто]").enumerate() {
            if i > 0 {
                let marker = planted_for(&with_data, planted + markers.len());
                with_data.push(' ');
                with_data.push_str(&marker);
                with_data.push(' ');
                markers.push(marker);
            }
            with_data.push_str(piece);
        }
        let masked = mask_personal_data(&with_data);
        planted += markers.len();
        left.extend(markers.into_iter().filter(|m| masked.contains(&format!(" {m} "))).map(|m| (m, masked.to_string())));
    }
    eprintln!("St. Petersburg texts: {texts}; places the portal hid: {planted}; planted data left unmasked: {}; texts without hidden places changed by masking: {changed_without}", left.len());
    assert!(planted > 600, "the data's hidden places were found: {planted}");
    assert!(left.is_empty(), "unmasked: {:?}", &left[..left.len().min(10)]);
    assert!(changed_without * 100 < texts, "masking touches under 1 % of the other texts: {changed_without}");
}

#[tokio::test]
async fn planted_personal_data_reaches_no_public_answer_no_analytics_no_export_and_no_log() {
    let db = okno_store::testing::fresh_database_urls().await.remove(0);
    okno(&db, &["demo", "--no-serve"]);
    let key = okno(&db, &["apikey", "add", "--client", "city-app"]).lines().next().unwrap().trim().to_owned();
    let server = Server(okno::process::ServerProcess::start_logging(std::path::Path::new(OKNO), &db, &[], "trace,sqlx=trace").unwrap());
    let anon = client();
    let in_text = ["+7 921 555-01-99", "marker.person@example.ru", "Маркеров Пётр Ильич", "Маркерова П.И.", "кв. 4321"];
    let in_contact = ["Контактова Мария Ивановна", "+7 900 777-66-55", "contact.marker@example.org", "79007776655"];
    let mut body = citizen_request("pothole");
    body["text"] = json!(format!("Яма у подъезда. Звоните {}, пишите {}. Заявитель {}, соседка {}, {}.", in_text[0], in_text[1], in_text[2], in_text[3], in_text[4]));
    body["contact"] = json!({"name": in_contact[0], "phone": in_contact[1], "email": in_contact[2]});
    body["address"] = json!(format!("г. Всеволожск, Садовая ул., 5, {}", in_text[4]));
    let filed: Value = anon.post(server.url("/api/v1/requests")).json(&body).send().await.unwrap().json().await.unwrap();
    let id = filed["id"].as_i64().unwrap();
    let token = filed["token"].as_str().unwrap().to_owned();

    let (operator, csrf) = login(&server, "operator", "demo-operator-password").await;
    let answer = format!("Уважаемый {}, яма заделана.", in_text[2]);
    let answered = operator.post(server.url(&format!("/api/v1/requests/{id}/answer"))).header("x-csrf-token", &csrf).json(&json!({"text": answer})).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let contact: Value = operator.get(server.url(&format!("/api/v1/requests/{id}/contact"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(contact["phone"], in_contact[1], "the operator reads the contact (audited)");
    let every_marker: Vec<&str> = in_text.iter().chain(&in_contact).copied().collect();

    // The citizen's own tracking page shows their text as they wrote it, and no contact.
    let tracked = anon.get(server.url(&format!("/api/v1/track/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(tracked.contains(in_text[0]) && !in_contact.iter().any(|m| tracked.contains(m)), "{tracked}");
    // The gazetteer learns the stored addresses when the boundaries are put in force again.
    let (admin_before, admin_csrf) = login(&server, "admin", "demo-admin-password").await;
    let reloaded = admin_before.post(server.url("/api/v1/territories/reload")).header("x-csrf-token", &admin_csrf).send().await.unwrap();
    assert_eq!(reloaded.status(), StatusCode::OK);
    // The public: the request page, duplicates, Open311, its bulk export, the public map, the
    // places the citizens' form suggests.
    let public = [
        "/api/v1/places/search?q=%D0%B2%D1%81%D0%B5%D0%B2%D0%BE%D0%BB%D0%BE%D0%B6%D1%81%D0%BA%20%D1%81%D0%B0%D0%B4%D0%BE%D0%B2%D0%B0%D1%8F%205&limit=50".to_owned(),
        format!("/api/v1/public/requests/{id}"),
        "/api/v1/duplicates?service=pothole&lat=60.0424&lon=30.5813&text=%D1%8F%D0%BC%D0%B0".to_owned(),
        format!("/open311/v2/requests/{id}.json"),
        format!("/open311/v2/requests/{id}.xml"),
        format!("/open311/v2/requests.json?service_request_id={id}"),
        format!("/open311/v2/requests.csv?api_key={key}"),
        "/api/v1/analytics/heatmap?by=territories".to_owned(),
        "/api/v1/analytics/series?by=category".to_owned(),
    ];
    for path in &public {
        let text = anon.get(server.url(path)).send().await.unwrap().text().await.unwrap();
        if path.contains("requests") {
            assert!(text.contains("Яма у подъезда"), "{path} shows the request: {text:.300}");
        }
        for marker in &every_marker {
            assert!(!text.contains(marker), "{path} shows {marker:?}: {text:.500}");
        }
    }
    // Analysts read everything but personal data: no contact, and the free text masked.
    let (analyst, _) = login(&server, "analyst", "demo-analyst-password").await;
    let analytics = [
        format!("/api/v1/requests/{id}"),
        format!("/api/v1/requests/{id}/events"),
        "/api/v1/requests?q=%D0%BF%D0%BE%D0%B4%D1%8A%D0%B5%D0%B7%D0%B4%D0%B0".to_owned(),
        "/api/v1/analytics/backlog".to_owned(),
        "/api/v1/scorecards?by=agency".to_owned(),
        "/api/v1/queues".to_owned(),
        "/api/v1/alerts".to_owned(),
        "/api/v1/problems".to_owned(),
    ];
    for path in &analytics {
        let text = analyst.get(server.url(path)).send().await.unwrap().text().await.unwrap();
        for marker in &every_marker {
            assert!(!text.contains(marker), "the analyst's {path} shows {marker:?}: {text:.500}");
        }
    }
    let (admin, _) = login(&server, "admin", "demo-admin-password").await;
    let metrics = admin.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let audit = admin.get(server.url("/api/v1/audit")).send().await.unwrap().text().await.unwrap();
    for marker in &every_marker {
        assert!(!metrics.contains(marker) && !audit.contains(marker), "metrics or audit show {marker:?}");
    }
    let exported = okno_stdout(&db, &["export", "requests", "--format", "jsonl"]);
    assert!(exported.contains("Яма у подъезда"));
    for marker in &every_marker {
        assert!(!exported.contains(marker), "the open-data export shows {marker:?}");
    }
    // Staff who work the request read what the citizen wrote.
    let seen: Value = operator.get(server.url(&format!("/api/v1/requests/{id}"))).send().await.unwrap().json().await.unwrap();
    assert!(in_text.iter().all(|m| seen["text"].as_str().unwrap().contains(m)), "{seen}");
    // The server logged at trace level (`trace,sqlx=trace`) all along, and wrote none of it down.
    let log = server.0.log();
    assert!(log.lines().count() > 20 && log.contains(" DEBUG ") && !log.contains('\u{1b}'), "the server logged at trace level, without colour codes: {log:.2000}");
    for marker in &every_marker {
        let found: Vec<&str> = log.lines().filter(|l| l.contains(marker)).take(3).collect();
        assert!(found.is_empty(), "the trace log shows {marker:?}: {found:#?}");
    }
}
