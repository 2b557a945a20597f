//! Command-line types (every option also from an environment variable) and the
//! dispatch from a parsed command to the library, with exit codes:
//! 0 success (saturation is a finding, not a failure), 1 tool failure,
//! 2 configuration error, 130/143 cancelled by SIGINT/SIGTERM.

use std::fmt::Display;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};

use crate::matrix::{self, Gate, Slice};
use crate::report::{self, ReportError, ReportOptions};
use crate::run::{self, RunOptions};
use crate::server::{self, Capacity, ServerConfig};

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
    Action(crate::action::ActionArgs),
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
    #[arg(long, env = "MSGPERF_SHARD", default_value = "1/1")]
    pub shard: String,
    /// This runner's part j of K of split scenarios (from `msgperf expand`).
    #[arg(long, env = "MSGPERF_PART", default_value = "1/1")]
    pub part: String,
    /// Generate every scenario with K runners at once (overrides `split:`);
    /// empty keeps matrix.yaml's.
    #[arg(long, env = "MSGPERF_SPLIT", default_value = "")]
    pub split: String,
    /// RFC 3339 instant at which all parts of a split scenario start
    /// (from `msgperf expand`); empty when nothing is split.
    #[arg(long, env = "MSGPERF_START_AT", default_value = "")]
    pub start_at: String,
    /// The plan's nonce (8 hex digits) from `msgperf expand`, the same for
    /// every job of one plan: it makes participant e-mails and message tokens
    /// unique across runners. Empty derives one from --start-at, or makes a
    /// fresh one (a single runner).
    #[arg(long, env = "MSGPERF_PLAN_ID", default_value = "")]
    pub plan_id: String,
    /// The workflow run attempt (GitHub sets GITHUB_RUN_ATTEMPT): a re-run
    /// job keeps the plan id but signs up new participants.
    #[arg(long, env = "GITHUB_RUN_ATTEMPT", default_value_t = 1)]
    pub attempt: u32,
}

/// Options of `msgperf expand`.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// The matrix file.
    #[arg(long, env = "MSGPERF_MATRIX", default_value = "matrix.yaml")]
    pub matrix: PathBuf,
    /// Number of shards (runners running different scenarios).
    #[arg(long, env = "MSGPERF_SHARDS", default_value_t = 1)]
    pub shards: u32,
    /// Generate every scenario with K runners at once (overrides `split:`);
    /// empty keeps matrix.yaml's.
    #[arg(long, env = "MSGPERF_SPLIT", default_value = "")]
    pub split: String,
    /// Common start of split parts (RFC 3339); default now plus --start-in.
    #[arg(long, env = "MSGPERF_START_AT", default_value = "")]
    pub start_at: String,
    /// Lead time before the common start when --start-at is not given: long
    /// enough for every runner to start and install msgperf.
    #[arg(long, env = "MSGPERF_START_IN", default_value = "5m", value_parser = humantime::parse_duration)]
    pub start_in: Duration,
    /// The plan's nonce to print (8 hex digits); default a fresh one.
    #[arg(long, env = "MSGPERF_PLAN_ID", default_value = "")]
    pub plan_id: String,
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

/// A command's failure, classified for its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user's input is wrong (exit 2).
    #[error("{0}")]
    Config(String),
    /// The tool could not do its work (exit 1).
    #[error("{0}")]
    Tool(String),
}

impl CommandError {
    /// A configuration error from any displayable cause.
    pub fn config(e: impl Display) -> Self {
        CommandError::Config(e.to_string())
    }
    /// A tool failure from any displayable cause.
    pub fn tool(e: impl Display) -> Self {
        CommandError::Tool(e.to_string())
    }
    /// 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Config(_) => 2,
            CommandError::Tool(_) => 1,
        }
    }
}

