//! `msgperf run`: the scenarios of a matrix file, then the report of what ran.

use crate::cli::RunArgs;
use crate::run::{self, RunOptions};

use super::{report, with_start_failures, Code, Failure};

/// Runs the plan, prints the table of runs, writes the report, and fails
/// when no run could start (after the results and the report are written).
pub(super) async fn run(args: RunArgs) -> Result<Code, Failure> {
    let outcome = run::run(&RunOptions {
        matrix: args.matrix,
        out: args.out.clone(),
        scenarios: args.scenarios,
        shard: args.shard,
        part: args.part,
        split: args.split,
        start_at: args.start_at,
        plan_id: args.plan_id,
        attempt: args.attempt,
        overrides: Default::default(),
        allow_hosts: args.allow_hosts,
    })
    .await?;
    print!(
        "{}",
        crate::report::format::text(|out| run::table::render(out, &outcome.results))
    );
    println!(
        "{} result file(s) in {}",
        outcome.paths.len(),
        args.out.display()
    );
    if let Some(code) = outcome.interrupted {
        return Ok(code);
    }
    if let Some(reason) = &outcome.aborted {
        eprintln!("error: matrix aborted (on_hook_failure: abort): {reason}");
        return Ok(1);
    }
    if outcome.paths.is_empty() {
        return Ok(0);
    }
    let opts = crate::report::ReportOptions {
        results: outcome.paths,
        baseline: args.baseline,
        out: args.report_dir,
        gate: outcome.gate,
        history: None,
        baseline_label: None,
    };
    let code = report::write(&opts, outcome.cloudwatch.as_ref()).await?;
    // A run that never loaded the API is no measurement: say what to fix.
    let failures = outcome
        .results
        .iter()
        .filter_map(|r| r.start_failure.as_ref());
    let (code, message) = with_start_failures(code, failures);
    if let Some(message) = message {
        eprintln!("error: the test could not start: {message}");
    }
    Ok(code)
}
