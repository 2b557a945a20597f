//! The `cloudwatch:` block of matrix.yaml: its serde shape, its checks, and the
//! plain [`CloudWatchConfig`] the `cloudwatch` module is given.
//!
//! Kept apart from `raw`/`validate` because it is a self-contained block with
//! its own rules (CloudWatch periods, query ids, the 500-query limit) and
//! because the matrix module must not know the AWS SDK: this is plain data.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::error::{Diagnostic, MatrixError, Source};
use super::raw::{Dur, PosDur};

/// Default `cloudwatch.period`.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
/// Default `cloudwatch.wait_for_data`.
pub const DEFAULT_WAIT_FOR_DATA: Duration = Duration::from_secs(300);
/// Most queries one GetMetricData call may carry.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// CloudWatch metrics to fetch for each run's window (`cloudwatch:`).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchConfig {
    /// AWS region; `None` uses the usual chain (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Endpoint override; `None` uses `AWS_ENDPOINT_URL` or the AWS default.
    pub endpoint_url: Option<String>,
    /// CloudWatch period (1, 5, 10, 30 s or a multiple of 60 s).
    pub period: Duration,
    /// How long to poll for late datapoints after the last run (0 = no wait).
    pub wait_for_data: Duration,
    /// Fail the command when the metrics cannot be fetched (default false:
    /// warn in the report and the log, exit code unchanged).
    pub required: bool,
    /// The metrics, in file order.
    pub metrics: Vec<MetricSpec>,
    /// Push each run's results as custom metrics, when set.
    pub publish: Option<PublishConfig>,
}

/// One entry of `cloudwatch.metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// The label shown in the report.
    pub label: String,
    /// Query id (`id:`, default `m<N>` for the N-th entry, 1-based); metric
    /// math refers to it, e.g. `METRICS('m1')`.
    pub id: String,
    /// What to fetch.
    pub source: MetricSource,
}

/// A stored metric or a metric-math expression.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricSource {
    /// `namespace` + `metric` + `dimensions`, one query per statistic.
    Metric {
        /// e.g. `AWS/EC2`.
        namespace: String,
        /// e.g. `CPUUtilization`.
        metric: String,
        /// e.g. `{ InstanceId: i-0123 }`.
        dimensions: BTreeMap<String, String>,
        /// e.g. `[Average, Maximum]` (default `[Average]`).
        stats: Vec<String>,
    },
    /// A metric-math expression such as `SUM(METRICS('m1'))/60`.
    Expression(String),
}

/// `cloudwatch.publish`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishConfig {
    /// Custom namespace, e.g. `Msgperf/Throughput`.
    pub namespace: String,
    /// Value of the `Branch` dimension; `None` takes `GITHUB_HEAD_REF`, then
    /// `GITHUB_REF_NAME`, else `local`.
    pub branch: Option<String>,
}

impl CloudWatchConfig {
    /// Number of GetMetricData queries one window needs.
    pub fn query_count(&self) -> usize {
        self.metrics
            .iter()
            .map(|m| match &m.source {
                MetricSource::Metric { stats, .. } => stats.len(),
                MetricSource::Expression(_) => 1,
            })
            .sum()
    }
}

/// `cloudwatch:` as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCloudWatch {
    region: Option<String>,
    endpoint_url: Option<String>,
    period: Option<Spanned<PosDur>>,
    wait_for_data: Option<Dur>,
    required: Option<bool>,
    metrics: Spanned<Vec<Spanned<RawMetric>>>,
    publish: Option<RawPublish>,
}

/// One `cloudwatch.metrics` entry as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    label: String,
    id: Option<String>,
    namespace: Option<String>,
    metric: Option<String>,
    #[serde(default)]
    dimensions: BTreeMap<String, String>,
    stats: Option<Vec<String>>,
    expression: Option<String>,
}

/// `cloudwatch.publish` as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPublish {
    namespace: String,
    branch: Option<String>,
}

fn at(loc: &Location) -> (u64, u64, u64) {
    (loc.line(), loc.column(), loc.span().len())
}

fn invalid(d: Box<Diagnostic>) -> MatrixError {
    MatrixError::Invalid(d)
}