/// Runs a parsed command; returns the process exit code.
pub async fn execute(cli: Cli) -> Result<i32, CommandError> {
    match cli.command {
        Command::Run(args) => {
            let outcome = run::run(&RunOptions {
                matrix: args.matrix,
                out: args.out.clone(),
                scenarios: args.scenarios,
                shard: Slice::parse(&args.shard, "--shard").map_err(CommandError::Config)?,
                part: Slice::parse(&args.part, "--part").map_err(CommandError::Config)?,
                split: parse_split(&args.split)?,
                start_at: parse_start_at(&args.start_at)?,
                plan_id: parse_plan_id(&args.plan_id)?,
                attempt: args.attempt,
            })
            .await?;
            print!("{}", run::table::render(&outcome.results));
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
            let code = report(&ReportOptions {
                results: outcome.paths,
                baseline: args.baseline,
                out: args.report_dir,
                gate: outcome.gate,
                history: None,
                baseline_label: None,
            })?;
            // A run that never loaded the API is no measurement: say what to
            // fix and fail, after the results and the report are written.
            let failures = outcome
                .results
                .iter()
                .filter_map(|r| r.start_failure.as_ref());
            match crate::results::worst_start_failure(failures) {
                Some((failed, message)) => {
                    eprintln!("error: the test could not start: {message}");
                    Ok(failed.max(code))
                }
                None => Ok(code),
            }
        }
        Command::Serve(args) => serve(args).await,
        Command::Expand(args) => {
            // Only the plan is needed: `${VAR}` target values stay unresolved,
            // so the expand job needs no secrets.
            let plan = matrix::load_plan_only(&args.matrix).map_err(CommandError::config)?;
            if !(1..=matrix::shard::MAX_SPLIT).contains(&args.shards) {
                return Err(CommandError::Config(format!(
                    "--shards {}: give 1 to {} shards (GitHub runs at most that many jobs per matrix)",
                    args.shards,
                    matrix::shard::MAX_SPLIT
                )));
            }
            let e = crate::expand::expansion(
                &plan,
                args.shards,
                parse_split(&args.split)?,
                parse_start_at(&args.start_at)?,
                args.start_in,
                parse_plan_id(&args.plan_id)?.unwrap_or_else(crate::load::PlanId::fresh),
            );
            if e.start_at.is_some() && plan.target.is_none() {
                eprintln!("warning: {} has no `target:`: split parts need a shared target (pass it to `run` through the action's target inputs), or they fail at start", args.matrix.display());
            }
            print!(
                "{}",
                crate::expand::render(&e, args.format).map_err(CommandError::Config)?
            );
            Ok(0)
        }
        Command::Action(args) => crate::action::run(&args).await,
        Command::Report(args) => {
            let gate = if args.matrix.exists() || args.matrix != Path::new("matrix.yaml") {
                matrix::load_file(&args.matrix)
                    .map_err(CommandError::config)?
                    .gate
            } else {
                Gate::default()
            };
            report(&ReportOptions {
                results: args.results,
                baseline: args.baseline,
                out: args.out,
                gate,
                history: args.history,
                baseline_label: args.baseline_label,
            })
        }
    }
}

/// `--split K` (empty: as matrix.yaml says), as a configuration error.
fn parse_split(text: &str) -> Result<Option<u32>, CommandError> {
    matrix::shard::parse_split(text).map_err(|e| CommandError::Config(format!("--{e}")))
}

/// `--start-at` (empty: none), as a configuration error.
fn parse_start_at(text: &str) -> Result<Option<SystemTime>, CommandError> {
    matrix::shard::parse_start_at(text).map_err(|e| CommandError::Config(format!("--{e}")))
}

/// `--plan-id` (empty: none), as a configuration error.
fn parse_plan_id(text: &str) -> Result<Option<crate::load::PlanId>, CommandError> {
    crate::load::PlanId::parse_optional(text).map_err(|e| CommandError::Config(format!("--{e}")))
}

/// Writes the report, prints its summary, and returns the gate's exit code.
fn report(opts: &ReportOptions) -> Result<i32, CommandError> {
    let outcome = report::run(opts).map_err(|e| match e {
        ReportError::Io { .. } | ReportError::Chart(_) => CommandError::tool(e),
        _ => CommandError::config(e),
    })?;
    println!();
    print!("{}", outcome.summary_table);
    println!(
        "report: {} ({} charts, data in {})",
        outcome.markdown_path.display(),
        outcome.charts.len(),
        outcome.json_path.display()
    );
    Ok(outcome.exit_code)
}

async fn serve(args: ServeArgs) -> Result<i32, CommandError> {
    let config = ServerConfig {
        listen: args.listen,
        ports: [
            args.organizer_port,
            args.participant_port,
            args.messenger_port,
        ],
        capacity: Capacity {
            max_messages_per_second: args.max_messages_per_second,
            max_connections: args.max_connections,
            handshake_delay_per_connection: args.handshake_delay_per_connection,
            send_queue: None,
            sign_up_cost: args.sign_up_cost,
            ..Capacity::default()
        },
        ..ServerConfig::default()
    };
    let running = server::start(config).await.map_err(CommandError::tool)?;
    // Whoever started us may stop reading once it has the target lines
    // (`msgperf serve | head`): a closed stdout must not stop the server.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", server::serve_banner(running.info()));
        let _ = out.flush();
    }
    let signals = run::signals::Signals::install().map_err(CommandError::tool)?;
    signals.token().cancelled().await;
    let stats = running.stats();
    running.shutdown().await;
    eprintln!("stopped; {stats:?}");
    // Stopping is how a server is meant to end: not a failure.
    Ok(0)
}
