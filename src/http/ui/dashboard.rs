//! The dashboard: every monitor of the user at a glance, down first, with its latest checks and
//! its last day, kept current while it is open. Everything it shows comes from each monitor's
//! stored state and hourly roll-ups, never from the checks, so it costs the same however long
//! the history.

use super::charts;
use super::live::{self, Draw, LivePart, Streaming};
use super::pages::{STATUSES, page, status_label};
use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::monitor::MonitorId;
use crate::store::{MonitorSummary, RECENT_CHECKS, SUMMARY_HOURS, summary_start};
use crate::timestamp::Timestamp;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

fn rank(status: &str) -> usize {
    STATUSES
        .iter()
        .position(|(s, _)| *s == status)
        .unwrap_or(STATUSES.len())
}

#[derive(Template)]
#[template(path = "dashboard_counts.html")]
struct Counts<'a> {
    counts: &'a [(&'static str, &'static str, usize)],
    filter: &'a str,
}

#[derive(Template)]
#[template(path = "dashboard_row.html")]
struct Row<'a> {
    id: MonitorId,
    name: &'a str,
    url: &'a str,
    status: &'static str,
    status_label: &'static str,
    paused: bool,
    latency: String,
    uptime: String,
    hours: String,
    strip: String,
}

#[derive(Template)]
#[template(path = "dashboard_live.html")]
struct Live<'a> {
    counts: &'a str,
    total: usize,
    rows: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard<'a> {
    email: &'a str,
    csrf: &'a str,
    total: usize,
    query: &'a str,
    filter: &'a str,
    statuses: &'a [(&'static str, &'static str)],
    live: &'a str,
}

#[derive(Clone, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

/// The dashboard as the query filters it.
struct View {
    query: DashboardQuery,
}

/// The row of one monitor, rendered.
fn row(m: &MonitorSummary) -> Result<String, askama::Error> {
    let (up, checks) = m
        .hours
        .iter()
        .fold((0, 0), |(u, c), b| (u + b.up, c + b.checks));
    Row {
        id: m.id,
        name: &m.name,
        url: m.shown_target(),
        status: m.shown_status(),
        status_label: status_label(m.shown_status()),
        paused: m.paused,
        latency: m
            .last_latency_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_default(),
        uptime: charts::uptime(up, checks),
        hours: charts::buckets(&m.hours, "Last 24 hours"),
        strip: charts::strip(&m.recent, RECENT_CHECKS),
    }
    .render()
}

impl Draw for View {
    async fn draw(&self, state: &AppState, user: &PageUser) -> Result<LivePart, PageError> {
        Ok(self.build(state, user).await?.0)
    }
}

impl View {
    /// The live part, and how many monitors the user has.
    async fn build(
        &self,
        state: &AppState,
        user: &PageUser,
    ) -> Result<(LivePart, usize), PageError> {
        let from = summary_start(Timestamp::now());
        let mut monitors = state
            .store
            .summaries(user.user.id, from, SUMMARY_HOURS)
            .await?;
        monitors.sort_by(|a, b| {
            (rank(a.shown_status()), a.name.as_str())
                .cmp(&(rank(b.shown_status()), b.name.as_str()))
        });
        let counts: Vec<_> = STATUSES
            .iter()
            .map(|&(status, label)| {
                let n = monitors
                    .iter()
                    .filter(|m| m.shown_status() == status)
                    .count();
                (status, label, n)
            })
            .collect();
        let needle = self.query.q.trim().to_lowercase();
        let filter = self.query.status.as_str();
        let mut part = LivePart::default();
        let counts = Counts {
            counts: &counts,
            filter,
        }
        .render()?;
        part.pieces.push(("counts".into(), counts.clone()));
        for m in monitors.iter().filter(|m| {
            (filter.is_empty() || m.shown_status() == filter)
                && (needle.is_empty()
                    || m.name.to_lowercase().contains(&needle)
                    || m.shown_target().to_lowercase().contains(&needle))
        }) {
            part.shows.insert(m.id);
            let html = row(m)?;
            part.pieces.push((format!("monitor-{}", m.id), html));
        }
        part.html = Live {
            counts: &counts,
            total: monitors.len(),
            rows: &part.pieces[1..],
        }
        .render()?;
        // With no row to show, an empty list and an unmatched filter look different.
        part.shape = match (monitors.len(), part.pieces.len()) {
            (0, _) => "empty",
            (_, 1) => "unmatched",
            _ => "list",
        };
        Ok((part, monitors.len()))
    }
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<DashboardQuery>,
    Streaming(streaming): Streaming,
) -> Result<Response, PageError> {
    let view = View { query };
    if streaming {
        return Ok(live::stream(state, user, view));
    }
    let (part, total) = view.build(&state, &user).await?;
    Ok(page(
        StatusCode::OK,
        &Dashboard {
            email: user.user.email.as_str(),
            csrf: &user.csrf,
            total,
            query: &view.query.q,
            filter: &view.query.status,
            statuses: &STATUSES,
            live: &part.html,
        },
    ))
}
