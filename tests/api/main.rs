//! The service tested from outside, as its users meet it: the real server on loopback with a
//! fresh SQLite database per test, checking real servers the tests control.

mod support;

mod accounts;
mod alerts;
mod certificate_alerts;
mod channel_pages;
mod channels;
mod delivery;
mod heartbeats;
mod history;
mod kinds;
mod live;
mod metrics;
mod monitors;
mod ownership;
mod pages;
mod probes;
mod robustness;
mod scheduling;
mod server;
mod sessions;
mod settings_pages;
mod status;
mod tokens;
