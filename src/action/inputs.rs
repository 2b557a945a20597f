//! The action's inputs, as data: [`INPUTS`] is the table of every input
//! action.yml declares (name, default, whether it is a secret), and
//! [`ActionConfig::from_env`] reads them the way the runner passes them
//! (`INPUT_<NAME>`, upper-cased, spaces to `_`, hyphens kept) — only through
//! that table, so a test can check action.yml and the binary agree.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::load::PlanId;
use crate::matrix::shard::{parse_split, parse_start_at, BadValue};
use crate::matrix::{HostPattern, Secret, Slice, TargetOverrides};

/// One declared input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    /// The name in action.yml.
    pub name: &'static str,
    /// The default in action.yml (`""` when none).
    pub default: &'static str,
    /// Masked with `::add-mask::` before anything is printed.
    pub secret: bool,
}

const fn input(name: &'static str, default: &'static str) -> InputSpec {
    InputSpec {
        name,
        default,
        secret: false,
    }
}

const fn secret(name: &'static str, default: &'static str) -> InputSpec {
    InputSpec {
        name,
        default,
        secret: true,
    }
}

/// Every input of action.yml, with its default.
pub const INPUTS: &[InputSpec] = &[
    input("matrix", "matrix.yaml"),
    input("results-dir", "msgperf-results"),
    input("report-dir", "msgperf-report"),
    input("mode", "all"),
    input("shard", "1/1"),
    input("part", "1/1"),
    input("split", ""),
    input("start-at", ""),
    input("plan-id", ""),
    input("results", ""),
    secret("github-token", "${{ github.token }}"),
    input("comment", "on-pr"),
    input("baseline", ""),
    input("artifact-name", "msgperf-results"),
    input("nightly", "auto"),
    input("accept-baseline", "false"),
    input("fail-on-regression", "true"),
    input("cloudwatch", "false"),
    input("aws-region", ""),
    input("messenger-ws-url", ""),
    input("organizer-api-url", ""),
    input("participant-api-url", ""),
    input("event-id", ""),
    input("organizer-email", ""),
    secret("organizer-password", ""),
    input("allow-host", ""),
    input("candidate-messenger-ws-url", ""),
    input("candidate-organizer-api-url", ""),
    input("candidate-participant-api-url", ""),
    input("candidate-event-id", ""),
];

/// The environment variable the runner uses for an input.
pub fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.replace(' ', "_").to_uppercase())
}

/// When to comment on a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentMode {
    /// On `pull_request` events only.
    OnPr,
    /// Also on other events, on the open PR of the commit if there is one.
    Always,
    /// Never (job summary only).
    Never,
}

/// Whether this run is the nightly one: it uploads its results as the
/// baseline (`artifact-name`, or `<artifact-name>-regressed` when it
/// regressed) and opens, updates or closes the tracking issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nightly {
    /// On `schedule` events only.
    Auto,
    /// Always (`nightly.yml` passes it for `schedule` and `workflow_dispatch`).
    On,
    /// Never.
    Off,
}

impl Nightly {
    /// Whether a run on `event` is the nightly.
    pub fn applies(self, event: &super::event::Event) -> bool {
        match self {
            Nightly::Auto => *event == super::event::Event::Schedule,
            Nightly::On => true,
            Nightly::Off => false,
        }
    }
}

/// Which stages the action runs: all in one job, or split over a workflow's
/// jobs (`run` per shard and part, then one `report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run, report, publish.
    All,
    /// Run this job's shard and part and write its result files; no report.
    Run,
    /// Report on result files from earlier jobs, publish and gate; no run.
    Report,
}

/// Where the baseline comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// A report.json, its directory, or a results directory.
    Path(PathBuf),
    /// The newest artifact of this name from the default branch.
    Artifact(String),
}

