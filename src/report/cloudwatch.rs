//! The report pipeline's CloudWatch step, between reading and rendering:
//! fetch each run's window from CloudWatch into the run (in memory: result
//! files are never rewritten), then publish the runs' headline numbers when
//! `cloudwatch.publish` is set. It works on any result files, so `msgperf
//! report --cloudwatch` enriches downloaded artifacts, and `msgperf run` (and
//! the action) get their report's CloudWatch part through it. The plateau
//! start each series is read at comes from the analysis the pipeline already
//! made.
//!
//! Problems are warnings (printed, and in each run's `warnings`) unless
//! `cloudwatch.required: true`, in which case [`enrich`] fails and no report
//! is written.

use super::command::Prepared;
use crate::cloudwatch;
use crate::matrix::CloudWatchConfig;

/// `cloudwatch.required: true` and CloudWatch failed.
#[derive(Debug, thiserror::Error)]
#[error("cloudwatch.required is true and CloudWatch failed: {0}")]
pub struct Required(pub String);

/// Fetches every run's window into its `cloudwatch` field and publishes;
/// `Err` only when `required` and something failed. `env` is the process
/// environment (the `Branch` dimension of published numbers).
pub async fn enrich(
    config: &CloudWatchConfig,
    prepared: &mut Prepared,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Required> {
    if prepared.results.is_empty() {
        return Ok(());
    }
    let connect = cloudwatch::connect_of(config, None);
    if !config.wait_for_data.is_zero() {
        eprintln!(
            "fetching CloudWatch metrics (waiting up to {} for late datapoints)",
            humantime::format_duration(config.wait_for_data)
        );
    }
    let analysed = prepared.analysed();
    let ids: Vec<String> = analysed
        .iter()
        .map(|(r, _)| r.scenario.id.clone())
        .collect();
    let fetched = cloudwatch::fetch_runs(config, &connect, &analysed).await;
    for (id, metrics) in ids.iter().zip(fetched.runs) {
        for w in &metrics.warnings {
            tracing::warn!("{id}: {w}");
        }
        if let Some(run) = prepared.results.iter_mut().find(|r| r.scenario.id == *id) {
            run.cloudwatch = Some(metrics);
        }
    }
    let mut errors: Vec<String> = fetched.errors.iter().map(ToString::to_string).collect();
    for e in &errors {
        eprintln!("warning: {e}");
    }
    if config.publish.is_some() {
        match cloudwatch::publish_runs(config, &connect, &prepared.analysed(), env).await {
            Ok(n) => eprintln!("published {n} CloudWatch datapoint(s)"),
            Err(e) => {
                eprintln!("warning: {e}");
                errors.push(e.to_string());
            }
        }
    }
    if config.required && !errors.is_empty() {
        return Err(Required(errors.join("; ")));
    }
    Ok(())
}
