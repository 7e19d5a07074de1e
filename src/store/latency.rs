//! The distribution of a period's latencies, kept with its roll-up so percentiles over any
//! window merge a few rows instead of reading every check. Pure: no I/O.
//!
//! Latencies below 16 ms are counted exactly; above, each power of two is split into eight
//! buckets, so a percentile is off by at most 1/16 of its value. The stored form lists the
//! buckets in use, each as its index (one byte) and its count (LEB128), a few bytes per period.

/// Latencies below this are their own bucket.
const EXACT_BELOW: u32 = 16;
/// Buckets per power of two above [`EXACT_BELOW`], as a power of two.
const SUB_BITS: u32 = 3;

/// Counts of latencies per bucket, in bucket order, without empty buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram(Vec<(u8, u64)>);

/// The bucket a latency falls in.
fn bucket_of(ms: u32) -> u8 {
    if ms < EXACT_BELOW {
        return ms as u8;
    }
    let power = 31 - ms.leading_zeros(); // at least 4
    let sub = (ms >> (power - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    (EXACT_BELOW + ((power - 4) << SUB_BITS) + sub) as u8
}

/// The latencies a bucket holds, first and last.
fn bounds_of(bucket: u8) -> (u32, u32) {
    let b = u32::from(bucket);
    if b < EXACT_BELOW {
        return (b, b);
    }
    let power = (b - EXACT_BELOW) / (1 << SUB_BITS) + 4;
    let sub = (b - EXACT_BELOW) % (1 << SUB_BITS);
    let shift = power - SUB_BITS;
    let low = ((1 << SUB_BITS) + sub) << shift;
    (low, low + ((1 << shift) - 1))
}

impl LatencyHistogram {
    /// The distribution of `latencies`.
    pub fn of(latencies: impl IntoIterator<Item = u32>) -> Self {
        let mut h = LatencyHistogram::default();
        for ms in latencies {
            h.add(ms);
        }
        h
    }

    /// Counts one more latency.
    pub fn add(&mut self, ms: u32) {
        let bucket = bucket_of(ms);
        match self.0.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (bucket, 1)),
        }
    }

    /// Both distributions together.
    pub fn merge(&self, other: &LatencyHistogram) -> LatencyHistogram {
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()));
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(x, n)), Some(&&(y, m))) if x == y => {
                    a.next();
                    b.next();
                    (x, n + m)
                }
                (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            out.push(next);
        }
        LatencyHistogram(out)
    }

    /// How many latencies are counted.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|&(_, n)| n).sum()
    }

    /// The latency below or at which `percent` of the counted ones fall (nearest rank), as
    /// the middle of its bucket, kept within the exact `min` and `max` of the same latencies.
    pub fn percentile(&self, percent: u8, min: u32, max: u32) -> Option<u32> {
        let total = self.count();
        let rank = (total * u64::from(percent)).div_ceil(100).max(1);
        let mut seen = 0;
        let &(bucket, _) = self.0.iter().find(|&&(_, n)| {
            seen += n;
            seen >= rank
        })?;
        let (low, high) = bounds_of(bucket);
        Some((low + (high - low) / 2).clamp(min, max.max(min)))
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 3);
        for &(bucket, mut n) in &self.0 {
            out.push(bucket);
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }

    /// Reads the stored form; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut out = Vec::new();
        let mut rest = bytes.iter();
        while let Some(&bucket) = rest.next() {
            let mut n: u64 = 0;
            for shift in (0..64).step_by(7) {
                let byte = *rest.next()?;
                n |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            // Buckets are stored in order, each once, never empty.
            if n == 0 || out.last().is_some_and(|&(b, _)| b >= bucket) {
                return None;
            }
            out.push((bucket, n));
        }
        Some(LatencyHistogram(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_latency_falls_in_a_bucket_that_holds_it() {
        let samples = (0..5000).chain([65_535, 65_536, 1 << 20, u32::MAX - 1, u32::MAX]);
        for ms in samples {
            let (low, high) = bounds_of(bucket_of(ms));
            assert!(low <= ms && ms <= high, "{ms} in {low}..={high}");
            // At most 1/16 of the value away from the bucket's middle.
            assert!(
                u64::from(high - low) * 8 <= u64::from(ms),
                "{ms}: {low}..={high}"
            );
        }
        assert_eq!(bucket_of(u32::MAX), 239);
    }

    #[test]
    fn buckets_follow_each_other_without_gaps() {
        for b in 0..239u8 {
            assert_eq!(bounds_of(b).1 + 1, bounds_of(b + 1).0, "after bucket {b}");
        }
    }

    #[test]
    fn percentiles_are_exact_below_16_ms_and_close_above() {
        let small = LatencyHistogram::of(1..=10);
        assert_eq!(small.percentile(50, 1, 10), Some(5));
        assert_eq!(small.percentile(95, 1, 10), Some(10));
        assert_eq!(small.percentile(0, 1, 10), Some(1));

        // 1..=1000 ms: p50 is 500, p95 950, p99 990, each within 1/16.
        let wide = LatencyHistogram::of(1..=1000);
        assert_eq!(wide.count(), 1000);
        for (p, exact) in [(50, 500.0), (95, 950.0), (99, 990.0)] {
            let got = f64::from(wide.percentile(p, 1, 1000).unwrap());
            assert!((got - exact).abs() <= exact / 16.0, "p{p}: {got}");
        }
        // Never outside what was seen: one latency of 300 ms is its own every percentile.
        let one = LatencyHistogram::of([300]);
        assert_eq!(one.percentile(99, 300, 300), Some(300));
        assert_eq!(LatencyHistogram::default().percentile(50, 0, 0), None);
    }

    #[test]
    fn merging_equals_counting_everything_together() {
        let a = LatencyHistogram::of([3, 3, 40, 900, 70_000]);
        let b = LatencyHistogram::of([1, 3, 41, 5000]);
        let all = LatencyHistogram::of([3, 3, 40, 900, 70_000, 1, 3, 41, 5000]);
        assert_eq!(a.merge(&b), all);
        assert_eq!(b.merge(&a), all);
        assert_eq!(a.merge(&LatencyHistogram::default()), a);
    }

    #[test]
    fn the_stored_form_reads_back_and_a_damaged_one_is_refused() {
        let mut h = LatencyHistogram::of([0, 7, 7, 250, u32::MAX]);
        for _ in 0..300 {
            h.add(250);
        }
        let bytes = h.encode();
        // 250 ms counted 301 times takes two bytes of count.
        assert_eq!(bytes.len(), 2 + 2 + 3 + 2);
        assert_eq!(LatencyHistogram::decode(&bytes), Some(h));
        assert_eq!(
            LatencyHistogram::decode(&[]),
            Some(LatencyHistogram::default())
        );
        assert_eq!(
            LatencyHistogram::decode(&[5]),
            None,
            "a bucket without a count"
        );
        assert_eq!(
            LatencyHistogram::decode(&[5, 0x81]),
            None,
            "a count cut short"
        );
        assert_eq!(
            LatencyHistogram::decode(&[9, 1, 5, 1]),
            None,
            "out of order"
        );
        assert_eq!(LatencyHistogram::decode(&[5, 0]), None, "an empty bucket");
    }
}
