//! The CloudWatch part of a run: metrics of the staging system over the
//! run's window, as plain data (no SDK types), filled by the report's
//! CloudWatch step (result files of older versions carry it too).

use serde::{Deserialize, Serialize};

/// CloudWatch metrics fetched for one run's window: plain data, no SDK types.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunMetrics {
    /// RFC 3339 UTC start of the queried window (run start minus one period,
    /// aligned down to a period boundary).
    pub window_start: String,
    /// RFC 3339 UTC end of the queried window (run end plus one period,
    /// aligned up to a period boundary).
    pub window_end: String,
    /// The CloudWatch period, seconds.
    pub period_s: u32,
    /// One entry per configured metric and statistic (or expression).
    pub metrics: Vec<MetricSeries>,
    /// Why some or all metrics are missing, for people (never credentials).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One metric and statistic over a run's window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MetricSeries {
    /// The label from matrix.yaml (`messenger-cpu`).
    pub label: String,
    /// The statistic (`Average`, `Maximum`, `p99`), or empty for an expression.
    #[serde(default)]
    pub stat: String,
    /// Datapoints in time order; `t_s` is the start of the CloudWatch period,
    /// seconds relative to the run's `started_at` (negative before the run).
    pub points: Vec<MetricPoint>,
    /// Mean of the points whose period overlaps the run, or null if none.
    pub average: Option<f64>,
    /// Largest of the points whose period overlaps the run, or null if none.
    pub maximum: Option<f64>,
    /// The point whose period holds the plateau start, if both exist.
    pub at_plateau_start: Option<f64>,
    /// The point whose period holds the first error, if both exist.
    pub at_first_error: Option<f64>,
    /// Why the series says little (one point or none over the run), or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One CloudWatch datapoint.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct MetricPoint {
    /// Start of its period, seconds since the run's `started_at`.
    pub t_s: f64,
    /// The statistic's value.
    pub value: f64,
}
