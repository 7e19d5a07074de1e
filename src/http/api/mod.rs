//! The JSON API under `/api`, one module per resource.

mod accounts;
mod alerts;
mod channels;
mod history;
mod monitors;
mod views;

use super::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(monitors::router())
        .merge(history::router())
        .merge(channels::router())
        .merge(alerts::router())
}
