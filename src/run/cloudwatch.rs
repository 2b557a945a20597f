//! After the runs of `msgperf run`: fetch each run's CloudWatch window, store
//! it in the run's result file (rewritten atomically), then publish the runs'
//! headline numbers when `cloudwatch.publish` is set.
//!
//! Problems are warnings (log and report) unless `cloudwatch.required: true`,
//! in which case the command fails after the result files are written.

use std::path::{Path, PathBuf};

use super::RunError;
use crate::cloudwatch;
use crate::matrix::CloudWatchConfig;
use crate::results::RunResult;

/// Fetches, stores and publishes; `Err` only when `required` and something failed.
pub async fn attach(
    config: &CloudWatchConfig,
    out: &Path,
    results: &mut [RunResult],
    paths: &mut [PathBuf],
) -> Result<(), RunError> {
    if results.is_empty() {
        return Ok(());
    }
    let connect = cloudwatch::connect_of(config, None);
    if !config.wait_for_data.is_zero() {
        eprintln!(
            "fetching CloudWatch metrics (waiting up to {} for late datapoints)",
            humantime::format_duration(config.wait_for_data)
        );
    }
    let fetched = cloudwatch::fetch_runs(config, &connect, results).await;
    for ((result, path), metrics) in results.iter_mut().zip(paths.iter_mut()).zip(fetched.runs) {
        for w in &metrics.warnings {
            tracing::warn!("{}: {w}", result.scenario.id);
        }
        result.cloudwatch = Some(metrics);
        *path = result.write_to_dir(out)?;
    }
    let mut errors: Vec<String> = fetched.errors.iter().map(ToString::to_string).collect();
    for e in &errors {
        eprintln!("warning: {e}");
    }
    if config.publish.is_some() {
        match cloudwatch::publish_runs(config, &connect, results, &|k| std::env::var(k).ok()).await
        {
            Ok(n) => eprintln!("published {n} CloudWatch datapoint(s)"),
            Err(e) => {
                eprintln!("warning: {e}");
                errors.push(e.to_string());
            }
        }
    }
    if config.required && !errors.is_empty() {
        return Err(RunError::CloudWatch(errors.join("; ")));
    }
    Ok(())
}
