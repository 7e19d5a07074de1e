//! A monitor's history through the API: latest checks, uptime buckets, and their parameters.

use crate::support::target::Target;
use crate::support::{millis, poll, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use upbeat::config::HumanDuration;

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

    // Buckets of checks (5 s), minutes, hours and days.
    for (window, buckets, width) in [
        ("24h", None, 3600),
        ("1h", Some(12), 300),
        ("1h", Some(720), 5),
        ("24h", Some(1440), 60),
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
        // Average and percentiles lie between the fastest and the slowest.
        let number = |key: &str| u[key].as_f64().unwrap_or_else(|| panic!("{key}: {u}"));
        let ordered = [
            "min_latency_ms",
            "p50_latency_ms",
            "p95_latency_ms",
            "p99_latency_ms",
            "max_latency_ms",
        ]
        .map(number);
        assert!(ordered.is_sorted(), "{u}");
        let avg = number("avg_latency_ms");
        assert!(ordered[0] <= avg && avg <= ordered[4], "{u}");
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
        ("uptime?window=24h&buckets=7", "buckets"),
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
async fn checks_and_roll_ups_past_their_retention_are_pruned_and_windows_still_count() {
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
    let mut config = app.config.clone();
    // Checks 30 days (the default), minutes 2 days, hours 365 days, days 120 days.
    config.retention.days = Some(HumanDuration(Duration::from_secs(120 * 86_400)));
    let dir = app.stop().await;
    // Checks 400, 40, 31, 29 and 1 days old, each with its minute, hour and day, written as
    // upbeat would, and rolled up.
    let db = sqlx::SqlitePool::connect(&config.database_url)
        .await
        .unwrap();
    let day = 86_400_000_i64;
    let now = upbeat::timestamp::Timestamp::now().as_millis();
    for age in [400, 40, 31, 29, 1] {
        let at = now - age * day;
        sqlx::query("INSERT INTO checks (monitor_id, at, ok, status_code, latency_ms) VALUES (?, ?, 1, 200, 5)")
            .bind(id)
            .bind(at)
            .execute(&db)
            .await
            .unwrap();
        for (table, column, ms) in [
            ("check_minutes", "minute", 60_000),
            ("check_hours", "hour", 3_600_000),
            ("check_days", "day", day),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (monitor_id, {column}, checks, up, latency_sum, latency_min, \
                 latency_max, latency_hist) VALUES (?, ?, 1, 1, 5, 5, 5, x'0501')"
            )))
            .bind(id)
            .bind(at - at % ms)
            .execute(&db)
            .await
            .unwrap();
        }
    }
    sqlx::query("UPDATE monitor_state SET rolled_until = ? WHERE monitor_id = ?")
        .bind(now - day + 1)
        .bind(id)
        .execute(&db)
        .await
        .unwrap();

    let mut app = crate::support::start(config).await;
    app.keep(dir);
    let ages = |table: &'static str, column: &'static str| {
        let db = db.clone();
        async move {
            let starts: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {column} FROM {table} WHERE monitor_id = ? ORDER BY {column} DESC"
            )))
            .bind(id)
            .fetch_all(&db)
            .await
            .unwrap();
            starts.iter().map(|s| (now - s) / day).collect::<Vec<_>>()
        }
    };
    poll(
        "the history past its retention to be pruned",
        || ages("check_days", "day"),
        |ages| ages.len() == 4,
    )
    .await;
    assert_eq!(ages("checks", "at").await, [1, 29]);
    assert_eq!(ages("check_minutes", "minute").await, [1]);
    assert_eq!(ages("check_hours", "hour").await, [1, 29, 31, 40]);
    assert_eq!(ages("check_days", "day").await, [1, 29, 31, 40]);
    db.close().await;
    // 90 days read from the hours, and from the days: both still count the pruned checks.
    for query in ["window=90d", "window=90d&buckets=90"] {
        let (_, u) = app
            .get(&format!("/api/monitors/{id}/uptime?{query}"), &token)
            .await;
        assert_eq!(u["checks"], 4, "{query}: {u}");
        assert_eq!(u["p50_latency_ms"], 5, "{query}: {u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_shows_each_of_the_callers_monitors_with_its_last_24_hours() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let id = app
        .create_monitor(&ada, json!({"url": target.url("/ok"), "interval": 1}))
        .await["id"]
        .as_i64()
        .unwrap();
    let paused = app
        .create_monitor(
            &bob,
            json!({"name": "Bob's", "url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.wait_for_checks(&ada, id, 2).await;

    let (status, s) = app.get("/api/summary", &ada).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(millis(&s["to"]) - millis(&s["from"]), 24 * 3_600_000);
    let monitors = s["monitors"].as_array().unwrap();
    assert_eq!(monitors.len(), 1, "only the caller's: {s}");
    let m = &monitors[0];
    assert_eq!((m["id"].as_i64(), &m["status"]), (Some(id), &json!("up")));
    assert_eq!(m["target"], target.url("/ok"));
    let hours = m["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let checks: u64 = hours.iter().map(|h| h["checks"].as_u64().unwrap()).sum();
    assert!(checks >= 2, "{s}");
    assert_eq!(m["checks_24h"], checks);
    assert_eq!(m["uptime_24h"], 1.0);
    assert_eq!(
        hours[23]["uptime"], 1.0,
        "the newest hour is the present one: {s}"
    );
    assert!(hours[0]["uptime"].is_null(), "{s}");

    let (_, s) = app.get("/api/summary", &bob).await;
    assert_eq!(s["monitors"][0]["id"], paused);
    assert_eq!(s["monitors"][0]["status"], "paused");
    assert_eq!(s["monitors"][0]["checks_24h"], 0);
    assert!(s["monitors"][0]["uptime_24h"].is_null(), "{s}");
}
