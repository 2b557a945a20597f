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

use crate::action::event::{self, Context, Event};
use crate::action::inputs::{self, ActionConfig, Baseline, CommentMode, Inputs, Mode};
use crate::action::publish;
use crate::github::commands::{self, Level};
use crate::github::{GitHub, Repo};
use crate::matrix;
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
    // A report needs only the plan's gate: no target secrets to resolve.
    let mut plan = match cfg.mode {
        Mode::Report => matrix::load_plan_only(&cfg.matrix),
        Mode::All | Mode::Run => matrix::load_file(&cfg.matrix),
    }?;
    matrix::apply_overrides(&mut plan, &cfg.target)?;
    plan.gate.fail_on_regression = cfg.fail_on_regression;
    apply_cloudwatch(&cfg, &mut plan)?;
    let results = match cfg.mode {
        Mode::Report => {
            if cfg.results.is_empty() {
                vec![cfg.results_dir.clone()]
            } else {
                cfg.results.clone()
            }
        }
        Mode::All | Mode::Run => {
            let outcome = run::run_plan(
                &plan,
                &RunOptions {
                    matrix: cfg.matrix.clone(),
                    out: cfg.results_dir.clone(),
                    shard: cfg.shard,
                    part: cfg.part,
                    split: cfg.split,
                    start_at: cfg.start_at,
                    plan_id: cfg.plan_id,
                    attempt: ctx.run_attempt,
                    ..Default::default()
                },
            )
            .await?;
            if let Some(code) = outcome.interrupted {
                return Ok(code);
            }
            if cfg.mode == Mode::Run {
                print!("{}", run::table::render(&outcome.results));
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
                return Ok(i32::from(outcome.aborted.is_some()));
            }
            if outcome.paths.is_empty() {
                commands::emit_annotation(Level::Warning, None, "no scenarios ran (empty shard?)");
                return Ok(0);
            }
            outcome.paths
        }
    };
    let github = client(&cfg, &ctx)?;
    let (baseline, baseline_label) = baseline(&cfg, github.as_ref(), &files).await;
    let rep = report::run(&ReportOptions {
        results,
        baseline,
        out: cfg.report_dir.clone(),
        gate: plan.gate.clone(),
        history: None,
        baseline_label,
    })?;
    print!("{}", rep.summary_table);
    println!("report: {}", rep.markdown_path.display());

    publish::annotate(&rep.report);
    let published =
        publish::publish(&cfg, &ctx, github.as_ref(), &rep, files.summary.as_deref()).await;
    if let Some(out) = &files.output {
        let outputs = publish::outputs(&cfg, &rep, published.comment_url.as_deref());
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
        || ctx.event == Event::Schedule;
    let token = cfg.token.expose();
    match (&ctx.repository, token.is_empty()) {
        (Some(repo), false) if wanted => {
            let repo = Repo::parse(repo)?;
            Ok(Some(GitHub::new(&ctx.api_url, token, repo)?))
        }
        _ => Ok(None),
    }
}

/// The baseline path and its label; an artifact that cannot be had is a
/// warning (the report is still useful without a comparison).
async fn baseline(
    cfg: &ActionConfig,
    github: Option<&GitHub>,
    files: &RunnerFiles,
) -> (Option<PathBuf>, Option<String>) {
    match &cfg.baseline {
        None => (None, None),
        Some(Baseline::Path(p)) => (Some(p.clone()), None),
        Some(Baseline::Artifact(name)) => {
            let Some(gh) = github else {
                commands::emit_annotation(
                    Level::Warning,
                    Some("Baseline"),
                    &format!("baseline artifact:{name} needs github-token and GITHUB_REPOSITORY; comparing with nothing"),
                );
                return (None, None);
            };
            let dir = files.temp.join("msgperf-baseline");
            let _ = std::fs::remove_dir_all(&dir);
            match gh.fetch_artifact(name, &dir).await {
                Ok(Some(a)) => {
                    println!("baseline: artifact {name} (id {}, {} files)", a.id, a.files);
                    (Some(dir), Some(format!("{name} (default branch)")))
                }
                Ok(None) => {
                    commands::emit_annotation(
                        Level::Notice,
                        Some("Baseline"),
                        &format!("no unexpired artifact {name} from the default branch yet (the nightly workflow uploads it); comparing with nothing"),
                    );
                    (None, None)
                }
                Err(e) => {
                    commands::emit_annotation(
                        Level::Warning,
                        Some("Baseline"),
                        &format!("cannot fetch baseline artifact {name}: {e}"),
                    );
                    (None, None)
                }
            }
        }
    }
}

/// `cloudwatch: true` fetches the metrics of matrix.yaml's `cloudwatch:` block
/// (in `aws-region` when given); `false` skips the fetch.
fn apply_cloudwatch(cfg: &ActionConfig, plan: &mut matrix::Plan) -> Result<(), Failure> {
    if !cfg.cloudwatch {
        plan.cloudwatch = None;
        return Ok(());
    }
    let Some(cw) = plan.cloudwatch.as_mut() else {
        return Err(Failure::Config(anyhow::anyhow!(
            "input `cloudwatch` is true but {} has no `cloudwatch:` block: add one listing the metrics to fetch, or set cloudwatch: false",
            cfg.matrix.display()
        )));
    };
    if let Some(region) = &cfg.aws_region {
        cw.region = Some(region.clone());
    }
    Ok(())
}
