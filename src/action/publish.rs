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

use super::nightly::{self, BaselineOrigin, Night};
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
    origin: Option<&BaselineOrigin>,
    summary: Option<&Path>,
) -> Published {
    let mut out = Published::default();
    let marker = marker(cfg, ctx);
    let md = match origin {
        Some(o) => format!("{}{}", o.line(), rep.markdown),
        None => rep.markdown.clone(),
    };
    let body = github::comment_body(&marker, &md, ctx.run_url.as_deref());
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
    if cfg.nightly.applies(&ctx.event) {
        let night = Night::of(rep.report.regressed, cfg.accept_baseline);
        if let Err(e) = track(gh, ctx, &marker, night, rep, origin, &body).await {
            failed(&mut out, "Tracking issue", &e);
        }
    }
    out
}

/// The nightly's tracking issue: opened or updated (with the trend since the
/// last good night) when tonight regressed, closed with a comment otherwise.
async fn track(
    gh: &GitHub,
    ctx: &Context,
    marker: &str,
    night: Night,
    rep: &ReportOutcome,
    origin: Option<&BaselineOrigin>,
    body: &str,
) -> Result<(), GitHubError> {
    let found = gh.find_tracking_issue(marker).await?;
    let row = nightly::trend_row(&rep.report, ctx);
    match (night, found) {
        (Night::Regressed, found) => {
            let previous = found.as_ref().map(|i| i.body.as_str());
            let issue = nightly::issue_body(marker, origin, previous, &row, body);
            let i = gh.upsert_tracking_issue(marker, &issue).await?;
            let verb = if i.created { "opened" } else { "updated" };
            commands::emit_annotation(
                Level::Error,
                Some("Nightly regression"),
                &format!("{verb} tracking issue #{}: {}", i.number, i.url),
            );
        }
        // Without a baseline tonight says nothing about the regression.
        (Night::Good, Some(_)) if rep.report.baseline.is_none() => {}
        (_, Some(i)) => {
            gh.close_tracking_issue(i.number, &nightly::close_comment(night, &row, origin))
                .await?;
            commands::emit_annotation(
                Level::Notice,
                Some("Nightly recovered"),
                &format!("closed tracking issue #{}: {}", i.number, i.url),
            );
        }
        (_, None) => {}
    }
    Ok(())
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
    ctx: &Context,
    rep: &ReportOutcome,
    published: &Published,
) -> Vec<(&'static str, String)> {
    let comment_url = published.comment_url.as_deref();
    let nightly = cfg.nightly.applies(&ctx.event);
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
        ("status", RunStatus::of(rep, published).as_str().to_string()),
        ("nightly", nightly.to_string()),
        ("upload-artifact", upload_name(cfg, nightly, rep)),
    ]
}

/// The `status` output: what the run means, for a workflow to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// At least one valid run and no regression.
    Valid,
    /// A scenario regressed against the baseline.
    Regressed,
    /// No run counted (all failed, too short, or without a plateau).
    NoValidRun,
    /// The test could not start, or a GitHub call failed.
    Failed,
}

impl RunStatus {
    /// The status of a report once published.
    pub fn of(rep: &ReportOutcome, published: &Published) -> RunStatus {
        let runs = &rep.report.runs;
        if published.tool_failure || first_failure::not_started(runs).is_some() {
            RunStatus::Failed
        } else if rep.regressed {
            RunStatus::Regressed
        } else if !runs.iter().any(|r| r.verdict == Verdict::Valid) {
            RunStatus::NoValidRun
        } else {
            RunStatus::Valid
        }
    }

    /// The output's value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Valid => "valid",
            RunStatus::Regressed => "regressed",
            RunStatus::NoValidRun => "no-valid-run",
            RunStatus::Failed => "failed",
        }
    }
}

/// The name the workflow uploads the results under: `artifact-name` for a
/// nightly that did not regress (the next baseline), `<artifact-name>-regressed`
/// for one that did (the baseline stays the last good night) unless
/// `accept-baseline` is true, empty when this run is not the nightly.
pub fn upload_name(cfg: &ActionConfig, nightly: bool, rep: &ReportOutcome) -> String {
    match (nightly, rep.regressed) {
        (false, _) => String::new(),
        (true, regressed) if !regressed || cfg.accept_baseline => cfg.artifact_name.clone(),
        (true, _) => format!("{}-regressed", cfg.artifact_name),
    }
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
