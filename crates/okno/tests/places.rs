//! The demo's real region and the places Okno knows in it: the gazetteer the citizens' form
//! searches, and a request with only an address placed in its territory and on the heat map.
//! The real binary, on SQLite and (when configured) PostgreSQL.

use reqwest::StatusCode;
use serde_json::{json, Value};

mod common;
use common::*;

/// The count of the territory `code` on the heat map of the last day.
async fn heat(server: &Server, code: &str) -> i64 {
    let map: Value = client().get(server.url("/api/v1/analytics/heatmap?by=territories&format=json&window=1")).send().await.unwrap().json().await.unwrap();
    map["places"].as_array().unwrap().iter().find(|p| p["territory"] == code).map_or(0, |p| p["count"].as_i64().unwrap())
}

#[tokio::test]
async fn a_request_with_only_an_address_is_placed_where_the_region_knows_it() {
    for db in okno_store::testing::fresh_database_urls().await {
        okno(&db, &["demo", "--no-serve"]);
        let server = Server::start(&db, &["--submit-per-minute", "0"]);
        let anon = client();

        // The demo is Leningrad oblast: its 18 real districts with their populations, and the
        // boundaries' credit.
        let boundaries: Value = anon.get(server.url("/api/v1/territories/boundaries")).send().await.unwrap().json().await.unwrap();
        let districts = boundaries["features"].as_array().unwrap();
        assert_eq!(districts.len(), 18);
        let gatchina = districts.iter().find(|f| f["properties"]["name_ru"] == "Гатчинский район").expect("a real district");
        assert_eq!((gatchina["properties"]["territory"].as_str(), gatchina["properties"]["population"].as_i64()), (Some("41618000"), Some(261_522)));
        assert_eq!(boundaries["attribution"], json!(["© OpenStreetMap"]));

        // The gazetteer: districts first, then streets and addresses of filed requests.
        let search = |q: &str| anon.get(server.url("/api/v1/places/search")).query(&[("q", q), ("limit", "5")]).send();
        let found: Value = search("гатч").await.unwrap().json().await.unwrap();
        assert_eq!((found[0]["kind"].as_str(), found[0]["label"].as_str(), found[0]["territory"].as_str()), (Some("territory"), Some("Гатчинский район"), Some("41618000")), "{found}");
        let streets: Value = search("гатчина улица ленина").await.unwrap().json().await.unwrap();
        assert_eq!((streets[0]["kind"].as_str(), streets[0]["label"].as_str()), (Some("street"), Some("г. Гатчина, ул. Ленина")), "{streets}");
        assert!(streets[0]["requests"].as_i64().unwrap() > 0);
        assert_eq!(search("").await.unwrap().json::<Value>().await.unwrap(), json!([]));
        assert_eq!(anon.get(server.url("/api/v1/places/search?q=x&limit=51")).send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
        let long = anon.get(server.url("/api/v1/places/search")).query(&[("q", "я".repeat(201))]).send().await.unwrap();
        assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY, "as long as the document allows, no longer");

        // Filed with an address only, written another way: placed in its district, on the map.
        let before = heat(&server, "41618000").await;
        let file = |address: &str| anon.post(server.url("/api/v1/requests"))
            .json(&json!({"service_code": "pothole", "text": "Глубокая яма на дороге у дома", "address": address, "channel": "web"})).send();
        let placed: Value = file("Гатчина, улица Ленина, д. 17").await.unwrap().json().await.unwrap();
        assert_eq!(placed["territory"], "41618000", "{placed}");
        assert_eq!(heat(&server, "41618000").await, before + 1, "it counts on the heat map");
        // A district named in the address places it in the district; an unknown place, nowhere.
        let district: Value = file("Всеволожский район, дер. Новое Девяткино, 3").await.unwrap().json().await.unwrap();
        assert_eq!(district["territory"], "41612000", "{district}");
        let unknown: Value = file("Москва, Тверская ул., 1").await.unwrap().json().await.unwrap();
        assert_eq!(unknown["territory"], Value::Null, "{unknown}");
    }
}

#[test]
fn ryazan_oblast_is_the_second_shipped_region() {
    let db = okno_store::testing::fresh_sqlite_url();
    let out = okno(&db, &["demo", "--region", "ryazan", "--no-serve"]);
    assert!(out.contains("29 districts"), "{out}");
}
