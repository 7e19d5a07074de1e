//! The page of one monitor: its status, when its certificate expires, uptime over days and
//! months, response times, every check page by page, its incidents and the alerts it sent.
//! Uptime and response times come from the hourly roll-ups, so the page costs the same whatever
//! the length of the history. It keeps itself current while open, like the dashboard.

use super::charts;
use super::live::{self, Draw, LivePart, Streaming};
use super::pages::{Owned, page, status_label};
use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::http::actions;
use crate::http::api::ping_url;
use crate::monitor::{MonitorId, Schedule, format_duration};
use crate::store::{BucketStats, Monitor};
use crate::timestamp::{DAY_MS, HOUR_MS, Timestamp};
use crate::verdict::certificate::days_left;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::time::Duration;

/// Checks on one page of the log.
const CHECKS_PER_PAGE: u32 = 50;
/// Incidents and alerts shown.
const RECENT: u32 = 20;

/// The response-time chart's choices: name, hours shown, hours per bar.
const RANGES: [(&str, i64, i64); 3] = [("24h", 24, 1), ("7d", 168, 1), ("30d", 720, 6)];
/// Uptime windows in days, with their names.
const WINDOWS: [(&str, usize); 4] = [
    ("24 hours", 1),
    ("7 days", 7),
    ("30 days", 30),
    ("90 days", 90),
];

#[derive(Default, Deserialize)]
pub struct MonitorQuery {
    /// The response-time chart's range.
    #[serde(default)]
    range: String,
    /// Show the checks older than this instant (RFC 3339).
    #[serde(default)]
    before: String,
}

struct CheckRow {
    at: String,
    ok: bool,
    status_code: String,
    latency: String,
    error: String,
}

struct IncidentRow {
    started: String,
    ended: String,
    lasted: String,
    cause: String,
}

/// What a heartbeat's page shows instead of a URL: where to ping, and what came in.
struct HeartbeatPart {
    ping_url: String,
    /// When runs are expected, in words.
    expects: String,
    pings: Vec<PingRow>,
}

struct PingRow {
    at: String,
    kind: &'static str,
    exit_code: String,
    source: String,
    body: String,
}

struct AlertRow {
    at: String,
    kind: &'static str,
    channel: String,
    state: &'static str,
    attempts: u32,
    error: String,
}

