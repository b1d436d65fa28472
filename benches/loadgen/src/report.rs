//! Shared pieces of the reports: latency percentiles, server memory and the JSON line.

use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::watch;

/// Highest latency a histogram records, in microseconds; larger values count as this.
pub const MAX_LATENCY_MICROS: u64 = 120_000_000;

/// Creates a histogram of microseconds from 1 µs to [`MAX_LATENCY_MICROS`] with three
/// significant digits.
///
/// # Errors
/// Never with these constant bounds; the `Result` comes from hdrhistogram.
pub fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
        .context("failed to create a latency histogram")
}

/// Percentiles of one latency histogram, in milliseconds. They are `None` when
/// nothing was recorded.
#[derive(Debug, Clone, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl LatencySummary {
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        let count = histogram.len();
        let millis = |micros: u64| (count > 0).then(|| round3(micros as f64 / 1000.0));
        Self {
            count,
            mean_ms: (count > 0).then(|| round3(histogram.mean() / 1000.0)),
            p50_ms: millis(histogram.value_at_quantile(0.50)),
            p90_ms: millis(histogram.value_at_quantile(0.90)),
            p99_ms: millis(histogram.value_at_quantile(0.99)),
            p999_ms: millis(histogram.value_at_quantile(0.999)),
            max_ms: millis(histogram.max()),
        }
    }

    /// Formats the summary as one line such as `p50 1.204  p90 …  max 9.8 ms  (12000 samples)`.
    pub fn describe(&self) -> String {
        if self.count == 0 {
            return "no samples".to_owned();
        }
        let show =
            |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}"));
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {} ms  ({} samples)",
            show(self.p50_ms),
            show(self.p90_ms),
            show(self.p99_ms),
            show(self.p999_ms),
            show(self.max_ms),
            self.count
        )
    }
}

/// Rounds to three decimals so that the JSON line stays readable.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Reads the resident set size (VmRSS) of process `pid` from `/proc`, in KiB.
///
/// # Errors
/// When the process does not exist or its status has no VmRSS line.
pub fn read_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {path}; is --server-pid {pid} running?"))?;
    parse_vm_rss_kib(&status).with_context(|| format!("{path} has no VmRSS line"))
}

fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.trim_start_matches("VmRSS:")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Server memory over a run: samples taken once a second, in KiB.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RssSeries {
    pub samples: usize,
    pub first_kib: Option<u64>,
    pub last_kib: Option<u64>,
    pub min_kib: Option<u64>,
    pub max_kib: Option<u64>,
}

impl RssSeries {
    fn from_samples(samples: &[u64]) -> Self {
        Self {
            samples: samples.len(),
            first_kib: samples.first().copied(),
            last_kib: samples.last().copied(),
            min_kib: samples.iter().min().copied(),
            max_kib: samples.iter().max().copied(),
        }
    }
}

/// Samples the RSS of `pid` every second until `stop` turns true. A failed read (the
/// server exited) ends the sampling early and is printed once.
pub async fn sample_rss(pid: u32, mut stop: watch::Receiver<bool>) -> RssSeries {
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticker.tick() => match read_rss_kib(pid) {
                Ok(kib) => samples.push(kib),
                Err(error) => {
                    eprintln!("warning: stopped sampling server memory: {error:#}");
                    break;
                }
            },
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    RssSeries::from_samples(&samples)
}

/// Prints the JSON line that scripts read: always the last line of standard output.
///
/// # Errors
/// When the report cannot be serialized.
pub fn print_json_line(report: &impl Serialize) -> anyhow::Result<()> {
    let line = serde_json::to_string(report).context("failed to serialize the report")?;
    println!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_parses_kib() {
        let status = "Name:\tcareernexus\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nThreads:\t8\n";
        assert_eq!(parse_vm_rss_kib(status), Some(51234));
    }

    #[test]
    fn vm_rss_missing_is_none() {
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn latency_summary_converts_to_ms() {
        let mut histogram = latency_histogram().expect("histogram bounds are valid");
        for micros in 1..=1000 {
            histogram
                .record(micros * 10)
                .expect("value is within bounds");
        }
        let summary = LatencySummary::from_histogram(&histogram);
        assert_eq!(summary.count, 1000);
        let p50 = summary.p50_ms.expect("p50 present");
        assert!((p50 - 5.0).abs() < 0.01, "p50 was {p50}");
        let max = summary.max_ms.expect("max present");
        assert!((max - 10.0).abs() < 0.01, "max was {max}");
    }

    #[test]
    fn latency_summary_empty_has_no_percentiles() {
        let histogram = latency_histogram().expect("histogram bounds are valid");
        let summary = LatencySummary::from_histogram(&histogram);
        assert_eq!(summary.count, 0);
        assert!(summary.p99_ms.is_none());
        assert_eq!(summary.describe(), "no samples");
    }

    #[test]
    fn rss_series_keeps_first_last_min_max() {
        let series = RssSeries::from_samples(&[300, 100, 500, 200]);
        assert_eq!(series.samples, 4);
        assert_eq!(series.first_kib, Some(300));
        assert_eq!(series.last_kib, Some(200));
        assert_eq!(series.min_kib, Some(100));
        assert_eq!(series.max_kib, Some(500));
    }
}
