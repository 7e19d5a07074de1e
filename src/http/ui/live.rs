//! Pages that keep themselves current. A page asked for with `Accept: text/event-stream` (what
//! the browser's `EventSource` sends for the page's own address) answers with server-sent events
//! instead: its live part rendered afresh whenever something it shows has changed, at most once
//! a second. When the part's layout is unchanged only the pieces that differ are sent, so a
//! thousand monitors on a page cost a few rows per update, not the whole list.
//!
//! The script replaces the part (`page` events) or the pieces by their ids (`pieces` events).

use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::live::Change;
use crate::monitor::MonitorId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// An open page is rendered again at most this often, however fast results arrive.
const MIN_GAP: Duration = Duration::from_secs(1);

/// Whether a page request asks for the page's updates rather than the page.
pub struct Streaming(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Streaming {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Streaming(parts.headers.get_all(header::ACCEPT).iter().any(
            |v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")),
        )))
    }
}

/// A page's live part: its whole HTML, and the pieces it is made of that can change alone,
/// each the HTML of an element with the given id, in the order they appear.
#[derive(Default)]
pub struct LivePart {
    pub html: String,
    pub pieces: Vec<(String, String)>,
    /// What the part looks like around its pieces: with the pieces' ids, it tells whether an
    /// update can replace pieces or must replace the whole part.
    pub shape: &'static str,
    /// The monitors whose results change what the part shows.
    pub shows: HashSet<MonitorId>,
}

/// How a page's live part is drawn.
pub trait Draw: Send + Sync + 'static {
    fn draw(
        &self,
        state: &AppState,
        user: &PageUser,
    ) -> impl Future<Output = Result<LivePart, PageError>> + Send;
}

/// What an open page was last sent.
struct Feed<D> {
    state: AppState,
    user: PageUser,
    draw: D,
    news: tokio::sync::broadcast::Receiver<Change>,
    shows: HashSet<MonitorId>,
    /// The shape and the ids of the pieces in order, and a fingerprint of each piece.
    layout: (&'static str, Vec<String>),
    sent: HashMap<String, u64>,
    drawn_at: Option<Instant>,
}

fn fingerprint(html: &str) -> u64 {
    let mut h = DefaultHasher::new();
    html.hash(&mut h);
    h.finish()
}

/// SSE forbids carriage returns in data; HTML does not need them.
fn event(name: &str, html: &str) -> Event {
    Event::default().event(name).data(html.replace('\r', ""))
}

impl<D: Draw> Feed<D> {
    /// Waits for news that concerns the page; `false` when the service is stopping.
    async fn news(&mut self) -> bool {
        loop {
            let change = tokio::select! {
                () = self.state.live.closed() => return false,
                change = self.news.recv() => change,
            };
            let concerns = match change {
                Ok(Change::Owner(owner)) => owner == self.user.user.id,
                Ok(Change::Checked(ids)) => ids.iter().any(|id| self.shows.contains(id)),
                // Missed news may have been anyone's: look again.
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return false,
            };
            if concerns {
                return true;
            }
        }
    }

    /// The next event for the page; `None` ends the stream (the browser then asks again, and
    /// a session that has ended gets the sign-in page instead, which closes it).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(drawn_at) = self.drawn_at {
                if !self.news().await {
                    return None;
                }
                tokio::select! {
                    () = self.state.live.closed() => return None,
                    () = tokio::time::sleep_until(drawn_at + MIN_GAP) => {}
                }
                // Whatever else arrived meanwhile is in the drawing about to be made.
                while !matches!(
                    self.news.try_recv(),
                    Err(tokio::sync::broadcast::error::TryRecvError::Empty
                        | tokio::sync::broadcast::error::TryRecvError::Closed)
                ) {}
            }
            if !self.user.is_current(&*self.state.store).await {
                return None;
            }
            let part = match self.draw.draw(&self.state, &self.user).await {
                Ok(part) => part,
                Err(_) => return None,
            };
            self.drawn_at = Some(Instant::now());
            let event = self.changes(&part);
            self.shows = part.shows;
            if let Some(event) = event {
                return Some((Ok(event), self));
            }
        }
    }

    /// What the page needs to show `part`, given what it was sent before.
    fn changes(&mut self, part: &LivePart) -> Option<Event> {
        let layout = (
            part.shape,
            part.pieces.iter().map(|(id, _)| id.clone()).collect(),
        );
        let fingerprints: HashMap<String, u64> = part
            .pieces
            .iter()
            .map(|(id, html)| (id.clone(), fingerprint(html)))
            .collect();
        let event = if layout != self.layout {
            Some(event("page", &part.html))
        } else {
            let changed: String = part
                .pieces
                .iter()
                .filter(|(id, _)| self.sent.get(id) != fingerprints.get(id))
                .map(|(_, html)| html.as_str())
                .collect();
            (!changed.is_empty()).then(|| event("pieces", &changed))
        };
        self.layout = layout;
        self.sent = fingerprints;
        event
    }
}

/// The stream of a page's updates, starting with its live part as it is now.
pub fn stream(state: AppState, user: PageUser, draw: impl Draw) -> Response {
    let feed = Feed {
        news: state.live.listen(),
        state,
        user,
        draw,
        shows: HashSet::new(),
        layout: ("", Vec::new()),
        sent: HashMap::new(),
        drawn_at: None,
    };
    let mut response = Sse::new(futures_util::stream::unfold(feed, Feed::next))
        .keep_alive(KeepAlive::default())
        .into_response();
    // Proxies that buffer answers would hold the updates back.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