#[derive(Template)]
#[template(path = "monitor_live.html")]
struct Live {
    csrf: String,
    id: MonitorId,
    name: String,
    url: String,
    status: &'static str,
    status_label: &'static str,
    since: Option<String>,
    interval: String,
    /// When the certificate expires, when a check has seen one.
    certificate: Option<String>,
    paused: bool,
    uptimes: Vec<(&'static str, String)>,
    days: String,
    ranges: Vec<(&'static str, bool)>,
    range: &'static str,
    chart: String,
    /// Where the time of the checks on this page went.
    phases: String,
    legend: &'static [(&'static str, &'static str)],
    checks: Vec<CheckRow>,
    newer: bool,
    older: Option<String>,
    incidents: Vec<IncidentRow>,
    alerts: Vec<AlertRow>,
    heartbeat: Option<HeartbeatPart>,
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage<'a> {
    email: &'a str,
    csrf: &'a str,
    name: &'a str,
    live: &'a str,
}

/// The page of one monitor, as its query asks.
struct View {
    id: MonitorId,
    query: MonitorQuery,
}

/// The end of the current hour: windows end there, so their buckets are whole clock hours.
fn hour_end(now: Timestamp) -> i64 {
    now.start_of(HOUR_MS).as_millis() + HOUR_MS
}

/// The short form of an instant for an axis: `11-21 14:00`.
fn axis_time(ms: i64) -> String {
    let readable = Timestamp::from_millis(ms).to_readable();
    readable.get(5..16).unwrap_or(&readable).to_owned()
}

impl View {
    async fn live(
        &self,
        state: &AppState,
        user: &PageUser,
        m: &Monitor,
    ) -> Result<Live, PageError> {
        let store = &state.store;
        let now = Timestamp::now();
        let end = hour_end(now);
        let days = store
            .buckets(
                m.id,
                Timestamp::from_millis(end - 90 * DAY_MS),
                Duration::from_millis(DAY_MS as u64),
                90,
            )
            .await?;
        let uptimes = WINDOWS
            .iter()
            .map(|&(name, n)| {
                let total = BucketStats::total(&days[days.len().saturating_sub(n)..]);
                (name, charts::uptime(total.up, total.checks))
            })
            .collect();
        let (range, hours, per_bar) = RANGES
            .into_iter()
            .find(|(name, ..)| *name == self.query.range)
            .unwrap_or(RANGES[0]);
        let from = end - hours * HOUR_MS;
        let bars = store
            .buckets(
                m.id,
                Timestamp::from_millis(from),
                Duration::from_millis((per_bar * HOUR_MS) as u64),
                u32::try_from(hours / per_bar).unwrap_or(24),
            )
            .await?;
        let before = Timestamp::parse_rfc3339(&self.query.before);
        let checks = store.checks(m.id, before, CHECKS_PER_PAGE).await?;
        let older = (checks.len() == CHECKS_PER_PAGE as usize)
            .then(|| checks.last().map(|c| c.at.to_rfc3339()))
            .flatten();
        let incidents = store.incidents(m.id, RECENT).await?;
        let heartbeat = match (m.spec.expectation(), ping_url(m, &state.public_url)) {
            (Some(expectation), Some(ping_url)) => Some(HeartbeatPart {
                ping_url,
                expects: match &expectation.schedule {
                    Schedule::Period(p) => {
                        format!("a ping every {p}, within {} grace", expectation.grace)
                    }
                    Schedule::Cron { cron, zone } => format!(
                        "a ping at \u{201c}{cron}\u{201d} ({zone} time), within {} grace",
                        expectation.grace
                    ),
                },
                pings: store
                    .pings(m.id, RECENT)
                    .await?
                    .into_iter()
                    .map(|p| PingRow {
                        at: p.at.to_readable(),
                        kind: p.kind.as_str(),
                        exit_code: p.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                        source: p.source.unwrap_or_default(),
                        body: p.body,
                    })
                    .collect(),
            }),
            _ => None,
        };
        let alerts = store
            .deliveries(user.user.id, Some(m.id), None, RECENT)
            .await?;
        Ok(Live {
            csrf: user.csrf.clone(),
            id: m.id,
            name: m.spec.name.as_str().to_owned(),
            url: m.spec.url().to_owned(),
            status: m.shown_status(),
            status_label: status_label(m.shown_status()),
            since: m.status_since.map(Timestamp::to_readable),
            interval: m.spec.interval.to_string(),
            certificate: m.cert_expires_at.map(|e| certificate_expiry(e, now)),
            paused: m.paused,
            uptimes,
            days: charts::buckets(&days, "Last 90 days"),
            ranges: RANGES.iter().map(|(r, ..)| (*r, *r == range)).collect(),
            range,
            chart: charts::latency(
                &bars,
                &format!("Response time over the last {range}"),
                &axis_time(from),
                "now",
            ),
            phases: charts::phases(&checks),
            legend: &charts::PHASES,
            checks: checks
                .into_iter()
                .map(|c| CheckRow {
                    at: c.at.to_readable(),
                    ok: c.ok(),
                    status_code: c.status_code.map(|s| s.to_string()).unwrap_or_default(),
                    latency: format!("{} ms", c.latency_ms),
                    error: c.error.map(|e| e.to_string()).unwrap_or_default(),
                })
                .collect(),
            newer: before.is_some(),
            older,
            incidents: incidents
                .into_iter()
                .map(|i| IncidentRow {
                    started: i.started_at.to_readable(),
                    ended: i
                        .ended_at
                        .map_or_else(|| "ongoing".into(), Timestamp::to_readable),
                    lasted: format_duration(Duration::from_secs(
                        i.ended_at.unwrap_or(now).since(i.started_at).as_secs(),
                    )),
                    cause: i.cause.map(|c| c.to_string()).unwrap_or_default(),
                })
                .collect(),
            heartbeat,
            alerts: alerts
                .into_iter()
                .map(|d| AlertRow {
                    at: d.sent_at.unwrap_or(d.created_at).to_readable(),
                    kind: d.kind.as_str(),
                    channel: format!("{} ({})", d.channel_name, d.channel_kind),
                    state: d.state.as_str(),
                    attempts: d.attempts,
                    error: d.last_error.unwrap_or_default(),
                })
                .collect(),
        })
    }
}

/// `Certificate expires 2027-01-30 23:59:59 UTC (in 10 days).`
fn certificate_expiry(expires: Timestamp, now: Timestamp) -> String {
    let date = expires.to_readable();
    if expires < now {
        return format!("Certificate expired {date}.");
    }
    match days_left(expires, now) {
        0 => format!("Certificate expires {date} (within a day)."),
        1 => format!("Certificate expires {date} (in 1 day)."),
        n => format!("Certificate expires {date} (in {n} days)."),
    }
}

impl Draw for View {
    async fn draw(&self, state: &AppState, user: &PageUser) -> Result<LivePart, PageError> {
        let m = actions::owned(state, user.user.id, self.id).await?;
        let html = self.live(state, user, &m).await?.render()?;
        Ok(LivePart {
            pieces: vec![("monitor-live".into(), html.clone())],
            html,
            shape: "monitor",
            shows: [m.id].into(),
        })
    }
}

pub async fn show(
    State(state): State<AppState>,
    Owned { user, item: m }: Owned<Monitor>,
    Query(query): Query<MonitorQuery>,
    Streaming(streaming): Streaming,
) -> Result<Response, PageError> {
    let view = View { id: m.id, query };
    if streaming {
        return Ok(live::stream(state, user, view));
    }
    let live = view.live(&state, &user, &m).await?.render()?;
    Ok(page(
        StatusCode::OK,
        &MonitorPage {
            email: user.user.email.as_str(),
            csrf: &user.csrf,
            name: m.spec.name.as_str(),
            live: &live,
        },
    ))
}
