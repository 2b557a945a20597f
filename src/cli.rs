//! Command-line types, and nothing else: every option also comes from an
//! environment variable, and every typed value is parsed here by a
//! `value_parser` that shares its parser with the action's `INPUT_*`
//! ([`crate::action::inputs`]), so a limit is written once. What a command
//! does is in [`crate::commands`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::load::PlanId;
use crate::matrix::shard::{self, BadValue};
use crate::matrix::{HostPattern, Slice};

/// Performance tests for a chat Messenger API.
#[derive(Debug, Parser)]
#[command(name = "msgperf", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the scenarios of a matrix file and write one result file per run.
    Run(RunArgs),
    /// Start the embedded staging Messenger API until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Analyse result files: report.md, report.json, charts/, baseline comparison.
    Report(ReportArgs),
    /// Plan the runner jobs of a matrix: shards and split parts, for
    /// people (`table`) or a workflow's `strategy.matrix` (`github`).
    Expand(ExpandArgs),
    /// The GitHub Action: run, report, job summary, outputs and PR comment
    /// (inputs from `INPUT_*`, see action.yml).
    Action(ActionArgs),
}

/// Options of `msgperf run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The matrix file.
    #[arg(long, env = "MSGPERF_MATRIX", default_value = "matrix.yaml")]
    pub matrix: PathBuf,
    /// Directory of the result files.
    #[arg(long, env = "MSGPERF_OUT", default_value = "results")]
    pub out: PathBuf,
    /// Run only these scenario ids (or groups without `-rN`); repeatable.
    #[arg(long = "scenario", env = "MSGPERF_SCENARIO", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Where the report of this run goes (report.md, report.json, charts/).
    #[arg(long, env = "MSGPERF_REPORT_DIR", default_value = "report")]
    pub report_dir: PathBuf,
    /// Compare with this baseline (a previous report.json, its directory, or a results directory).
    #[arg(long, env = "MSGPERF_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Run only shard i of N (balanced by expected duration), e.g. `2/4`.
    #[arg(long, env = "MSGPERF_SHARD", default_value = "1/1", value_parser = typed(Slice::parse_value))]
    pub shard: Slice,
    /// This runner's part j of K of split scenarios (from `msgperf expand`).
    #[arg(long, env = "MSGPERF_PART", default_value = "1/1", value_parser = typed(Slice::parse_value))]
    pub part: Slice,
    /// Generate every scenario with K runners at once (overrides `split:`);
    /// empty keeps matrix.yaml's.
    #[arg(long, env = "MSGPERF_SPLIT", default_value = "", value_parser = typed(shard::parse_split))]
    pub split: std::option::Option<u32>,
    /// RFC 3339 instant at which all parts of a split scenario start
    /// (from `msgperf expand`); empty when nothing is split.
    #[arg(long, env = "MSGPERF_START_AT", default_value = "", value_parser = typed(shard::parse_start_at))]
    pub start_at: std::option::Option<SystemTime>,
    /// The plan's nonce (8 hex digits) from `msgperf expand`, the same for
    /// every job of one plan: it makes participant e-mails and message tokens
    /// unique across runners. Empty derives one from --start-at, or makes a
    /// fresh one (a single runner).
    #[arg(long, env = "MSGPERF_PLAN_ID", default_value = "", value_parser = typed(PlanId::parse_value))]
    pub plan_id: std::option::Option<PlanId>,
    /// The workflow run attempt (GitHub sets GITHUB_RUN_ATTEMPT): a re-run
    /// job keeps the plan id but signs up new participants.
    #[arg(long, env = "GITHUB_RUN_ATTEMPT", default_value_t = 1)]
    pub attempt: u32,
    /// Also allow loading HOST for this run (a host name, an IP address or a
    /// CIDR block), besides loopback and matrix.yaml's `target.allowed_hosts`;
    /// repeatable. Any other target host is refused before any traffic (exit 2).
    #[arg(long = "allow-host", value_name = "HOST", env = "MSGPERF_ALLOW_HOST", value_delimiter = ',', value_parser = typed(HostPattern::parse_value))]
    pub allow_hosts: Vec<HostPattern>,
}

/// Options of `msgperf expand`.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// The matrix file.
    #[arg(long, env = "MSGPERF_MATRIX", default_value = "matrix.yaml")]
    pub matrix: PathBuf,
    /// Number of shards (runners running different scenarios).
    #[arg(long, env = "MSGPERF_SHARDS", default_value = "1", value_parser = typed_count(parse_shards))]
    pub shards: u32,
    /// Generate every scenario with K runners at once (overrides `split:`);
    /// empty keeps matrix.yaml's.
    #[arg(long, env = "MSGPERF_SPLIT", default_value = "", value_parser = typed(shard::parse_split))]
    pub split: std::option::Option<u32>,
    /// Common start of split parts (RFC 3339); default now plus --start-in.
    #[arg(long, env = "MSGPERF_START_AT", default_value = "", value_parser = typed(shard::parse_start_at))]
    pub start_at: std::option::Option<SystemTime>,
    /// Lead time before the common start when --start-at is not given: long
    /// enough for every runner to start and install msgperf.
    #[arg(long, env = "MSGPERF_START_IN", default_value = "5m", value_parser = humantime::parse_duration)]
    pub start_in: Duration,
    /// The plan's nonce to print (8 hex digits); default a fresh one.
    #[arg(long, env = "MSGPERF_PLAN_ID", default_value = "", value_parser = typed(PlanId::parse_value))]
    pub plan_id: std::option::Option<PlanId>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::expand::Format,
}

