//! The pure arithmetic of a CloudWatch fetch: the aligned window of a run, the
//! list of queries and their batches, merging pages, and turning raw
//! datapoints into a [`MetricSeries`] (average, maximum, value at the plateau
//! start and at the first error, the "one point or none" note).
//!
//! No SDK types and no I/O, so every rule is unit-tested on numbers.

use std::time::{Duration, UNIX_EPOCH};

use crate::matrix::cloudwatch::MAX_QUERIES_PER_CALL;
use crate::matrix::{CloudWatchConfig, MetricSource};
use crate::results::{MetricPoint, MetricSeries, Timestamp};

/// A run's time span and the CloudWatch window queried for it, epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// When the run started.
    pub run_start: f64,
    /// When the run ended.
    pub run_end: f64,
    /// Query start: `run_start - period`, aligned down to a period boundary.
    pub start: i64,
    /// Query end: `run_end + period`, aligned up to a period boundary.
    pub end: i64,
    /// The period, seconds.
    pub period: i64,
}

impl Window {
    /// The window of a run from its RFC 3339 start and end, or `None` if
    /// either does not parse.
    pub fn of_run(
        started_at: &Timestamp,
        ended_at: &Timestamp,
        period: Duration,
    ) -> Option<Window> {
        let start = started_at.epoch_s()?;
        let end = ended_at.epoch_s()?.max(start);
        Some(Window::new(start, end, period))
    }

    /// The window of a run from epoch seconds.
    pub fn new(run_start: f64, run_end: f64, period: Duration) -> Window {
        let p = period.as_secs().max(1) as i64;
        let start = ((run_start - p as f64) / p as f64).floor() as i64 * p;
        let end = ((run_end + p as f64) / p as f64).ceil() as i64 * p;
        Window {
            run_start,
            run_end,
            start,
            end,
            period: p,
        }
    }

    /// Start of the period holding the run's end: a series covers the run
    /// once it has a point here or later.
    pub fn last_run_bucket(&self) -> i64 {
        (self.run_end / self.period as f64).floor() as i64 * self.period
    }
}

/// RFC 3339 UTC text of epoch seconds.
pub fn rfc3339(epoch_s: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(epoch_s.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One GetMetricData query, in plain terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Query id, unique within the call (`m1_average`, or the expression's id).
    pub id: String,
    /// The metric's label.
    pub label: String,
    /// The statistic, or empty for an expression.
    pub stat: String,
    /// What to fetch.
    pub kind: QueryKind,
}

/// A stored metric with one statistic, or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryKind {
    /// `MetricStat`.
    Metric {
        /// Namespace.
        namespace: String,
        /// Metric name.
        metric: String,
        /// Dimension name and value pairs.
        dimensions: Vec<(String, String)>,
    },
    /// Metric math.
    Expression(String),
}

/// The queries for a config: one per metric and statistic, one per expression.
pub fn queries(config: &CloudWatchConfig) -> Vec<Query> {
    let mut out = Vec::new();
    for m in &config.metrics {
        match &m.source {
            MetricSource::Metric {
                namespace,
                metric,
                dimensions,
                stats,
            } => {
                for stat in stats {
                    out.push(Query {
                        id: format!("{}_{}", m.id, id_part(stat)),
                        label: m.label.clone(),
                        stat: stat.clone(),
                        kind: QueryKind::Metric {
                            namespace: namespace.clone(),
                            metric: metric.clone(),
                            dimensions: dimensions
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        },
                    });
                }
            }
            MetricSource::Expression(e) => out.push(Query {
                id: m.id.clone(),
                label: m.label.clone(),
                stat: String::new(),
                kind: QueryKind::Expression(e.clone()),
            }),
        }
    }
    out
}

/// A statistic as part of a query id (`p99.9` -> `p99_9`, `Average` -> `average`).
fn id_part(stat: &str) -> String {
    stat.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Splits queries into GetMetricData calls of at most 500 queries each.
/// (Config validation keeps plans with expressions within one call.)
pub fn batches(queries: &[Query]) -> Vec<&[Query]> {
    queries.chunks(MAX_QUERIES_PER_CALL).collect()
}

/// One page of a GetMetricData answer, in plain terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Per query id: `(epoch seconds, value)` pairs as CloudWatch sent them.
    pub results: Vec<(String, Vec<(i64, f64)>)>,
    /// Messages CloudWatch attached (e.g. `MaxMetricsExceeded`).
    pub messages: Vec<String>,
    /// Token of the next page, if any.
    pub next_token: Option<String>,
}

/// Appends a page's points to `into` (results of the same id concatenate).
pub fn merge_page(into: &mut Vec<(String, Vec<(i64, f64)>)>, page: Page) {
    for (id, points) in page.results {
        match into.iter_mut().find(|(i, _)| *i == id) {
            Some((_, existing)) => existing.extend(points),
            None => into.push((id, points)),
        }
    }
}

/// Instants that locate a run's reference points, seconds since run start.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Marks {
    /// Start of the plateau (from `analysis::analyze_run`).
    pub plateau_start_s: Option<f64>,
    /// The first error.
    pub first_error_s: Option<f64>,
}

