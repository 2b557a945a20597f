//! `msgperf report`: analyse result files into report.md, report.json and
//! charts/, and gate on regressions.

use std::path::Path;

use crate::cli::ReportArgs;
use crate::matrix::{self, Gate};
use crate::report::{self, ReportOptions};

use super::{Code, Failure};

/// The report of `--results`, gated by the matrix file's `gate:` (defaults
/// when the default matrix file does not exist).
pub(super) fn report(args: ReportArgs) -> Result<Code, Failure> {
    let gate = if args.matrix.exists() || args.matrix != Path::new("matrix.yaml") {
        matrix::load_file(&args.matrix)?.gate
    } else {
        Gate::default()
    };
    write(&ReportOptions {
        results: args.results,
        baseline: args.baseline,
        out: args.out,
        gate,
        history: args.history,
        baseline_label: args.baseline_label,
    })
}

/// Writes the report, prints its summary, and returns the gate's exit code.
pub(super) fn write(opts: &ReportOptions) -> Result<Code, Failure> {
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
    let outcome = report::run_for(opts, &commit)?;
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
