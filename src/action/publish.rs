//! Where the report goes once it exists: annotations, the job summary, the
//! sticky PR comment, the nightly tracking issue, and `$GITHUB_OUTPUT`.
//!
//! GitHub being unreachable or read-only must not hide the report: a 403/404
//! (a fork PR's read-only token) is a warning and the summary still has it;
//! other API failures (after the client's bounded retries) are annotated and
//! make the step fail as a tool failure.

use std::path::Path;

use crate::analysis::{ChangeStatus, Verdict};
use crate::github::commands::{self, Level};
use crate::github::{self, GitHub, GitHubError};
use crate::report::first_failure;
use crate::report::headline::{change_phrase, top_scenario};
use crate::report::{Report, ReportOutcome};

use super::{ActionConfig, CommentMode, Context, Event};

/// What publishing did.
#[derive(Debug, Default)]
pub struct Published {
    /// The PR comment's URL, when one was written.
    pub comment_url: Option<String>,
    /// A GitHub call failed for a reason other than permissions.
    pub tool_failure: bool,
}

/// `::error::` per regressed scenario (`::warning::` when the gate is off)
/// and `::warning::` per run that does not count.
pub fn annotate(r: &Report) {
    let label = r
        .baseline
        .as_ref()
        .map(|b| b.label.as_str())
        .unwrap_or("baseline");
    for s in &r.scenarios {
        if let Some(c) = s
            .comparison
            .as_ref()
            .filter(|c| c.status == ChangeStatus::Regressed)
        {
            let level = if r.gate.fail_on_regression {
                Level::Error
            } else {
                Level::Warning
            };
            let title = format!("Performance regression: {}", s.label);
            commands::emit_annotation(
                level,
                Some(&title),
                &format!(
                    "{}: sustained rate {}",
                    s.summary.id,
                    change_phrase(c, label)
                ),
            );
        }
    }
    for run in r.runs.iter().filter(|run| run.verdict != Verdict::Valid) {
        let why = if run.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", run.reasons.join("; "))
        };
        commands::emit_annotation(
            Level::Warning,
            Some(&format!("Run not counted: {}", run.id)),
            &format!("{} is {}{why}", run.id, run.verdict.as_str()),
        );
    }
}

/// Writes the job summary, then comments or updates the tracking issue.
pub async fn publish(
    cfg: &ActionConfig,
    ctx: &Context,
    gh: Option<&GitHub>,
    rep: &ReportOutcome,
    summary: Option<&Path>,
) -> Published {
    let mut out = Published::default();
    let marker = marker(cfg, ctx);
    let body = github::comment_body(&marker, &rep.markdown, ctx.run_url.as_deref());
    if let Some(path) = summary {
        if let Err(e) = commands::append_summary(path, &body) {
            commands::emit_annotation(Level::Warning, None, &e.to_string());
        }
    }
    let not_started = first_failure::not_started(&rep.report.runs);
    if let Some(message) = &not_started {
        commands::emit_annotation(
            Level::Error,
            Some("msgperf: the test could not start"),
            message,
        );
    }
    let Some(gh) = gh else {
        if cfg.comment != CommentMode::Never && matches!(ctx.event, Event::PullRequest(_)) {
            commands::emit_annotation(
                Level::Warning,
                Some("PR comment"),
                "no github-token or GITHUB_REPOSITORY: the report is in the job summary only",
            );
        }
        return out;
    };
    match pr_to_comment(cfg, ctx, gh).await {
        Ok(Some(pr)) => match upsert(gh, pr, &marker, &body, not_started.as_deref(), ctx).await {
            Ok(c) => {
                println!(
                    "{} comment {}",
                    if c.created { "created" } else { "updated" },
                    c.url
                );
                out.comment_url = Some(c.url);
            }
            Err(e) => failed(&mut out, "PR comment", &e),
        },
        Ok(None) => {}
        Err(e) => failed(&mut out, "PR comment", &e),
    }
    if ctx.event == Event::Schedule && rep.report.regressed {
        match gh.upsert_tracking_issue(&marker, &body).await {
            Ok(i) => {
                let verb = if i.created { "opened" } else { "updated" };
                commands::emit_annotation(
                    Level::Error,
                    Some("Nightly regression"),
                    &format!("{verb} tracking issue #{}: {}", i.number, i.url),
                );
            }
            Err(e) => failed(&mut out, "Tracking issue", &e),
        }
    }
    out
}

/// Writes this job's comment on PR `pr`. When the test could not start, the
/// comment says why and keeps the last good report's figures, marked stale.
async fn upsert(
    gh: &GitHub,
    pr: u64,
    marker: &str,
    body: &str,
    not_started: Option<&str>,
    ctx: &Context,
) -> Result<github::CommentOutcome, GitHubError> {
    let Some(message) = not_started else {
        return gh.upsert_comment(pr, marker, body).await;
    };
    let previous = gh.find_comment(pr, marker).await?.map(|(_, _, b)| b);
    let stale =
        github::failed_start_body(marker, message, previous.as_deref(), ctx.run_url.as_deref());
    gh.upsert_comment(pr, marker, &stale).await
}

async fn pr_to_comment(
    cfg: &ActionConfig,
    ctx: &Context,
    gh: &GitHub,
) -> Result<Option<u64>, GitHubError> {
    match (cfg.comment, &ctx.event, &ctx.sha) {
        (CommentMode::Never, _, _) => Ok(None),
        (_, Event::PullRequest(n), _) => Ok(Some(*n)),
        (CommentMode::Always, _, Some(sha)) => gh.open_pr_of_commit(sha).await,
        _ => Ok(None),
    }
}

fn failed(out: &mut Published, what: &str, e: &GitHubError) {
    if e.is_permission() {
        commands::emit_annotation(
            Level::Warning,
            Some(what),
            &format!("{e}. The report is in the job summary only (a pull request from a fork gets a read-only token)."),
        );
    } else {
        commands::emit_annotation(Level::Error, Some(what), &e.to_string());
        out.tool_failure = true;
    }
}

/// The hidden marker of this job's comment: workflow, job, and the matrix
/// file (with the shard when sharded).
pub fn marker(cfg: &ActionConfig, ctx: &Context) -> String {
    let mut m = cfg.matrix.display().to_string();
    if cfg.shard.count > 1 {
        m = format!("{m}#{}of{}", cfg.shard.index, cfg.shard.count);
    }
    github::marker(&ctx.workflow, &ctx.job, &m)
}

/// The step's outputs.
pub fn outputs(
    cfg: &ActionConfig,
    rep: &ReportOutcome,
    comment_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let top = top_scenario(&rep.report.scenarios);
    let rate = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    vec![
        ("report-path", rep.markdown_path.display().to_string()),
        ("results-dir", cfg.results_dir.display().to_string()),
        (
            "sustained-rate",
            rate(
                top.and_then(|s| s.summary.sustained.as_ref())
                    .map(|s| s.mean),
            ),
        ),
        ("peak-rate", rate(top.and_then(|s| peak(&rep.report, s)))),
        ("regressed", rep.regressed.to_string()),
        ("comment-url", comment_url.unwrap_or_default().to_string()),
    ]
}

/// The scenario's mean peak sent rate over valid runs; when none counted,
/// the highest peak of its runs (still what the generator reached).
fn peak(r: &Report, s: &crate::report::model::ScenarioReport) -> Option<f64> {
    s.summary.peak_sent.as_ref().map(|p| p.mean).or_else(|| {
        r.runs
            .iter()
            .filter(|run| run.group == s.summary.id)
            .map(|run| run.peak_sent)
            .max_by(f64::total_cmp)
    })
}
