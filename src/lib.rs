//! upbeat: self-hosted uptime monitoring. A check travels schedule → probe → verdict → record →
//! show; each step has its own module, wired together in [`app`].

#![forbid(unsafe_code)]

pub mod account;
pub mod alert;
pub mod api_token;
pub mod app;
pub mod config;
pub mod fields;
pub mod http;
pub mod live;
pub mod metrics;
pub mod monitor;
pub mod probe;
pub mod recorder;
pub mod retention;
pub mod scheduler;
pub mod secret;
pub mod store;
pub mod timestamp;
pub mod tls;
pub mod verdict;
