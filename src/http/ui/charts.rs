//! Charts drawn on the server as small inline SVG: no script draws them and no library is sent
//! to the browser. Colours come from classes in the style sheet, and every chart carries a text
//! alternative, so colour is never the only signal.
//!
//! Bars are strokes of one path per colour, which keeps a row of the dashboard to a few hundred
//! bytes even with a thousand monitors on the page.

use crate::probe::Outcome;
use crate::store::BucketStats;
use std::fmt::Write;

/// Uptime as people read it: never rounded up to 100 %, and "–" when nothing was checked.
pub fn uptime(up: u64, checks: u64) -> String {
    if checks == 0 {
        return "–".into();
    }
    if up == checks {
        return "100 %".into();
    }
    // Hundredths of a percent, rounded down: 99.999 % is not 100 %.
    let hundredths = up * 10_000 / checks;
    format!("{}.{:02} %", hundredths / 100, hundredths % 100)
}

/// The colour class of a share of successful checks.
fn health(up: u64, checks: u64) -> &'static str {
    match (up, checks) {
        (_, 0) => "none",
        (up, checks) if up == checks => "up",
        (up, checks) if up * 10 >= checks * 9 => "partial",
        _ => "down",
    }
}

/// Vertical bars sharing an SVG, grouped into one path per colour class.
struct Bars {
    paths: [(&'static str, String); 4],
    gap: u32,
    height: u32,
}

impl Bars {
    fn new(gap: u32, height: u32) -> Self {
        Bars {
            paths: ["up", "partial", "down", "none"].map(|c| (c, String::new())),
            gap,
            height,
        }
    }

    /// Bar `i`, `tall` high, coloured by `class`.
    fn bar(&mut self, i: usize, tall: u32, class: &str) {
        if let Some((_, d)) = self.paths.iter_mut().find(|(c, _)| *c == class) {
            let x = i as u32 * self.gap + self.gap / 2;
            let _ = write!(d, "M{x} {}V{}", self.height - tall, self.height);
        }
    }

    fn svg(self, class: &str, width: u32, label: &str) -> String {
        svg(class, width, self.height, label, &self.paths)
    }
}

/// An SVG image of `paths` (class, path data), named by `label` for screen readers and as a
/// tooltip.
fn svg(class: &str, width: u32, height: u32, label: &str, paths: &[(&str, String)]) -> String {
    let mut svg = format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" \
         height=\"{height}\" role=\"img\"><title>{label}</title>"
    );
    for (class, d) in paths.iter().filter(|(_, d)| !d.is_empty()) {
        let _ = write!(svg, "<path class=\"{class}\" d=\"{d}\"/>");
    }
    svg.push_str("</svg>");
    svg
}

/// The latest checks as a strip of equal bars, oldest on the left: green up, red down, grey
/// where fewer than `slots` checks exist yet. A run of bars of one colour is one dashed line
/// (the style sheet dashes `.run` paths into bars), so the usual strip, all up, is one segment.
pub fn strip(recent: &[bool], slots: usize) -> String {
    let shown = &recent[recent.len().saturating_sub(slots)..];
    let blank = slots - shown.len();
    let class_at = |i: usize| match i.checked_sub(blank).map(|i| shown[i]) {
        None => 2,
        Some(true) => 0,
        Some(false) => 1,
    };
    let mut paths = [
        ("run up", String::new()),
        ("run down", String::new()),
        ("run none", String::new()),
    ];
    let mut start = 0;
    for i in 1..=slots {
        if i == slots || class_at(i) != class_at(start) {
            let _ = write!(
                paths[class_at(start)].1,
                "M{} 8h{}",
                start * 4,
                (i - start) * 4
            );
            start = i;
        }
    }
    let up = shown.iter().filter(|&&ok| ok).count();
    let label = format!(
        "Last {} checks: {up} up, {} down",
        shown.len(),
        shown.len() - up
    );
    svg("strip", slots as u32 * 4, 16, &label, &paths)
}

/// One bar per bucket, oldest on the left, as tall as its average response time and coloured
/// by its uptime; `label` says what the buckets are ("Last 24 hours").
pub fn buckets(buckets: &[BucketStats], label: &str) -> String {
    let mut bars = Bars::new(4, 16);
    let average = |b: &BucketStats| b.average_ms().unwrap_or(0);
    let highest = buckets.iter().map(average).max().unwrap_or(0).max(1);
    for (i, b) in buckets.iter().enumerate() {
        let class = health(b.up, b.checks);
        // Mostly failed checks say little of speed, and must stand out: drawn full, like the
        // hours with no check at all.
        let tall = match class {
            "up" | "partial" => (average(b) * 13 / highest) as u32 + 3,
            _ => 16,
        };
        bars.bar(i, tall, class);
    }
    let (up, checks) = buckets
        .iter()
        .fold((0, 0), |(u, c), b| (u + b.up, c + b.checks));
    let label = format!("{label}: {} up", uptime(up, checks));
    bars.svg("hours", buckets.len() as u32 * 4, &label)
}

/// The smallest round number (1, 2 or 5 times a power of ten) at least `n`.
fn round_up(n: u32) -> u32 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= n {
                return step * m;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Response times per bucket, oldest on the left: a band from the fastest to the slowest
/// successful check, a line through the averages, and a red mark under each bucket with failed
/// checks. `from` and `to` label the ends of the time axis.
pub fn latency(buckets: &[BucketStats], label: &str, from: &str, to: &str) -> String {
    const W: u32 = 640;
    const H: u32 = 180;
    const LEFT: u32 = 52;
    const TOP: u32 = 8;
    const PLOT: u32 = 140;
    let top = buckets
        .iter()
        .filter_map(|b| b.latency_max_ms)
        .max()
        .map_or(100, |ms| round_up(ms.max(10)));
    let slot = f64::from(W - LEFT - 4) / buckets.len().max(1) as f64;
    let y =
        |ms: u32| f64::from(TOP + PLOT) - f64::from(ms.min(top)) * f64::from(PLOT) / f64::from(top);
    let (mut band, mut line, mut failed) = (String::new(), String::new(), String::new());
    let mut pen_down = false;
    for (i, b) in buckets.iter().enumerate() {
        let x0 = f64::from(LEFT) + slot * i as f64;
        let mid = x0 + slot / 2.0;
        if let (Some(lo), Some(hi), Some(avg)) =
            (b.latency_min_ms, b.latency_max_ms, b.average_ms())
        {
            let _ = write!(
                band,
                "M{x0:.1} {:.1}H{:.1}V{:.1}H{x0:.1}Z",
                y(hi),
                x0 + slot,
                y(lo)
            );
            let avg = u32::try_from(avg).unwrap_or(u32::MAX);
            let _ = write!(
                line,
                "{}{mid:.1} {:.1}",
                if pen_down { "L" } else { "M" },
                y(avg)
            );
            pen_down = true;
        } else {
            pen_down = false;
        }
        if b.up < b.checks {
            let _ = write!(failed, "M{x0:.1} {}h{:.1}", TOP + PLOT + 4, slot.max(1.0));
        }
    }
    let total = BucketStats::total(buckets);
    let summary = match (
        total.average_ms(),
        total.latency_min_ms,
        total.latency_max_ms,
    ) {
        (Some(avg), Some(lo), Some(hi)) => {
            let p95 = total
                .percentile_ms(95)
                .map(|p| format!(", 95% within {p} ms"))
                .unwrap_or_default();
            format!("{label}: average {avg} ms{p95}, fastest {lo} ms, slowest {hi} ms")
        }
        _ if total.checks > 0 => format!("{label}: no successful check"),
        _ => format!("{label}: no check"),
    };
    let mut svg = format!(
        "<svg class=\"latency\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{summary}</title>"
    );
    for (ms, at) in [(top, y(top)), (top / 2, y(top / 2)), (0, y(0))] {
        let _ = write!(
            svg,
            "<path class=\"grid\" d=\"M{LEFT} {at:.1}H{}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{ms} ms</text>",
            W - 4,
            LEFT - 6,
            at + 4.0
        );
    }
    for (class, d) in [("band", &band), ("avg", &line), ("failed", &failed)] {
        if !d.is_empty() {
            let _ = write!(svg, "<path class=\"{class}\" d=\"{d}\"/>");
        }
    }
    let _ = write!(
        svg,
        "<text class=\"axis\" x=\"{LEFT}\" y=\"{}\">{from}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{to}</text></svg>",
        H - 4,
        W - 4,
        H - 4
    );
    svg
}

/// The steps of a check, as the phase chart names and colours them.
pub const PHASES: [(&str, &str); 5] = [
    ("p-dns", "DNS lookup"),
    ("p-connect", "Connect"),
    ("p-tls", "TLS handshake"),
    ("p-ttfb", "Time to first byte"),
    ("p-transfer", "Transfer"),
];

/// Where the time of each check went, oldest on the left: a bar per check, stacked from its
/// first step at the bottom to its last at the top.
pub fn phases(checks: &[Outcome]) -> String {
    const W: u32 = 640;
    const H: u32 = 150;
    const LEFT: u32 = 52;
    const TOP: u32 = 8;
    const PLOT: u32 = 130;
    let steps = |o: &Outcome| {
        let p = o.phases;
        [p.dns_ms, p.connect_ms, p.tls_ms, p.ttfb_ms, p.transfer_ms].map(|ms| ms.unwrap_or(0))
    };
    let top = round_up(
        checks
            .iter()
            .map(|o| steps(o).iter().sum::<u32>())
            .max()
            .unwrap_or(0)
            .max(10),
    );
    let scale = f64::from(PLOT) / f64::from(top);
    let slot = f64::from(W - LEFT - 4) / checks.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut paths = PHASES.map(|(class, _)| (class, String::new()));
    for (i, check) in checks.iter().rev().enumerate() {
        let x = f64::from(LEFT) + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = f64::from(TOP + PLOT);
        for (step, ms) in steps(check).into_iter().enumerate() {
            let tall = f64::from(ms.min(top)) * scale;
            if tall > 0.0 {
                let _ = write!(
                    paths[step].1,
                    "M{x:.1} {:.1}h{bar:.1}v{tall:.1}h-{bar:.1}z",
                    base - tall
                );
                base -= tall;
            }
        }
    }
    let label = format!(
        "Where the time of the last {} checks went, step by step",
        checks.len()
    );
    let mut svg = format!(
        "<svg class=\"latency\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{label}</title>"
    );
    for (ms, at) in [(top, TOP), (0, TOP + PLOT)] {
        let _ = write!(
            svg,
            "<path class=\"grid\" d=\"M{LEFT} {at}H{}\"/>\
             <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{ms} ms</text>",
            W - 4,
            LEFT - 6,
            at + 4
        );
    }
    for (class, d) in paths.iter().filter(|(_, d)| !d.is_empty()) {
        let _ = write!(svg, "<path class=\"{class}\" d=\"{d}\"/>");
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_never_rounded_up() {
        assert_eq!(uptime(0, 0), "–");
        assert_eq!(uptime(5, 5), "100 %");
        assert_eq!(uptime(99_999, 100_000), "99.99 %");
        assert_eq!(uptime(1, 3), "33.33 %");
        assert_eq!(uptime(0, 7), "0.00 %");
    }

    #[test]
    fn the_strip_pads_the_oldest_side_and_says_what_it_shows() {
        let svg = strip(&[true, false, true, true], 6);
        assert!(
            svg.contains("<title>Last 4 checks: 3 up, 1 down</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<path class=\"run none\" d=\"M0 8h8\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<path class=\"run up\" d=\"M8 8h4M16 8h8\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<path class=\"run down\" d=\"M12 8h4\"/>"),
            "{svg}"
        );
    }

    #[test]
    fn phases_stack_from_the_first_step_up() {
        let mut check = Outcome {
            at: crate::timestamp::Timestamp::from_millis(0),
            status_code: Some(200),
            latency_ms: 100,
            error: None,
            phases: crate::probe::Phases {
                dns_ms: None,
                connect_ms: Some(10),
                tls_ms: None,
                ttfb_ms: Some(80),
                transfer_ms: Some(10),
            },
            cert_expires_at: None,
        };
        let svg = phases(&[check.clone()]);
        // 100 ms is the top: 130 pixels, so 13 for 10 ms, stacked upwards from y = 138.
        assert!(svg.contains("<path class=\"p-connect\" d=\"M"), "{svg}");
        assert!(svg.contains(" 125.0h"), "{svg}");
        assert!(svg.contains(" 21.0h"), "{svg}");
        assert!(!svg.contains("p-dns") && !svg.contains("p-tls"), "{svg}");
        assert!(svg.contains(">100 ms</text>"), "{svg}");
        check.phases = Default::default();
        assert!(!phases(&[check]).contains("p-"), "nothing to stack");
    }

    #[test]
    fn latency_axes_end_on_round_numbers() {
        assert_eq!(round_up(0), 1);
        assert_eq!(round_up(1), 1);
        assert_eq!(round_up(3), 5);
        assert_eq!(round_up(120), 200);
        assert_eq!(round_up(501), 1000);
    }

    #[test]
    fn the_latency_chart_says_what_it_shows_and_marks_failures() {
        let b = |checks: &[(bool, u32)]| {
            let mut b = BucketStats::default();
            for &(ok, ms) in checks {
                b.add(ok, ms);
            }
            b
        };
        let svg = latency(
            &[
                b(&[(true, 40), (true, 60)]),
                b(&[]),
                b(&[(true, 90), (false, 0)]),
            ],
            "Last 3 hours",
            "12:00",
            "now",
        );
        assert!(
            svg.contains(
                "<title>Last 3 hours: average 63 ms, 95% within 90 ms, fastest 40 ms, slowest 90 ms</title>"
            ),
            "{svg}"
        );
        assert!(svg.contains(">100 ms</text>"), "{svg}");
        // The line breaks over the bucket with no check: two pieces, each starting with M.
        let line = svg.split("class=\"avg\" d=\"").nth(1).unwrap();
        assert_eq!(
            line.split('"').next().unwrap().matches('M').count(),
            2,
            "{svg}"
        );
        assert_eq!(svg.matches("class=\"failed\"").count(), 1, "{svg}");
        assert!(
            latency(&[b(&[(false, 0); 3])], "Day", "a", "b").contains("Day: no successful check")
        );
    }

    #[test]
    fn the_strip_keeps_the_newest_when_given_too_many() {
        let svg = strip(&[false, true, true], 2);
        assert!(!svg.contains("down\""), "{svg}");
        assert!(
            svg.contains("<title>Last 2 checks: 2 up, 0 down</title>"),
            "{svg}"
        );
    }

    #[test]
    fn buckets_are_coloured_by_uptime_and_sized_by_speed() {
        let b = |checks, up, sum| BucketStats {
            checks,
            up,
            up_latency_sum_ms: sum,
            ..BucketStats::default()
        };
        let svg = buckets(
            &[b(0, 0, 0), b(10, 10, 1000), b(10, 9, 450), b(10, 1, 10)],
            "Last 4 hours",
        );
        assert!(
            svg.contains("<title>Last 4 hours: 66.66 % up</title>"),
            "{svg}"
        );
        // 100 ms average is the highest: full height; 50 ms is half of the 13 pixels above 3.
        assert!(svg.contains("<path class=\"up\" d=\"M6 0V16\"/>"), "{svg}");
        assert!(
            svg.contains("<path class=\"partial\" d=\"M10 7V16\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<path class=\"down\" d=\"M14 0V16\"/>"),
            "{svg}"
        );
        assert!(
            svg.contains("<path class=\"none\" d=\"M2 0V16\"/>"),
            "{svg}"
        );
    }
}
