//! `msgperf report`: analyse result files into report.md, report.json and
//! charts/, and gate on regressions; with `--cloudwatch`, the report
//! pipeline's CloudWatch step runs between reading and rendering.

use std::path::Path;

use crate::cli::ReportArgs;
use crate::matrix::{self, CloudWatchChoice, CloudWatchConfig, Gate, PlanOverrides};
use crate::report::{self, ReportOptions};

use super::{Code, Failure};

/// The report of `--results`, gated by the matrix file's `gate:` (defaults
/// when the default matrix file does not exist), with its `cloudwatch:`
/// block when `--cloudwatch` is given.
pub(super) async fn report(args: ReportArgs) -> Result<Code, Failure> {
    let plan = if args.matrix.exists() || args.matrix != Path::new("matrix.yaml") {
        Some(matrix::load_file(&args.matrix)?)
    } else {
        None
    };
    let gate = plan.as_ref().map_or_else(Gate::default, |p| p.gate.clone());
    let cloudwatch = match plan {
        Some(plan) if args.cloudwatch => {
            let choice = CloudWatchChoice::On {
                region: args.aws_region,
            };
            let overrides = PlanOverrides {
                cloudwatch: choice,
                ..PlanOverrides::default()
            };
            overrides.apply(plan, &args.matrix)?.cloudwatch
        }
        None if args.cloudwatch => {
            return Err(Failure::config(anyhow::anyhow!(
                "--cloudwatch reads the `cloudwatch:` block of the matrix file, and {} does not exist: pass --matrix",
                args.matrix.display()
            )))
        }
        _ => None,
    };
    let opts = ReportOptions {
        results: args.results,
        baseline: args.baseline,
        out: args.out,
        gate,
        history: args.history,
        baseline_label: args.baseline_label,
    };
    write(&opts, cloudwatch.as_ref()).await
}

/// Writes the report (after the CloudWatch step when `cloudwatch` is given),
/// prints its summary, and returns the gate's exit code.
pub(super) async fn write(
    opts: &ReportOptions,
    cloudwatch: Option<&CloudWatchConfig>,
) -> Result<Code, Failure> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let commit = report::Commit {
        sha: env("GITHUB_SHA"),
        git_ref: env("GITHUB_REF_NAME"),
        run_url: match (
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
            env("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(id)) => {
                Some(format!("{server}/{repo}/actions/runs/{id}"))
            }
            _ => None,
        },
    };
    let prepared = prepare(opts, cloudwatch, &|k| std::env::var(k).ok()).await?;
    let outcome = report::write(opts, &commit, prepared)?;
    println!();
    print!("{}", outcome.summary_table);
    println!(
        "report: {} ({} charts, one page in {}, data in {})",
        outcome.markdown_path.display(),
        outcome.charts.len(),
        outcome.html_path.display(),
        outcome.json_path.display()
    );
    Ok(outcome.exit_code)
}

/// The result files read and analysed, with their CloudWatch windows when
/// `cloudwatch` is given: what `msgperf report`, `msgperf run` and the
/// action render.
pub(super) async fn prepare(
    opts: &ReportOptions,
    cloudwatch: Option<&CloudWatchConfig>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<report::Prepared, Failure> {
    let mut prepared = report::prepare(opts)?;
    if let Some(config) = cloudwatch {
        report::cloudwatch::enrich(config, &mut prepared, env).await?;
    }
    Ok(prepared)
}
