//! The command layer: one file per subcommand, each turning parsed arguments
//! into calls of the stages and its outcome into an exit code:
//! 0 success (saturation is a finding, not a failure), 1 tool failure or a
//! failed gate, 2 configuration error, 130/143 cancelled by SIGINT/SIGTERM.
//!
//! Errors keep their type up to here: [`Failure`] gives each edge error its
//! exit class with one `From` per error type, so no call site decides it.

mod action;
mod expand;
mod report;
mod run;
mod serve;

use std::fmt;

use crate::action::event::EventError;
use crate::action::inputs::InputError;
use crate::cli::{Cli, Command};
use crate::github::commands::FileError;
use crate::github::GitHubError;
use crate::matrix::{MatrixError, OverrideError};
use crate::report::ReportError;
use crate::results::ResultsError;
use crate::run::RunError;
use crate::server::ServerError;

pub use action::run_with_env as action_with_env;

/// A command's exit code when it ran to its end (0, 1, 2, 130 or 143).
pub type Code = i32;

/// Runs a parsed command; returns the process exit code.
pub async fn execute(cli: Cli) -> Result<Code, Failure> {
    // Every command may open sockets (`serve`, `run`, `action`): the soft
    // open-file limit of a shell (often 1,024) is no reason to fail.
    crate::run::limits::raise_open_files();
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Expand(args) => expand::expand(args),
        Command::Report(args) => report::report(args).await,
        Command::Action(_) => action::run().await,
    }
}

/// A command's failure, classified for its exit code.
#[derive(Debug)]
pub enum Failure {
    /// The user's input is wrong (exit 2).
    Config(anyhow::Error),
    /// The tool could not do its work (exit 1).
    Tool(anyhow::Error),
}

impl Failure {
    /// 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> Code {
        match self {
            Failure::Config(_) => 2,
            Failure::Tool(_) => 1,
        }
    }

    fn config(e: impl Into<anyhow::Error>) -> Self {
        Failure::Config(e.into())
    }

    fn tool(e: impl Into<anyhow::Error>) -> Self {
        Failure::Tool(e.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(e) | Failure::Tool(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Failure {}

/// Edge errors that are always the user's input.
macro_rules! config_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                Failure::config(e)
            }
        }
    )*};
}

/// Edge errors that are always the tool's (or its environment's).
macro_rules! tool_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                Failure::tool(e)
            }
        }
    )*};
}

config_errors!(
    MatrixError,
    OverrideError,
    InputError,
    EventError,
    crate::expand::TooManyJobs
);
tool_errors!(ServerError, ResultsError, FileError, std::io::Error);

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        if e.is_config() {
            Failure::config(e)
        } else {
            Failure::tool(e)
        }
    }
}

impl From<ReportError> for Failure {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Io { .. } | ReportError::Chart(_) => Failure::tool(e),
            _ => Failure::config(e),
        }
    }
}

/// `cloudwatch.required: true` and CloudWatch failed: the tool's failure.
impl From<crate::report::cloudwatch::Required> for Failure {
    fn from(e: crate::report::cloudwatch::Required) -> Self {
        Failure::tool(e)
    }
}

impl From<GitHubError> for Failure {
    fn from(e: GitHubError) -> Self {
        match e {
            GitHubError::Config(_) => Failure::config(e),
            _ => Failure::tool(e),
        }
    }
}

/// The worse of a command's own exit code and its runs' start failures
/// (refused credentials 2, anything else 1), with the message to show.
fn with_start_failures<'a>(
    code: Code,
    results: impl IntoIterator<Item = &'a crate::results::StartFailure>,
) -> (Code, Option<&'a str>) {
    match crate::results::worst_start_failure(results) {
        Some((failed, message)) => (code.max(failed), Some(message)),
        None => (code, None),
    }
}
