//! `msgperf expand`: the runner jobs of a matrix, for people or a workflow.

use crate::cli::ExpandArgs;
use crate::expand;
use crate::load::PlanId;
use crate::matrix;

use super::{Code, Failure};

/// Prints the plan's jobs. Only the plan is needed: `${VAR}` target values
/// stay unresolved, so the expand job needs no secrets.
pub(super) fn expand(args: ExpandArgs) -> Result<Code, Failure> {
    let plan = matrix::load_plan_only(&args.matrix)?;
    let e = expand::expansion(
        &plan,
        args.shards,
        args.split,
        args.start_at,
        args.start_in,
        args.plan_id.unwrap_or_else(PlanId::fresh),
    );
    if e.start_at.is_some() && plan.target.is_none() {
        eprintln!("warning: {} has no `target:`: split parts need a shared target (pass it to `run` through the action's target inputs), or they fail at start", args.matrix.display());
    }
    print!("{}", expand::render(&e, args.format)?);
    Ok(0)
}
