//! `/ping/{token}`: where a heartbeat monitor's job reports, with no login. The token is the only
//! credential and the answers reveal nothing but whether it was taken: "OK" or a plain 404.
//! The ping moves the monitor's deadline (the scheduler's), is stored and, for an end of a run,
//! becomes an outcome for the recorder; judging it is the verdict's.

use super::AppState;
use crate::scheduler::heartbeat;
use crate::store::{Ping, PingKind};
use crate::timestamp::Timestamp;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ping/{token}", any(success))
        .route("/ping/{token}/{what}", any(report))
}

async fn success(
    state: State<AppState>,
    Path(token): Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    received(
        state,
        token,
        Some((PingKind::Success, None)),
        peer,
        headers,
        body,
    )
    .await
}

async fn report(
    state: State<AppState>,
    Path((token, what)): Path<(String, String)>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    received(state, token, parse_report(&what), peer, headers, body).await
}

/// `start`, `fail`, or an exit code: 0 is success, 1 to 255 failure.
fn parse_report(what: &str) -> Option<(PingKind, Option<u8>)> {
    match what {
        "start" => Some((PingKind::Start, None)),
        "fail" => Some((PingKind::Fail, None)),
        // Digits only: `+1` is no exit code a shell gives.
        code if !code.bytes().all(|b| b.is_ascii_digit()) => None,
        code => match code.parse::<u8>().ok()? {
            0 => Some((PingKind::Success, Some(0))),
            n => Some((PingKind::Fail, Some(n))),
        },
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn received(
    State(state): State<AppState>,
    token: String,
    report: Option<(PingKind, Option<u8>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let not_found = || plain(StatusCode::NOT_FOUND, "not found\n");
    let Some((kind, exit_code)) = report else {
        return not_found();
    };
    // Before the look-up, so that a flood costs the database nothing.
    if state.pings.check(&token).is_err() {
        return plain(StatusCode::TOO_MANY_REQUESTS, "too many pings\n");
    }
    let target = match state.store.ping_target(&token).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "looking up a ping token failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let kept = &body[..body.len().min(Ping::MAX_BODY_BYTES)];
    let ping = Ping {
        at: Timestamp::now(),
        kind,
        exit_code,
        body: String::from_utf8_lossy(kept).into_owned(),
        source: Some(peer.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    };
    // The deadline moves before the ping is stored: a slow or failing database never makes a
    // heartbeat late.
    if !target.paused {
        state.scheduler.pinged(target.id, ping.kind, ping.at);
    }
    let stored = state.store.record_ping(target.id, &ping).await;
    if !target.paused {
        // The end of a run counts even if its ping could not be stored; without the ping
        // before it, its duration is unknown.
        let before = stored.as_ref().copied().unwrap_or_default();
        if let Some(outcome) = heartbeat::outcome(&ping, before) {
            state.recorder.submit(target.id, &target.spec, outcome);
        }
    }
    match stored {
        Ok(_) => plain(StatusCode::OK, "OK\n"),
        Err(e) => {
            tracing::error!(monitor = %target.id, error = %e, "storing a ping failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_zero_succeed_and_the_rest_fail() {
        assert_eq!(parse_report("0"), Some((PingKind::Success, Some(0))));
        assert_eq!(parse_report("3"), Some((PingKind::Fail, Some(3))));
        assert_eq!(parse_report("255"), Some((PingKind::Fail, Some(255))));
        assert_eq!(parse_report("fail"), Some((PingKind::Fail, None)));
        assert_eq!(parse_report("start"), Some((PingKind::Start, None)));
        for bad in ["256", "-1", "x", "", "+1"] {
            assert_eq!(parse_report(bad), None, "{bad}");
        }
    }
}
