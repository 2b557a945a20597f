//! Command-line types (every option also from an environment variable) and the
//! dispatch from a parsed command to the library, with exit codes:
//! 0 success (saturation is a finding, not a failure), 1 tool failure,
//! 2 configuration error, 130/143 cancelled by SIGINT/SIGTERM.

use std::fmt::Display;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
            })
            .await?;
            print!("{}", run::table::render(&outcome.results));
            println!("{} result file(s) in {}", outcome.paths.len(), args.out.display());
            Ok(outcome.interrupted.unwrap_or(0))
        }
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> Result<i32, CommandError> {
    let config = ServerConfig {
        listen: args.listen,
        ports: [args.organizer_port, args.participant_port, args.messenger_port],
        capacity: Capacity {
            max_messages_per_second: args.max_messages_per_second,
            max_connections: args.max_connections,
            handshake_delay_per_connection: args.handshake_delay_per_connection,
            send_queue: None,
        },
        ..ServerConfig::default()
    };
    let running = server::start(config).await.map_err(CommandError::tool)?;
    println!("# embedded staging Messenger API; paste under `target:` in matrix.yaml");
    println!("{}", server::serve_banner(running.info()));
    let signals = run::signals::Signals::install().map_err(CommandError::tool)?;
    signals.token().cancelled().await;
    let stats = running.stats();
    running.shutdown().await;
    eprintln!("stopped; {stats:?}");
    // Stopping is how a server is meant to end: not a failure.
    Ok(0)
}
