//! SIGINT and SIGTERM, the way GitHub cancels a job: the first one stops the
//! current run (its result is still written, as `interrupted`), a second one
//! exits at once.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// Exit code after SIGINT.
pub const EXIT_SIGINT: i32 = 130;
/// Exit code after SIGTERM.
pub const EXIT_SIGTERM: i32 = 143;

/// The process's signal state.
#[derive(Debug, Clone)]
pub struct Signals {
    token: CancellationToken,
    code: Arc<AtomicI32>,
}

impl Signals {
    /// Starts listening for SIGINT and SIGTERM.
    pub fn install() -> std::io::Result<Signals> {
        let signals = Signals {
            token: CancellationToken::new(),
            code: Arc::new(AtomicI32::new(0)),
        };
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut int = signal(SignalKind::interrupt())?;
            let mut term = signal(SignalKind::terminate())?;
            let state = signals.clone();
            tokio::spawn(async move {
                loop {
                    let code = tokio::select! {
                        _ = int.recv() => EXIT_SIGINT,
                        _ = term.recv() => EXIT_SIGTERM,
                    };
                    if state.code.swap(code, Ordering::SeqCst) != 0 {
                        eprintln!("second signal: exiting now");
                        std::process::exit(code);
                    }
                    eprintln!("signal received: stopping (send it again to exit at once)");
                    state.token.cancel();
                }
            });
        }
        #[cfg(not(unix))]
        {
            let state = signals.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    state.code.store(EXIT_SIGINT, Ordering::SeqCst);
                    state.token.cancel();
                }
            });
        }
        Ok(signals)
    }

    /// Cancelled at the first signal.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// The exit code of the signal received, if any.
    pub fn interrupted(&self) -> Option<i32> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }
}
