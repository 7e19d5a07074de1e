//! One ping check: resolve the host, send the monitor's echo requests, and fail when more were
//! lost than it allows. The round trip is the check's latency.

use super::connection::{self, Progress};
use super::ping::{self, PingError};
use super::{CheckError, ErrorKind, Failure, Observed};
use crate::monitor::PingSettings;
use std::time::Duration;

/// Echo requests are spaced by this, or less when the timeout is short.
const SPACING: Duration = Duration::from_millis(200);
/// The report is taken this long before the timeout, so the check can say what was lost.
const GIVE_UP_EARLY: Duration = Duration::from_millis(20);

pub(super) async fn check(
    settings: &PingSettings,
    ways: &super::Ways<'_>,
    progress: &Progress,
) -> Result<Observed, Failure> {
    let (addrs, _) = connection::addresses(&settings.host, ways.resolver, progress).await?;
    // The resolver lists IPv4 first, the address a ping reaches most often, and never returns
    // an empty list.
    let Some(&ip) = addrs.first() else {
        return Err(CheckError::new(ErrorKind::Dns, "the host has no addresses").into());
    };
    // Echo requests have no steps worth timing: their round trip is the latency.
    progress.leave();
    let spacing = SPACING.min(ways.timeout / (u32::from(settings.packets) + 1));
    let report = ping::ping(ip, settings.packets, spacing, ways.deadline - GIVE_UP_EARLY)
        .await
        .map_err(|e| match e {
            PingError::Local(why) => Failure::Local(why),
            other => Failure::Local(other.to_string()),
        })?;
    progress.leave();
    let lost = report.sent.saturating_sub(report.received);
    let loss = report.loss_percent();
    if loss > f64::from(settings.max_loss_percent) || report.received == 0 {
        let why = report.problem.map(|p| format!(": {p}")).unwrap_or_default();
        return Err(CheckError::new(
            ErrorKind::Loss,
            format!(
                "{lost} of {} echo requests to {ip} lost ({loss:.0}%, at most {}% allowed){why}",
                report.sent, settings.max_loss_percent
            ),
        )
        .into());
    }
    Ok(Observed {
        latency: report.rtt.map(|rtt| rtt.avg),
        ..Observed::default()
    })
}
