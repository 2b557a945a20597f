//! `msgperf serve`: the embedded staging Messenger API until SIGINT/SIGTERM.

use std::io::Write;

use crate::cli::ServeArgs;
use crate::run::signals::Signals;
use crate::server::{self, Capacity, ServerConfig};

use super::{Code, Failure};

/// Starts the server, prints where it listens, and stops on a signal.
pub(super) async fn serve(args: ServeArgs) -> Result<Code, Failure> {
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
    let running = server::start(config).await?;
    // Whoever started us may stop reading once it has the target lines
    // (`msgperf serve | head`): a closed stdout must not stop the server.
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", server::serve_banner(running.info()));
        let _ = out.flush();
    }
    let signals = Signals::install()?;
    signals.token().cancelled().await;
    let stats = running.stats();
    running.shutdown().await;
    eprintln!("stopped; {stats:?}");
    // Stopping is how a server is meant to end: not a failure.
    Ok(0)
}
