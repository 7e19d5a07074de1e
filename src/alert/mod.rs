//! Alerts: where they go (channels), what they say (messages), and their delivery from the
//! outbox (the dispatcher), one module per kind of destination.

pub mod channel;
pub mod dispatcher;
pub mod message;
pub mod send;

mod discord;
pub mod email;
mod ntfy;
mod pagerduty;
mod slack;
mod teams;
mod telegram;
mod webhook;
