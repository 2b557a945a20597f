//! The `msgperf` binary: parses arguments, builds the tokio runtime of the
//! command and the load generator, installs the TLS crypto provider, and
//! turns results into exit codes. The embedded server of `msgperf run` runs
//! on a small runtime of its own (`server::start_on_own_runtime`), so the
//! generator's CPU figure can leave the server's threads out; see
//! docs/architecture.md, "Runtimes".

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

fn main() -> ExitCode {
    let cli = msgperf::cli::Cli::parse();
    // octocrab, aws-config and tokio-tungstenite together enable both rustls
    // providers; rustls then refuses to pick one and panics on the first
    // wss:// connection unless the program installs one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MSGPERF_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // The command's and the load generator's runtime; its threads are the
    // generator's in `load::cpu` (the embedded server's are named apart).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("msgperf-load")
        .build()
        .context("cannot start the async runtime");
    let code = match runtime {
        Ok(runtime) => match runtime.block_on(msgperf::commands::execute(cli)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
        },
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
