//! `msgperf action`: the GitHub Action's entry point. Reads the inputs and
//! the event the way the runner passes them, then wires the stages — target
//! overrides, shard and part into the plan, the run, the report, and GitHub's
//! side ([`crate::action`]). `mode: run` stops after the result files (one job
//! of a scaled-out workflow) and `mode: report` starts from the result files
//! of those jobs, so one report and one comment cover them all.
//!
//! Order matters for secrets: every secret input is masked with
//! `::add-mask::` before anything else is printed. Every configuration error
//! is also shown as an `::error::` annotation.

use std::path::PathBuf;

use crate::action::event::{self, Context};
use crate::action::inputs::{self, ActionConfig, Baseline, CommentMode, Inputs, Mode};
use crate::action::nightly::BaselineOrigin;
use crate::action::publish;
use crate::github::commands::{self, Level};
use crate::github::{GitHub, Repo};
use crate::matrix::{self, CloudWatchChoice, PlanOverrides};
use crate::report::{self, ReportOptions};
use crate::run::{self, RunOptions};

use super::{with_start_failures, Code, Failure};

/// Runner files the action writes, read from the environment up front.
#[derive(Debug, Clone)]
struct RunnerFiles {
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
    temp: PathBuf,
}

/// Runs the action with the process environment; returns the exit code.
pub(super) async fn run() -> Result<Code, Failure> {
    run_with_env(&|k| std::env::var(k).ok()).await
}

/// Runs the action with `env` as its environment (tests pass their own).
pub async fn run_with_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Code, Failure> {
    for value in inputs::secret_values(env) {
        commands::emit_mask(&value);
    }
    configure_and_execute(env).await.inspect_err(|e| {
        if let Failure::Config(e) = e {
            commands::emit_annotation(Level::Error, Some("msgperf configuration"), &e.to_string());
        }
    })
}

async fn configure_and_execute(env: &dyn Fn(&str) -> Option<String>) -> Result<Code, Failure> {
    let cfg = ActionConfig::from_inputs(&Inputs::new(env))?;
    let ctx = event::detect(env)?;
    let path = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let files = RunnerFiles {
        output: path("GITHUB_OUTPUT"),
        summary: path("GITHUB_STEP_SUMMARY"),
        temp: path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir),
    };
    execute(cfg, ctx, files).await
}

async fn execute(cfg: ActionConfig, ctx: Context, files: RunnerFiles) -> Result<Code, Failure> {
    let (results, gate, cloudwatch) = match cfg.mode {
        Mode::Report => {
            // A report needs only the plan's gate and CloudWatch settings: no
            // target secrets to resolve.
            let plan = matrix::load_plan_only(&cfg.matrix)?;
            let plan = overrides(&cfg).apply(plan, &cfg.matrix)?;
            let results = if cfg.results.is_empty() {
                vec![cfg.results_dir.clone()]
            } else {
                cfg.results.clone()
            };
            (results, plan.gate, plan.cloudwatch)
        }
        Mode::All | Mode::Run => {
            let outcome = run::run(&run_options(&cfg, &ctx)).await?;
            if let Some(code) = outcome.interrupted {
                return Ok(code);
            }
            if cfg.mode == Mode::Run {
                return finish_run_job(&cfg, &files, &outcome);
            }
            if outcome.paths.is_empty() {
                commands::emit_annotation(Level::Warning, None, "no scenarios ran (empty shard?)");
                return Ok(0);
            }
            (outcome.paths, outcome.gate, outcome.cloudwatch)
        }
    };
    report_and_publish(&cfg, &ctx, &files, results, gate, cloudwatch.as_ref()).await
}

/// The action's inputs as the one raw invocation `msgperf run` also fills.
fn run_options(cfg: &ActionConfig, ctx: &Context) -> RunOptions {
    RunOptions {
        matrix: cfg.matrix.clone(),
        out: cfg.results_dir.clone(),
        scenarios: Vec::new(),
        shard: cfg.shard,
        part: cfg.part,
        split: cfg.split,
        start_at: cfg.start_at,
        plan_id: cfg.plan_id,
        attempt: ctx.run_attempt,
        overrides: overrides(cfg),
        allow_hosts: cfg.allow_hosts.clone(),
    }
}

/// What the inputs change in the plan: the target, the gate, CloudWatch.
fn overrides(cfg: &ActionConfig) -> PlanOverrides {
    PlanOverrides {
        target: cfg.target.clone(),
        candidate: cfg.candidate.clone(),
        fail_on_regression: Some(cfg.fail_on_regression),
        cloudwatch: if cfg.cloudwatch {
            CloudWatchChoice::On {
                region: cfg.aws_region.clone(),
            }
        } else {
            CloudWatchChoice::Off
        },
    }
}