/// The inputs, parsed and checked.
#[derive(Debug, Clone)]
pub struct ActionConfig {
    /// matrix.yaml.
    pub matrix: PathBuf,
    /// Where result files go.
    pub results_dir: PathBuf,
    /// Where report.md, report.json and charts/ go.
    pub report_dir: PathBuf,
    /// Which stages run.
    pub mode: Mode,
    /// This job's shard.
    pub shard: Slice,
    /// This job's part of split scenarios.
    pub part: Slice,
    /// Runners per scenario, overriding matrix.yaml.
    pub split: Option<u32>,
    /// The common start of split parts.
    pub start_at: Option<SystemTime>,
    /// The plan's nonce from `msgperf expand`; `None` makes a fresh one.
    pub plan_id: Option<PlanId>,
    /// Result directories, files or globs to report on (`mode: report`);
    /// empty means `results_dir`.
    pub results: Vec<PathBuf>,
    /// Token for the REST API (empty = no GitHub calls).
    pub token: Secret,
    /// When to comment.
    pub comment: CommentMode,
    /// The baseline, if any.
    pub baseline: Option<Baseline>,
    /// Name of the results artifact the nightly uploads.
    pub artifact_name: String,
    /// Whether this run is the nightly.
    pub nightly: Nightly,
    /// A regressed nightly still becomes the baseline (a maintainer's choice).
    pub accept_baseline: bool,
    /// Whether a regression fails the step (overrides matrix.yaml's gate).
    pub fail_on_regression: bool,
    /// Fetch CloudWatch metrics for the run window.
    pub cloudwatch: bool,
    /// AWS region for CloudWatch.
    pub aws_region: Option<String>,
    /// Target overrides.
    pub target: TargetOverrides,
    /// Hosts this run may load besides loopback and `target.allowed_hosts`.
    pub allow_hosts: Vec<HostPattern>,
    /// The candidate side's overrides (`candidate-*`: URLs and event id; it
    /// signs in with the base's organizer e-mail and password).
    pub candidate: TargetOverrides,
}

/// A wrong input value; the message names the input and the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}` is {value:?}: {expected}")]
pub struct InputError {
    /// The input name.
    pub input: &'static str,
    /// The value given.
    pub value: String,
    /// What is allowed.
    pub expected: String,
}

impl InputError {
    fn new(input: &'static str, value: &str, expected: impl Into<String>) -> Self {
        InputError {
            input,
            value: value.into(),
            expected: expected.into(),
        }
    }
}

/// Reads inputs from an environment lookup, falling back to [`INPUTS`] defaults.
pub struct Inputs<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Inputs<'a> {
    /// Inputs from `env` (pass `&|k| std::env::var(k).ok()`).
    pub fn new(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Inputs { env }
    }

    /// The input's value, trimmed; its declared default when unset or blank.
    /// Panics on an undeclared name: every read must be in [`INPUTS`].
    pub fn get(&self, name: &str) -> String {
        let spec = INPUTS
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("input {name} is not declared in INPUTS"));
        let value = (self.env)(&env_name(name)).unwrap_or_default();
        let value = if spec.secret {
            value
        } else {
            value.trim().to_string()
        };
        if value.is_empty() {
            spec.default.to_string()
        } else {
            value
        }
    }

    /// The comma- or newline-separated items of a list input.
    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .split(['\n', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// The input parsed by one of the parsers the CLI's flags share.
    fn typed<T>(
        &self,
        name: &'static str,
        parse: fn(&str) -> Result<T, BadValue>,
    ) -> Result<T, InputError> {
        let value = self.get(name);
        parse(&value).map_err(|e| InputError::new(name, &value, e.expected))
    }

    fn bool(&self, name: &'static str) -> Result<bool, InputError> {
        let v = self.get(name);
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(InputError::new(name, &v, "true or false")),
        }
    }
}

