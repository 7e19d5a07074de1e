//! A monitor's history through the API: latest checks, uptime buckets, and their parameters.

use crate::support::target::Target;
use crate::support::{millis, poll, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_come_newest_first_and_page_with_before() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(&token, json!({"url": target.url("/ok"), "interval": 1}))
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_checks(&token, id, 4).await;

    let (status, page) = app
        .get(&format!("/api/monitors/{id}/checks?limit=2"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert!(millis(&page[0]["at"]) > millis(&page[1]["at"]));
    for field in ["at", "ok", "status_code", "latency_ms", "error"] {
        assert!(page[0].get(field).is_some(), "{field}");
    }

    let before = page[1]["at"].as_str().unwrap();
    let (_, older) = app
        .get(
            &format!(
                "/api/monitors/{id}/checks?limit=2&before={}",
                before.replace('+', "%2B")
            ),
            &token,
        )
        .await;
    let older = older.as_array().unwrap();
    assert!(!older.is_empty());
    assert!(
        older
            .iter()
            .all(|c| millis(&c["at"]) < millis(&page[1]["at"]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uptime_comes_in_equal_buckets_that_add_up() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(&token, json!({"url": target.url("/ok"), "interval": 1}))
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_checks(&token, id, 3).await;

    for (window, buckets, width) in [
        ("24h", None, 3600),
        ("1h", Some(12), 300),
        ("7d", Some(7), 86_400),
        ("90d", None, 90 * 3600),
    ] {
        let query = match buckets {
            Some(b) => format!("window={window}&buckets={b}"),
            None => format!("window={window}"),
        };
        let (status, u) = app
            .get(&format!("/api/monitors/{id}/uptime?{query}"), &token)
            .await;
        assert_eq!(status, StatusCode::OK, "{u}");
        assert_eq!(u["window"], window);
        assert_eq!(u["bucket_seconds"], width);
        let list = u["buckets"].as_array().unwrap();
        assert_eq!(list.len(), buckets.unwrap_or(24) as usize);
        for pair in list.windows(2) {
            assert_eq!(
                millis(&pair[1]["start"]) - millis(&pair[0]["start"]),
                width * 1000
            );
        }
        let total: u64 = list.iter().map(|b| b["checks"].as_u64().unwrap()).sum();
        assert_eq!(u["checks"].as_u64().unwrap(), total);
        assert!(total >= 3, "{window}: {u}");
        assert_eq!(u["uptime"], 1.0);
        let newest = list.last().unwrap();
        let now = upbeat::timestamp::Timestamp::now().as_millis();
        let start = millis(&newest["start"]);
        assert!(
            start <= now && now < start + width * 1000,
            "the newest bucket holds the present: {u}"
        );
        assert!(list[0]["uptime"].is_null(), "no checks, no uptime: {u}");
        assert!(list[0]["min_latency_ms"].is_null(), "{u}");
        // Raw checks (1h) and hourly roll-ups (the rest) agree on the fastest and slowest.
        let (min, max) = (u["min_latency_ms"].as_u64(), u["max_latency_ms"].as_u64());
        let avg = u["avg_latency_ms"].as_f64().unwrap();
        assert!(
            matches!((min, max), (Some(lo), Some(hi)) if lo as f64 <= avg && avg <= hi as f64),
            "{u}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_history_parameters_are_refused_naming_them() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    for (query, field) in [
        ("checks?limit=0", "limit"),
        ("checks?limit=1001", "limit"),
        ("checks?limit=many", "limit"),
        ("checks?before=yesterday", "before"),
        ("uptime?window=2h", "window"),
        ("uptime?buckets=0", "buckets"),
        ("uptime?window=1h&buckets=7200", "buckets"),
        ("uptime?window=90d&buckets=1000", "buckets"),
    ] {
        let (status, err) = app
            .get(&format!("/api/monitors/{id}/{query}"), &token)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {err}");
        assert_eq!(err["error"]["field"], field, "{query}");
    }
    let (status, checks) = app
        .get(&format!("/api/monitors/{id}/checks?limit=1000"), &token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(checks, json!([]));
}

/// Checks older than `retention.checks` (30 days by default) are deleted in the background;
/// their hourly roll-ups stay, so uptime over 90 days still counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_past_their_retention_are_pruned_and_their_roll_ups_kept() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let id = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "interval": "1h", "paused": true}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let config = app.config.clone();
    let dir = app.stop().await;
    // Checks 40, 31, 29 and 1 days old, each with its hour's roll-up, written as upbeat would.
    let db = sqlx::SqlitePool::connect(&config.database_url)
        .await
        .unwrap();
    let day = 86_400_000_i64;
    let now = upbeat::timestamp::Timestamp::now().as_millis();
    for age in [40, 31, 29, 1] {
        let at = now - age * day;
        sqlx::query("INSERT INTO checks (monitor_id, at, ok, status_code, latency_ms) VALUES (?, ?, 1, 200, 5)")
            .bind(id)
            .bind(at)
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO check_hours (monitor_id, hour, checks, up, latency_sum, latency_min, latency_max) \
             VALUES (?, ?, 1, 1, 5, 5, 5)",
        )
        .bind(id)
        .bind(at - at % 3_600_000)
        .execute(&db)
        .await
        .unwrap();
    }
    db.close().await;

    let mut app = crate::support::start(config).await;
    app.keep(dir);
    let path = format!("/api/monitors/{id}/checks?limit=100");
    let kept = poll(
        "the checks past 30 days to be pruned",
        || async { app.get(&path, &token).await.1 },
        |c| c.as_array().is_some_and(|c| c.len() == 2),
    )
    .await;
    let ages: Vec<i64> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (now - millis(&c["at"])) / day)
        .collect();
    assert_eq!(ages, [1, 29]);
    let (_, u) = app
        .get(&format!("/api/monitors/{id}/uptime?window=90d"), &token)
        .await;
    assert_eq!(u["checks"], 4, "the roll-ups of pruned checks stay: {u}");
}