/// Options of `msgperf report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result directories or files (several machines or shards are merged).
    #[arg(long, env = "MSGPERF_RESULTS", value_delimiter = ',', required = true, num_args = 1..)]
    pub results: Vec<PathBuf>,
    /// A previous report.json, its directory, or a results directory.
    #[arg(long, env = "MSGPERF_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Name of the baseline in sentences, e.g. `main`.
    #[arg(long, env = "MSGPERF_BASELINE_LABEL")]
    pub baseline_label: Option<String>,
    /// Output directory.
    #[arg(long, env = "MSGPERF_REPORT_DIR", default_value = "report")]
    pub out: PathBuf,
    /// Append one JSON line per report to this file (nightly trends).
    #[arg(long, env = "MSGPERF_HISTORY")]
    pub history: Option<PathBuf>,
    /// The matrix file whose `gate:` settings decide whether a regression fails
    /// (defaults apply when the default file does not exist).
    #[arg(long, env = "MSGPERF_MATRIX", default_value = "matrix.yaml")]
    pub matrix: PathBuf,
    /// Fetch each run's CloudWatch window (the matrix file's `cloudwatch:`
    /// block, as `msgperf run` does) into the report; for downloaded result
    /// files. The result files are not changed.
    #[arg(long, env = "MSGPERF_CLOUDWATCH")]
    pub cloudwatch: bool,
    /// The AWS region for `--cloudwatch`, over the block's `region` (else AWS_REGION).
    #[arg(long, env = "MSGPERF_AWS_REGION", requires = "cloudwatch")]
    pub aws_region: Option<String>,
}

/// Options of `msgperf serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the three services bind.
    #[arg(long, env = "MSGPERF_LISTEN", default_value = "127.0.0.1")]
    pub listen: IpAddr,
    /// Organizer API port (0 = any free port).
    #[arg(long, env = "MSGPERF_ORGANIZER_PORT", default_value_t = 8000)]
    pub organizer_port: u16,
    /// Participant API port.
    #[arg(long, env = "MSGPERF_PARTICIPANT_PORT", default_value_t = 8100)]
    pub participant_port: u16,
    /// Messenger API (WebSocket) port.
    #[arg(long, env = "MSGPERF_MESSENGER_PORT", default_value_t = 8300)]
    pub messenger_port: u16,
    /// Process at most this many messages per second (the rest wait).
    #[arg(long, env = "MSGPERF_MAX_MESSAGES_PER_SECOND")]
    pub max_messages_per_second: Option<u32>,
    /// Hold further WebSocket upgrades while this many connections are open.
    #[arg(long, env = "MSGPERF_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Delay each handshake by this much per open connection, e.g. `1ms`.
    #[arg(long, env = "MSGPERF_HANDSHAKE_DELAY_PER_CONNECTION", value_parser = humantime::parse_duration)]
    pub handshake_delay_per_connection: Option<Duration>,
    /// Time each participant sign-up spends on one of the machine's cores,
    /// e.g. `250ms` (the real API's bcrypt); past 3 s a sign-up answers 500.
    #[arg(long, env = "MSGPERF_SIGN_UP_COST", value_parser = humantime::parse_duration)]
    pub sign_up_cost: Option<Duration>,
}

/// Options of `msgperf action` (everything else comes from `INPUT_*` and `GITHUB_*`).
#[derive(Debug, Clone, Default, Args)]
pub struct ActionArgs {}

/// `--shards N`: 1 to [`shard::MAX_SPLIT`].
fn parse_shards(text: &str) -> Result<u32, BadValue> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=shard::MAX_SPLIT).contains(&n) => Ok(n),
        _ => Err(BadValue::new(format!(
            "give 1 to {} shards (GitHub runs at most that many jobs per matrix)",
            shard::MAX_SPLIT
        ))),
    }
}

/// A clap value parser from one of the shared parsers: its error names the
/// flag and the value (`--shard "3/2": i/N with ...`), and exits 2 as every
/// usage error does.
fn typed<T>(parse: fn(&str) -> Result<T, BadValue>) -> Typed<T> {
    Typed { parse, quote: true }
}

/// Like [`typed`] for a count, shown unquoted (`--shards 0: ...`).
fn typed_count(parse: fn(&str) -> Result<u32, BadValue>) -> Typed<u32> {
    Typed {
        parse,
        quote: false,
    }
}

/// See [`typed`].
#[derive(Clone)]
struct Typed<T> {
    parse: fn(&str) -> Result<T, BadValue>,
    quote: bool,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Typed<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.parse)(&text).map_err(|e| {
            let flag = arg
                .and_then(clap::Arg::get_long)
                .map_or_else(String::new, |long| format!("--{long} "));
            let shown = if self.quote {
                format!("{text:?}")
            } else {
                text.to_string()
            };
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{flag}{shown}: {e}\n"),
            )
            .with_cmd(cmd)
        })
    }
}