/// A CloudWatch query id: a lowercase letter, then letters, digits, `_`.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks the block and applies defaults.
pub(crate) fn build(
    src: Source,
    block: Spanned<RawCloudWatch>,
) -> Result<CloudWatchConfig, MatrixError> {
    let block_at = at(&block.referenced);
    let raw = block.value;
    let period = match raw.period {
        None => DEFAULT_PERIOD,
        Some(p) => {
            let d = p.value.0;
            let secs = d.as_secs();
            let ok = d.subsec_nanos() == 0
                && (matches!(secs, 1 | 5 | 10 | 30) || secs.is_multiple_of(60));
            if !ok {
                return Err(invalid(src.diagnostic(
                    at(&p.referenced),
                    "cloudwatch.period",
                    format!("`{}` is not a CloudWatch period", humantime::format_duration(d)),
                    "write 1s, 5s, 10s or 30s (high-resolution metrics only) or a multiple of 60s such as `60s` or `5m`",
                )));
            }
            d
        }
    };
    let metrics_at = at(&raw.metrics.referenced);
    if raw.metrics.value.is_empty() {
        return Err(invalid(src.diagnostic(
            metrics_at,
            "cloudwatch.metrics",
            "`metrics` lists no metric",
            "list at least one, such as `- { label: cpu, namespace: AWS/EC2, metric: CPUUtilization, dimensions: { InstanceId: i-... } }`",
        )));
    }
    let mut metrics = Vec::new();
    let mut labels = HashSet::new();
    let mut ids = HashSet::new();
    for (i, entry) in raw.metrics.value.into_iter().enumerate() {
        let pos = at(&entry.referenced);
        let key = format!("cloudwatch.metrics[{i}]");
        let m = entry.value;
        let fail = |problem: String, hint: &str| {
            Err(invalid(src.diagnostic(pos, key.clone(), problem, hint)))
        };
        if m.label.trim().is_empty() || !labels.insert(m.label.clone()) {
            return fail(
                format!("label `{}` is empty or used twice", m.label),
                "give every metric its own non-empty label",
            );
        }
        let id = m.id.clone().unwrap_or_else(|| format!("m{}", i + 1));
        if !valid_id(&id) || !ids.insert(id.clone()) {
            return fail(
                format!("id `{id}` is not a valid CloudWatch query id, or is used twice"),
                "start with a lowercase letter, then letters, digits or `_`; every id must be unique",
            );
        }
        let source = match (m.expression, m.namespace, m.metric) {
            (Some(e), None, None) if m.stats.is_none() && m.dimensions.is_empty() => {
                if e.trim().is_empty() {
                    return fail(
                        "the expression is empty".into(),
                        "write metric math such as `SUM(METRICS('m1'))/60`",
                    );
                }
                MetricSource::Expression(e)
            }
            (None, Some(namespace), Some(metric)) => {
                let stats = m.stats.unwrap_or_else(|| vec!["Average".to_string()]);
                if stats.is_empty() || stats.iter().any(|s| s.trim().is_empty()) {
                    return fail(
                        "`stats` is empty or has an empty entry".into(),
                        "list statistics such as `[Average, Maximum]` or `[p99]`, or leave `stats` out for Average",
                    );
                }
                MetricSource::Metric {
                    namespace,
                    metric,
                    dimensions: m.dimensions,
                    stats,
                }
            }
            _ => {
                return fail(
                    "a metric needs either `namespace` and `metric` (with optional `dimensions` and `stats`), or only `expression`".into(),
                    "write `{ label: cpu, namespace: AWS/EC2, metric: CPUUtilization, stats: [Average] }` or `{ label: rate, expression: \"SUM(METRICS('m1'))/60\" }`",
                );
            }
        };
        metrics.push(MetricSpec {
            label: m.label,
            id,
            source,
        });
    }
    let config = CloudWatchConfig {
        region: raw.region.filter(|r| !r.trim().is_empty()),
        endpoint_url: raw.endpoint_url.filter(|u| !u.trim().is_empty()),
        period,
        wait_for_data: raw.wait_for_data.map_or(DEFAULT_WAIT_FOR_DATA, |d| d.0),
        required: raw.required.unwrap_or(false),
        metrics,
        publish: raw.publish.map(|p| PublishConfig {
            namespace: p.namespace,
            branch: p.branch,
        }),
    };
    let has_math = config
        .metrics
        .iter()
        .any(|m| matches!(m.source, MetricSource::Expression(_)));
    if has_math && config.query_count() > MAX_QUERIES_PER_CALL {
        return Err(invalid(src.diagnostic(
            block_at,
            "cloudwatch.metrics",
            format!(
                "{} queries (one per metric and statistic) with metric math: an expression must be in the same GetMetricData call as the metrics it uses, and one call takes at most {MAX_QUERIES_PER_CALL}",
                config.query_count()
            ),
            "use fewer metrics or statistics, or drop the expressions",
        )));
    }
    Ok(config)
}