/// The value of the point whose period `[t_s, t_s + period)` holds `t`.
pub fn value_at(points: &[MetricPoint], period: f64, t: f64) -> Option<f64> {
    points
        .iter()
        .find(|p| p.t_s <= t && t < p.t_s + period)
        .map(|p| p.value)
}

/// Builds a series from raw `(epoch seconds, value)` points: sorted,
/// deduplicated by time, relative to the run start, and summarized.
pub fn series(query: &Query, raw: &[(i64, f64)], window: &Window, marks: Marks) -> MetricSeries {
    let mut sorted: Vec<(i64, f64)> = raw.iter().copied().filter(|(_, v)| v.is_finite()).collect();
    sorted.sort_by_key(|(t, _)| *t);
    sorted.dedup_by_key(|(t, _)| *t);
    let period = window.period as f64;
    let points: Vec<MetricPoint> = sorted
        .iter()
        .map(|&(t, value)| MetricPoint {
            t_s: t as f64 - window.run_start,
            value,
        })
        .collect();
    let duration = window.run_end - window.run_start;
    let during: Vec<f64> = points
        .iter()
        .filter(|p| p.t_s < duration.max(0.0) + f64::EPSILON && p.t_s + period > 0.0)
        .map(|p| p.value)
        .collect();
    let average = (!during.is_empty()).then(|| during.iter().sum::<f64>() / during.len() as f64);
    let maximum = during.iter().copied().reduce(f64::max);
    let at = |t: Option<f64>| t.and_then(|t| value_at(&points, period, t));
    MetricSeries {
        label: query.label.clone(),
        stat: query.stat.clone(),
        average,
        maximum,
        at_plateau_start: at(marks.plateau_start_s),
        at_first_error: at(marks.first_error_s),
        note: sparse_note(during.len(), window.period),
        points,
    }
}

/// The note for a series with too few points over the run to draw, or `None`.
pub fn sparse_note(points_over_run: usize, period_s: i64) -> Option<String> {
    match points_over_run {
        0 => Some(format!(
            "no datapoint over the run (period {period_s} s): the metric may not exist (check namespace, name and dimensions), may use basic 5-minute monitoring on a short run, or its data had not arrived yet"
        )),
        1 => Some(format!(
            "one datapoint over the run (period {period_s} s): too few to show a trend; basic (5-minute) monitoring gives one point or none on a short run — enable detailed monitoring or run longer"
        )),
        _ => None,
    }
}

/// True when every series has a point at or after the period holding the
/// run's end, i.e. the late data has arrived.
pub fn covered(results: &[(String, Vec<(i64, f64)>)], queries: &[Query], window: &Window) -> bool {
    let last = window.last_run_bucket();
    queries.iter().all(|q| {
        results
            .iter()
            .find(|(id, _)| *id == q.id)
            .is_some_and(|(_, points)| points.iter().any(|(t, _)| *t >= last))
    })
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