/// `mode: run`: the table, the `results-dir` output, and the exit code of
/// the job (a failed start, then an aborted matrix).
fn finish_run_job(
    cfg: &ActionConfig,
    files: &RunnerFiles,
    outcome: &run::RunOutcome,
) -> Result<Code, Failure> {
    print!(
        "{}",
        crate::report::format::text(|out| run::table::render(out, &outcome.results))
    );
    if let Some(out) = &files.output {
        let dir = cfg.results_dir.display().to_string();
        commands::write_outputs(out, &[("results-dir", dir)])?;
    }
    let failures = outcome
        .results
        .iter()
        .filter_map(|r| r.start_failure.as_ref());
    if let Some((code, message)) = crate::results::worst_start_failure(failures) {
        commands::emit_annotation(
            Level::Error,
            Some("msgperf: the test could not start"),
            message,
        );
        return Ok(code);
    }
    Ok(i32::from(outcome.aborted.is_some()))
}

/// The report of `results`, then GitHub's side: annotations, job summary,
/// outputs and the PR comment; the exit code of the gate and the runs.
async fn report_and_publish(
    cfg: &ActionConfig,
    ctx: &Context,
    files: &RunnerFiles,
    results: Vec<PathBuf>,
    gate: matrix::Gate,
    cloudwatch: Option<&matrix::CloudWatchConfig>,
) -> Result<Code, Failure> {
    let github = client(cfg, ctx)?;
    let (baseline, baseline_label, origin) = baseline(cfg, ctx, github.as_ref(), files).await;
    let commit = report::Commit {
        sha: ctx.sha.clone(),
        git_ref: None,
        run_url: ctx.run_url.clone(),
    };
    let opts = ReportOptions {
        results,
        baseline,
        out: cfg.report_dir.clone(),
        gate,
        history: None,
        baseline_label,
    };
    let prepared = super::report::prepare(&opts, cloudwatch, &|k| std::env::var(k).ok()).await?;
    let rep = report::write(&opts, &commit, prepared)?;
    print!("{}", rep.summary_table);
    println!(
        "report: {} (one page: {})",
        rep.markdown_path.display(),
        rep.html_path.display()
    );

    publish::annotate(&rep.report);
    let summary = files.summary.as_deref();
    let published =
        publish::publish(cfg, ctx, github.as_ref(), &rep, origin.as_ref(), summary).await;
    if let Some(out) = &files.output {
        let outputs = publish::outputs(cfg, ctx, &rep, &published);
        commands::write_outputs(out, &outputs)?;
    }
    if published.tool_failure {
        return Ok(1);
    }
    let failures = rep
        .report
        .runs
        .iter()
        .filter_map(|r| r.start_failure.as_ref());
    Ok(with_start_failures(rep.exit_code, failures).0)
}

fn client(cfg: &ActionConfig, ctx: &Context) -> Result<Option<GitHub>, Failure> {
    let wanted = cfg.comment != CommentMode::Never
        || matches!(cfg.baseline, Some(Baseline::Artifact(_)))
        || cfg.nightly.applies(&ctx.event);
    let token = cfg.token.expose();
    match (&ctx.repository, token.is_empty()) {
        (Some(repo), false) if wanted => {
            let repo = Repo::parse(repo)?;
            Ok(Some(GitHub::new(&ctx.api_url, token, repo)?))
        }
        _ => Ok(None),
    }
}

/// The baseline path, its label and where it came from; an artifact that
/// cannot be had is a warning (the report is still useful without a comparison).
async fn baseline(
    cfg: &ActionConfig,
    ctx: &Context,
    github: Option<&GitHub>,
    files: &RunnerFiles,
) -> (Option<PathBuf>, Option<String>, Option<BaselineOrigin>) {
    match &cfg.baseline {
        None => (None, None, None),
        Some(Baseline::Path(p)) => (Some(p.clone()), None, Some(BaselineOrigin::path(p))),
        Some(Baseline::Artifact(name)) => {
            let Some(gh) = github else {
                commands::emit_annotation(
                    Level::Warning,
                    Some("Baseline"),
                    &format!("baseline artifact:{name} needs github-token and GITHUB_REPOSITORY; comparing with nothing"),
                );
                return (None, None, None);
            };
            let dir = files.temp.join("msgperf-baseline");
            let _ = std::fs::remove_dir_all(&dir);
            match gh.fetch_artifact(name, &dir).await {
                Ok(Some(a)) => {
                    let origin = BaselineOrigin::from_artifact(name, &a, ctx.run_url.as_deref());
                    println!(
                        "baseline: artifact {} ({} files)",
                        origin.describe(),
                        a.files
                    );
                    (
                        Some(dir),
                        Some(format!("{name} (default branch)")),
                        Some(origin),
                    )
                }
                Ok(None) => {
                    commands::emit_annotation(
                        Level::Notice,
                        Some("Baseline"),
                        &format!("no unexpired artifact {name} from the default branch yet (the nightly workflow uploads it); comparing with nothing"),
                    );
                    (None, None, None)
                }
                Err(e) => {
                    commands::emit_annotation(
                        Level::Warning,
                        Some("Baseline"),
                        &format!("cannot fetch baseline artifact {name}: {e}"),
                    );
                    (None, None, None)
                }
            }
        }
    }
}
