//! CloudWatch metrics of the staging system for each run's exact window: the
//! client sees the API saturate, CloudWatch says why (CPU, network, memory,
//! load balancer, database).
//!
//! The only module that uses the AWS SDK. It reads a
//! [`crate::matrix::CloudWatchConfig`] and [`RunResult`]s and gives back plain
//! [`RunMetrics`] that the report pipeline's CloudWatch step
//! (`report::cloudwatch`) puts into each run before rendering; the analysis
//! and the report never see an SDK type. The runs come with their analysis,
//! which says where the plateau starts: nothing here analyses a run again.
//!
//! - `client`: aws-config's default chain, region/endpoint, bounded credential
//!   lookup, error classification;
//! - `window`: pure window alignment, queries, batching, series summaries;
//! - `fetch`: GetMetricData with pagination and bounded polling for late data;
//! - `publish`: PutMetricData of each run's headline numbers.
//!
//! Protocol note: since aws-sdk-cloudwatch 1.100 the Rust SDK speaks Smithy RPC
//! v2 CBOR only (`POST /service/GraniteServiceVersion20100801/operation/<Op>`,
//! `content-type: application/cbor`); there is no setting to choose awsQuery or
//! JSON. moto (5.2.5) answers CBOR with 404 and will not support it
//! (getmoto/moto#9195), so the tests put a small translating proxy
//! (`tests/support/cbor_proxy.py`) between the SDK and moto. Real AWS speaks
//! CBOR, so production code needs nothing of the sort.

mod client;
pub(crate) mod fetch;
pub(crate) mod publish;
pub(crate) mod window;

use std::time::Instant;

pub use client::{CloudWatch, Connect, StaticKeys, CREDENTIALS_TIMEOUT};
pub use publish::{datums, Datum};

use crate::analysis::RunAnalysis;
use crate::matrix::CloudWatchConfig;
use crate::results::{RunMetrics, RunResult};
use window::{Marks, Window};

/// Why CloudWatch could not be asked; every message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudWatchError {
    /// No credentials resolved (or the lookup timed out).
    #[error("CloudWatch: no AWS credentials ({detail}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or in GitHub Actions run aws-actions/configure-aws-credentials first (with `permissions: id-token: write`)")]
    NoCredentials {
        /// What the credential chain said.
        detail: String,
    },
    /// No region configured.
    #[error("CloudWatch: no AWS region; set `cloudwatch.region` in matrix.yaml or AWS_REGION")]
    NoRegion,
    /// The credentials may not call the operation.
    #[error("CloudWatch: access denied for {operation} ({message}); allow `cloudwatch:{operation}` in the IAM policy of the role or user msgperf runs as")]
    AccessDenied {
        /// e.g. `GetMetricData`.
        operation: &'static str,
        /// What AWS said.
        message: String,
    },
    /// Any other error answer.
    #[error("CloudWatch: {operation} failed: {code}: {message}; check the metric definitions in matrix.yaml")]
    Service {
        /// e.g. `GetMetricData`.
        operation: &'static str,
        /// AWS error code.
        code: String,
        /// AWS message.
        message: String,
    },
    /// CloudWatch could not be reached.
    #[error("CloudWatch: {operation} could not reach the endpoint ({detail}); check the network, the region, and AWS_ENDPOINT_URL / cloudwatch.endpoint_url")]
    Transport {
        /// e.g. `GetMetricData`.
        operation: &'static str,
        /// What failed.
        detail: String,
    },
}

/// The metrics of every run, and the errors met on the way.
#[derive(Debug, Default)]
pub struct Fetched {
    /// One per run, in the order given (warnings in place of data on errors).
    pub runs: Vec<RunMetrics>,
    /// Every error, once each, in order.
    pub errors: Vec<CloudWatchError>,
}

/// A run and its analysis, as the CloudWatch calls take them.
pub type Analysed<'a> = (&'a RunResult, &'a RunAnalysis);

/// Where in a run the reference points are (plateau start, first error),
/// from its analysis.
pub fn marks_of(analysis: &RunAnalysis) -> Marks {
    Marks {
        plateau_start_s: analysis.plateau.as_ref().map(|p| f64::from(p.start_s)),
        first_error_s: analysis.first_error.as_ref().map(|e| e.at_s),
    }
}

/// Connection settings from the config (region, endpoint) and optional keys.
pub fn connect_of(config: &CloudWatchConfig, static_keys: Option<StaticKeys>) -> Connect {
    Connect {
        region: config.region.clone(),
        endpoint_url: config.endpoint_url.clone(),
        static_keys,
    }
}

/// Fetches every run's window. Never fails: an error becomes a warning in each
/// affected run's [`RunMetrics`] and is listed in [`Fetched::errors`]; the
/// caller decides (`cloudwatch.required`) whether it fails the command.
/// Polling for late data stops `config.wait_for_data` after the call starts.
pub async fn fetch_runs(
    config: &CloudWatchConfig,
    connect: &Connect,
    runs: &[Analysed<'_>],
) -> Fetched {
    let deadline = Instant::now() + config.wait_for_data;
    let queries = window::queries(config);
    let period_s = u32::try_from(config.period.as_secs()).unwrap_or(u32::MAX);
    let mut out = Fetched::default();
    let failed = |e: &CloudWatchError, run: &RunResult| {
        let w = Window::of_run(&run.started_at, &run.ended_at, config.period);
        RunMetrics {
            window_start: w.map(|w| window::rfc3339(w.start)).unwrap_or_default(),
            window_end: w.map(|w| window::rfc3339(w.end)).unwrap_or_default(),
            period_s,
            metrics: Vec::new(),
            warnings: vec![e.to_string()],
        }
    };
    let cw = match CloudWatch::connect(connect).await {
        Ok(cw) => cw,
        Err(e) => {
            out.runs = runs.iter().map(|(r, _)| failed(&e, r)).collect();
            out.errors.push(e);
            return out;
        }
    };
    for &(run, analysis) in runs {
        let Some(w) = Window::of_run(&run.started_at, &run.ended_at, config.period) else {
            let e = CloudWatchError::Service {
                operation: "GetMetricData",
                code: "BadRunTimes".into(),
                message: format!(
                    "run {} has unreadable times `{}` .. `{}`",
                    run.scenario.id, run.started_at, run.ended_at
                ),
            };
            out.runs.push(failed(&e, run));
            out.errors.push(e);
            continue;
        };
        match fetch::fetch_window(&cw, &queries, &w, marks_of(analysis), deadline).await {
            Ok(m) => out.runs.push(m),
            Err(e) => {
                out.runs.push(failed(&e, run));
                // Access or credential problems repeat for every run: say them once.
                if !out.errors.iter().any(|x| x.to_string() == e.to_string()) {
                    out.errors.push(e);
                }
            }
        }
    }
    out
}

/// Publishes every run's headline numbers to `publish.namespace`.
pub async fn publish_runs(
    config: &CloudWatchConfig,
    connect: &Connect,
    runs: &[Analysed<'_>],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<usize, CloudWatchError> {
    let Some(p) = &config.publish else {
        return Ok(0);
    };
    let cw = CloudWatch::connect(connect).await?;
    let branch = publish::branch(p.branch.as_deref(), env);
    publish::publish(&cw, &p.namespace, &branch, runs).await
}
