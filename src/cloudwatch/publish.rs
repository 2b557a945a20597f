//! PutMetricData of each run's headline numbers (sustained rate, peak rate,
//! active chats at the first error, p99 message latency), with dimensions
//! `Scenario` and `Branch`, so nightly trends show in CloudWatch dashboards.
//!
//! Which numbers are sent is a pure function ([`datums`]); only [`publish`]
//! touches the SDK.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use super::client::{classify, CloudWatch};
use super::CloudWatchError;
use crate::analysis::RunAnalysis;
use crate::results::RunResult;

/// Most datums one PutMetricData call takes.
const MAX_DATUMS_PER_CALL: usize = 1000;

/// One custom metric value, in plain terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// Metric name (`SustainedRate`, `PeakRate`, `ActiveChatsAtFirstError`, `P99LatencyMs`).
    pub name: &'static str,
    /// The value.
    pub value: f64,
    /// `Count/Second`, `Count` or `Milliseconds`.
    pub unit: &'static str,
    /// `Scenario` dimension: the scenario group (repetitions share it).
    pub scenario: String,
    /// Epoch seconds: the run's end.
    pub at: i64,
}

/// The datums of one run, from its analysis (numbers the run does not have
/// are left out).
pub fn datums(run: &RunResult, a: &RunAnalysis) -> Vec<Datum> {
    let at = run.ended_at.epoch_s().unwrap_or(0.0) as i64;
    let mut out = Vec::new();
    let mut push = |name, value: Option<f64>, unit| {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            out.push(Datum {
                name,
                value,
                unit,
                scenario: a.group.clone(),
                at,
            });
        }
    };
    push("SustainedRate", a.sustained_rate, "Count/Second");
    push("PeakRate", Some(a.peak_sent), "Count/Second");
    push(
        "ActiveChatsAtFirstError",
        run.first_error.as_ref().map(|e| e.active_chats as f64),
        "Count",
    );
    push(
        "P99LatencyMs",
        (run.latency_ms.message.count > 0).then_some(run.latency_ms.message.p99),
        "Milliseconds",
    );
    out
}

/// The `Branch` dimension: the configured one, else GitHub's, else `local`.
pub fn branch(configured: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> String {
    configured
        .map(str::to_string)
        .or_else(|| env("GITHUB_HEAD_REF"))
        .or_else(|| env("GITHUB_REF_NAME"))
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "local".to_string())
}

/// Sends the datums of `runs` to `namespace`; returns how many were sent.
pub async fn publish(
    cw: &CloudWatch,
    namespace: &str,
    branch: &str,
    runs: &[super::Analysed<'_>],
) -> Result<usize, CloudWatchError> {
    let all: Vec<Datum> = runs.iter().flat_map(|(r, a)| datums(r, a)).collect();
    for chunk in all.chunks(MAX_DATUMS_PER_CALL) {
        let data = chunk
            .iter()
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(d.name)
                    .value(d.value)
                    .unit(StandardUnit::from(d.unit))
                    .timestamp(DateTime::from_secs(d.at))
                    .dimensions(
                        Dimension::builder()
                            .name("Scenario")
                            .value(&d.scenario)
                            .build(),
                    )
                    .dimensions(Dimension::builder().name("Branch").value(branch).build())
                    .build()
            })
            .collect();
        cw.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| classify("PutMetricData", e))?;
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_prefers_config_then_github() {
        let env = |k: &str| (k == "GITHUB_REF_NAME").then(|| "main".to_string());
        assert_eq!(branch(Some("x"), &env), "x");
        assert_eq!(branch(None, &env), "main");
        assert_eq!(branch(None, &|_| None), "local");
    }
}