impl ActionConfig {
    /// Reads and checks every input.
    pub fn from_inputs(i: &Inputs<'_>) -> Result<ActionConfig, InputError> {
        let shard = i.typed("shard", Slice::parse_value)?;
        let part = i.typed("part", Slice::parse_value)?;
        let mode = match i.get("mode").as_str() {
            "all" => Mode::All,
            "run" => Mode::Run,
            "report" => Mode::Report,
            other => return Err(InputError::new("mode", other, "all, run or report")),
        };
        let split = i.typed("split", parse_split)?;
        let start_at = i.typed("start-at", parse_start_at)?;
        let plan_id = i.typed("plan-id", PlanId::parse_value)?;
        let results = i.list("results").into_iter().map(PathBuf::from).collect();
        let allow_hosts = allow_hosts(i)?;
        let comment = match i.get("comment").as_str() {
            "on-pr" => CommentMode::OnPr,
            "always" => CommentMode::Always,
            "never" => CommentMode::Never,
            other => return Err(InputError::new("comment", other, "on-pr, always or never")),
        };
        let nightly = match i.get("nightly").to_ascii_lowercase().as_str() {
            "auto" => Nightly::Auto,
            "true" => Nightly::On,
            "false" => Nightly::Off,
            other => {
                return Err(InputError::new(
                    "nightly",
                    other,
                    "auto (nightly on schedule events), true or false",
                ))
            }
        };
        let baseline = i
            .optional("baseline")
            .map(|b| match b.strip_prefix("artifact:") {
                Some(name) => Baseline::Artifact(name.trim().to_string()),
                None => Baseline::Path(PathBuf::from(b)),
            });
        if baseline == Some(Baseline::Artifact(String::new())) {
            return Err(InputError::new(
                "baseline",
                "artifact:",
                "a path, or artifact:<name> with the artifact's name",
            ));
        }
        let candidate_event_id = parse_event_id(i, "candidate-event-id")?;
        let event_id = parse_event_id(i, "event-id")?;
        // A token that is literally the expression means it was not expanded
        // (run outside a composite step): fall back to GITHUB_TOKEN.
        let token = Some(i.get("github-token"))
            .filter(|t| !t.starts_with("${{"))
            .or_else(|| (i.env)("GITHUB_TOKEN"))
            .unwrap_or_default();
        Ok(ActionConfig {
            matrix: i.get("matrix").into(),
            results_dir: i.get("results-dir").into(),
            report_dir: i.get("report-dir").into(),
            mode,
            shard,
            part,
            split,
            start_at,
            plan_id,
            results,
            token: Secret::new(token),
            comment,
            baseline,
            artifact_name: i.get("artifact-name"),
            nightly,
            accept_baseline: i.bool("accept-baseline")?,
            fail_on_regression: i.bool("fail-on-regression")?,
            cloudwatch: i.bool("cloudwatch")?,
            aws_region: i.optional("aws-region"),
            target: TargetOverrides {
                messenger_ws_url: i.optional("messenger-ws-url"),
                organizer_api_url: i.optional("organizer-api-url"),
                participant_api_url: i.optional("participant-api-url"),
                event_id,
                organizer_email: i.optional("organizer-email"),
                organizer_password: i.optional("organizer-password").map(Secret::new),
            },
            allow_hosts,
            candidate: TargetOverrides {
                messenger_ws_url: i.optional("candidate-messenger-ws-url"),
                organizer_api_url: i.optional("candidate-organizer-api-url"),
                participant_api_url: i.optional("candidate-participant-api-url"),
                event_id: candidate_event_id,
                ..TargetOverrides::default()
            },
        })
    }
}

/// The `allow-host` input: host names, addresses or CIDR blocks.
fn allow_hosts(i: &Inputs<'_>) -> Result<Vec<HostPattern>, InputError> {
    i.list("allow-host")
        .iter()
        .map(|h| {
            HostPattern::parse_value(h).map_err(|e| InputError::new("allow-host", h, e.expected))
        })
        .collect()
}

/// An event id input (`event-id`, `candidate-event-id`): empty for none.
fn parse_event_id(i: &Inputs<'_>, name: &'static str) -> Result<Option<i64>, InputError> {
    match i.optional(name) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| InputError::new(name, &v, "an integer event id")),
    }
}

/// The values of every secret input, raw from the environment (for masking
/// before anything else happens, even before the inputs are checked).
pub fn secret_values(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    INPUTS
        .iter()
        .filter(|s| s.secret)
        .filter_map(|s| env(&env_name(s.name)))
        .chain(env("GITHUB_TOKEN"))
        .filter(|v| !v.trim().is_empty())
        .collect()
}
