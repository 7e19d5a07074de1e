//! News of what changed, for whoever is showing it: the recorder tells which monitors have new
//! results, and changes made through the API or the pages tell whose monitors changed. Pages
//! that update themselves listen here and render again when something of theirs moved.
//!
//! Lossy by design: a listener that falls behind learns that it missed news and reads
//! everything afresh, and a change with no listener costs nothing.

use crate::monitor::{MonitorId, UserId};
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// News kept for a listener that is busy rendering, at most; a slower one starts afresh.
const BACKLOG: usize = 256;

#[derive(Clone, Debug)]
pub enum Change {
    /// New results of these monitors were stored.
    Checked(Arc<[MonitorId]>),
    /// The owner added, changed, paused, resumed or deleted a monitor.
    Owner(UserId),
}

/// Cheap to clone; every clone tells and listens on the same news.
#[derive(Clone)]
pub struct Live {
    news: broadcast::Sender<Change>,
    closed: CancellationToken,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            news: broadcast::channel(BACKLOG).0,
            closed: CancellationToken::new(),
        }
    }
}

impl Live {
    pub fn tell(&self, change: Change) {
        // No listener is not an error: nobody is looking.
        let _ = self.news.send(change);
    }

    /// Whether any page is listening: news for no one need not be put together.
    pub fn is_watched(&self) -> bool {
        self.news.receiver_count() > 0
    }

    pub fn listen(&self) -> broadcast::Receiver<Change> {
        self.news.subscribe()
    }

    /// Ends every listener's wait: the service is stopping, and open pages must not hold it up.
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Completes once [`Live::close`] was called.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }
}
