//! The pages: server-rendered HTML with assets compiled into the binary, forms that work
//! without JavaScript, and a little script for niceties. Pages are for browsers with a session
//! cookie; the JSON API under `/api` never accepts that cookie.

mod account;
mod channel_form;
mod channel_kinds;
mod channels;
mod charts;
mod dashboard;
mod live;
mod monitor_page;
mod monitors;
mod pages;
pub mod session;
mod settings;

use super::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/signup", get(account::sign_up_page).post(account::sign_up))
        .route("/signout", post(account::sign_out))
        .route("/monitors", post(monitors::create))
        .route("/monitors/new", get(monitors::new_form))
        .route("/monitors/{id}", get(monitor_page::show))
        .route(
            "/monitors/{id}/edit",
            get(monitors::edit_form).post(monitors::update),
        )
        .route("/monitors/{id}/pause", post(monitors::pause))
        .route("/monitors/{id}/resume", post(monitors::resume))
        .route(
            "/monitors/{id}/delete",
            get(monitors::delete_form).post(monitors::delete),
        )
        .route("/settings", get(settings::show))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route(
            "/settings/sign-out-everywhere",
            post(settings::sign_out_everywhere),
        )
        .route("/channels", get(channels::list).post(channels::create))
        .route("/channels/new", get(channels::new_form))
        .route(
            "/channels/{id}/edit",
            get(channels::edit_form).post(channels::update),
        )
        .route("/channels/{id}/test", post(channels::test))
        .route(
            "/channels/{id}/delete",
            get(channels::delete_form).post(channels::delete),
        )
        .layer(middleware::from_fn(same_origin_posts))
        .route("/static/app.css", get(|h: HeaderMap| asset(h, &CSS)))
        .route("/static/app.js", get(|h: HeaderMap| asset(h, &JS)))
}

/// A file compiled into the binary, with its fingerprint.
struct Asset {
    content_type: &'static str,
    body: &'static str,
    etag: u64,
}

impl Asset {
    const fn new(content_type: &'static str, body: &'static str) -> Self {
        Asset {
            content_type,
            body,
            etag: fnv1a(body.as_bytes()),
        }
    }
}

const CSS: Asset = Asset::new("text/css", include_str!("../../../static/app.css"));
const JS: Asset = Asset::new("text/javascript", include_str!("../../../static/app.js"));

/// A form posted from another site is refused before it is read, whatever it carries. The
/// forgery token in each form is the second line of defence, for browsers that say nothing.
async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let headers = request.headers();
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site");
        let foreign_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
            (Some(origin), Some(host)) => origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .is_none_or(|(_, rest)| rest.as_bytes() != host.as_bytes()),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if cross_site || foreign_origin {
            return pages::problem(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so upbeat did not act on it.",
            );
        }
    }
    next.run(request).await
}

/// A compiled-in asset. Revalidated on each use (cheap: a 304 when unchanged), so a new
/// version of upbeat is never shown with the assets of the old one.
async fn asset(headers: HeaderMap, asset: &Asset) -> Response {
    let etag = format!("\"{:016x}\"", asset.etag);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response()
}

/// A fingerprint of an asset for its ETag: not a security measure, only change detection.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}
