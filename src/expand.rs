//! `msgperf expand`: the plan's runner jobs ([`crate::matrix::shard::jobs`])
//! as a table for people, as JSON for tools, and as the `{"include": [...]}`
//! object a workflow hands to `strategy.matrix: ${{ fromJSON(...) }}`, which
//! makes GitHub Actions' own job matrix the distributed engine.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::load::PlanId;
use crate::matrix::shard::Job;
use crate::matrix::Plan;

/// GitHub Actions' limit on the jobs one matrix may create.
pub const GITHUB_MAX_JOBS: usize = 256;

/// What `msgperf expand` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The whole job list, pretty-printed.
    Json,
    /// One line `{"include":[...]}` for `strategy.matrix`.
    Github,
}

/// The expansion of a plan into runner jobs.
#[derive(Debug, Clone)]
pub struct Expansion {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// Shards asked for.
    pub shards: u32,
    /// `--split` given to expand, passed on to every job's `run`.
    pub split: Option<u32>,
    /// The common start of split parts; `None` when nothing is split.
    pub start_at: Option<SystemTime>,
    /// The plan's nonce, passed to every job's `run --plan-id`.
    pub plan_id: PlanId,
}

/// Builds the expansion: jobs of `plan` (with `split` applied) and, when any
/// job is a part of a split shard, the start instant (`start_at`, or now plus
/// `lead`, to the second); every job gets `plan_id`.
pub fn expansion(
    plan: &Plan,
    shards: u32,
    split: Option<u32>,
    start_at: Option<SystemTime>,
    lead: Duration,
    plan_id: PlanId,
) -> Expansion {
    let mut plan = plan.clone();
    if let Some(k) = split {
        crate::matrix::shard::set_split(&mut plan, k);
    }
    let jobs = crate::matrix::shard::jobs(&plan, shards);
    let start_at = jobs.iter().any(|j| j.part.count > 1).then(|| {
        start_at.unwrap_or_else(|| {
            let t = SystemTime::now() + lead;
            let secs = t
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
        })
    });
    Expansion {
        jobs,
        shards,
        split,
        start_at,
        plan_id,
    }
}

/// One job as the `github` and `json` formats give it. Every value is a
/// string so a workflow can pass it to a command line unchanged.
#[derive(Debug, Serialize)]
struct JobEntry<'a> {
    /// Job name for the Actions UI.
    name: String,
    /// A name-safe key unique per job (`s1-p2`): artifact names use it
    /// (GitHub's `strategy.job-index` is not available everywhere, e.g. act).
    key: String,
    /// `--shard` value.
    shard: String,
    /// `--part` value.
    part: String,
    /// `--split` value, empty when matrix.yaml decides.
    split: String,
    /// `--start-at` value, empty when nothing is split.
    start_at: String,
    /// `--plan-id` value: the same for every job of the plan.
    plan_id: String,
    /// How many runs the job does.
    runs: String,
    /// Upper bound of the job's running time, seconds.
    expected_s: String,
    /// The scenario ids (json format only).
    #[serde(skip_serializing_if = "Option::is_none")]
    scenarios: Option<&'a [String]>,
}

fn entries(e: &Expansion, with_ids: bool) -> Vec<JobEntry<'_>> {
    let start_at = e
        .start_at
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default();
    e.jobs
        .iter()
        .map(|j| JobEntry {
            name: if j.part.count > 1 {
                format!("shard {} part {}", j.shard, j.part)
            } else {
                format!("shard {}", j.shard)
            },
            key: format!("s{}-p{}", j.shard.index, j.part.index),
            shard: j.shard.to_string(),
            part: j.part.to_string(),
            split: e.split.map(|k| k.to_string()).unwrap_or_default(),
            start_at: start_at.clone(),
            plan_id: e.plan_id.to_string(),
            runs: j.scenarios.len().to_string(),
            expected_s: j.expected.as_secs().to_string(),
            scenarios: with_ids.then_some(j.scenarios.as_slice()),
        })
        .collect()
}

/// More jobs than one GitHub Actions matrix may create.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{jobs} jobs exceed GitHub Actions' limit of {GITHUB_MAX_JOBS} per matrix: use fewer --shards or a smaller split")]
pub struct TooManyJobs {
    /// The jobs the plan needs.
    pub jobs: usize,
}

/// Renders the expansion; the `github` format fails beyond [`GITHUB_MAX_JOBS`].
pub fn render(e: &Expansion, format: Format) -> Result<String, TooManyJobs> {
    match format {
        Format::Github => {
            if e.jobs.len() > GITHUB_MAX_JOBS {
                return Err(TooManyJobs { jobs: e.jobs.len() });
            }
            let include = entries(e, false);
            Ok(serde_json::json!({ "include": include }).to_string() + "\n")
        }
        Format::Json => {
            let v = serde_json::json!({
                "shards": e.shards,
                "start_at": e.start_at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                "plan_id": e.plan_id.to_string(),
                "jobs": entries(e, true),
            });
            Ok(serde_json::to_string_pretty(&v).expect("plain data serializes") + "\n")
        }
        Format::Table => Ok(table(e)),
    }
}

fn table(e: &Expansion) -> String {
    let mut rows = vec![vec![
        "job".to_string(),
        "shard".into(),
        "part".into(),
        "runs".into(),
        "expected".into(),
        "scenarios".into(),
    ]];
    for (i, j) in e.jobs.iter().enumerate() {
        rows.push(vec![
            (i + 1).to_string(),
            j.shard.to_string(),
            j.part.to_string(),
            j.scenarios.len().to_string(),
            humantime::format_duration(j.expected).to_string(),
            j.scenarios.join(", "),
        ]);
    }
    let mut out = crate::report::format::aligned_table(&rows, |i| i == 0 || i == 3);
    let runs: usize = e.jobs.iter().map(|j| j.scenarios.len()).sum();
    out.push_str(&format!(
        "{} job(s), {runs} run(s), plan {}",
        e.jobs.len(),
        e.plan_id
    ));
    if let Some(t) = e.start_at {
        out.push_str(&format!(
            "; split parts start together at {}",
            humantime::format_rfc3339_seconds(t)
        ));
    }
    out.push('\n');
    out
}
