//! Prometheus metrics: admins read them on the main address, anyone on the monitoring address;
//! they count requests by route template (never by id or token) and report the queues as the
//! records have them.

mod common;

use common::{client, login, okno, Server};
use serde_json::Value;

/// The value of the sample whose name and labels are `series` exactly, e.g. `okno_job_runs{job="x"}`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test]
async fn metrics_count_routes_and_report_the_queues_as_recorded() {
    let db = okno_store::testing::fresh_sqlite_url();
    okno(&db, &["demo", "--no-serve"]);
    let monitoring_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let monitoring = format!("127.0.0.1:{monitoring_port}");
    let server = Server::start(&db, &["--metrics-listen", &monitoring]);
    let anonymous = client();
    assert_eq!(anonymous.get(server.url("/metrics")).send().await.unwrap().status(), 401);
    let (analyst, _) = login(&server, "analyst", "demo-analyst-password").await;
    assert_eq!(analyst.get(server.url("/metrics")).send().await.unwrap().status(), 403);
    let (admin, _) = login(&server, "admin", "demo-admin-password").await;
    let page: Value = admin.get(server.url("/api/v1/requests?limit=1")).send().await.unwrap().json().await.unwrap();
    let id = page["items"][0]["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(admin.get(server.url(&format!("/api/v1/requests/{id}"))).send().await.unwrap().status(), 200);
    }
    let answer = admin.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = answer.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "one OpenMetrics exposition");
    assert_eq!(sample(&text, r#"okno_http_requests_total{method="GET",route="/api/v1/requests/{id}",status="200"}"#), Some(3.0), "{text}");
    assert_eq!(sample(&text, r#"okno_http_request_duration_seconds_count{method="GET",route="/api/v1/requests/{id}"}"#), Some(3.0));
    assert!(!text.contains(&format!("/api/v1/requests/{id}\"")), "paths are counted by template, not by id");

    // The queues are the records', as the queue summary counts them.
    let summary: Value = admin.get(server.url("/api/v1/queues")).send().await.unwrap().json().await.unwrap();
    let roads = summary["agencies"].as_array().unwrap().iter().find(|a| a["agency"] == "roads").expect("the roads agency has a queue");
    for queue in ["overdue", "due_today", "due_soon", "no_first_reaction"] {
        let series = format!(r#"okno_queue_requests{{queue="{queue}",agency="roads"}}"#);
        assert_eq!(sample(&text, &series), roads[queue].as_f64(), "{series}");
    }
    assert!(sample(&text, r#"okno_queue_requests{queue="overdue",agency="roads"}"#).unwrap() > 0.0, "the demo has overdue requests");
    assert_eq!(sample(&text, r#"okno_outbox_notifications{state="given_up"}"#), Some(0.0));
    assert!(sample(&text, r#"okno_job_runs{job="deadline-check"}"#).is_some(), "{text}");

    // The monitoring address serves the same without sign-in, and nothing else.
    let scraped = anonymous.get(format!("http://{monitoring}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("okno_queue_requests"));
    assert_eq!(anonymous.get(format!("http://{monitoring}/api/v1/services")).send().await.unwrap().status(), 404);
}
