//! The generator's own limits: open files and local ports.
//!
//! A generator that runs out of descriptors or ports sees its own
//! `Too many open files` as a failed connection, which reads like the API's
//! saturation. So msgperf raises its soft `RLIMIT_NOFILE` to the hard limit
//! at start, and before a run compares what the plan needs with what the
//! process may open: a plan that cannot fit is refused (exit 2) with the
//! numbers, instead of ending in a confident wrong capacity. What still hits
//! a limit during a run is classified `generator_limit` by the engine.

use std::time::Duration;

use super::plan::{RunPlan, TargetSource};
use crate::matrix::shard::Slot;
use crate::results::Side;

/// Descriptors kept free for what the estimate does not count: the runtime,
/// result and journal files, hook processes' pipes, the CloudWatch client.
pub const MARGIN: u64 = 32;
/// Idle keep-alive connections reqwest keeps per REST host (see `load::rest::client`).
const REST_POOL_PER_HOST: u64 = 64;
/// Listening sockets of the embedded server (three services).
const EMBEDDED_LISTENERS: u64 = 3;
/// Setting this variable (to anything) skips the check before a run: for a
/// plan whose estimate is wrong, or to watch a run end `generator-bound`.
pub const UNCHECKED_ENV: &str = "MSGPERF_UNCHECKED_LIMITS";

/// `RLIMIT_NOFILE`: the open-file limits of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// What the process may open now.
    pub soft: u64,
    /// What the soft limit may be raised to without privileges.
    pub hard: u64,
}

impl OpenFiles {
    /// The current limits.
    pub fn current() -> std::io::Result<OpenFiles> {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(OpenFiles {
            soft: r.rlim_cur,
            hard: r.rlim_max,
        })
    }
}

/// Raises the soft open-file limit to the hard one and logs both (at info
/// level: `MSGPERF_LOG=info` shows it; a failure is a warning). Returns the
/// limits before and after.
pub fn raise_open_files() -> Option<(OpenFiles, OpenFiles)> {
    let before = match OpenFiles::current() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("cannot read RLIMIT_NOFILE: {e}");
            return None;
        }
    };
    if before.soft < before.hard {
        let r = libc::rlimit {
            rlim_cur: before.hard,
            rlim_max: before.hard,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!(
                "cannot raise RLIMIT_NOFILE soft {} to hard {}: {e}",
                before.soft,
                before.hard
            );
        }
    }
    let after = OpenFiles::current().unwrap_or(before);
    tracing::info!(
        "open files (RLIMIT_NOFILE): soft {} raised to {}, hard {}",
        before.soft,
        after.soft,
        after.hard
    );
    Some((before, after))
}

/// What one run of the plan needs, at most, in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The scenario (the plan's most demanding one).
    pub scenario: String,
    /// Participants this runner creates (its part of a split scenario).
    pub participants: u64,
    /// Organizers this runner runs.
    pub organizers: u64,
    /// REST connections (keep-alive pool of both REST APIs).
    pub rest: u64,
    /// The embedded server's sockets in this process (the other end of every
    /// connection, and its listeners); 0 with a target.
    pub server: u64,
    /// Descriptors already open when the plan was checked.
    pub open_now: u64,
}

impl Need {
    /// Client connections: WebSockets and REST.
    pub fn connections(&self) -> u64 {
        self.participants + self.organizers + self.rest
    }

    /// Descriptors in all, with [`MARGIN`].
    pub fn descriptors(&self) -> u64 {
        self.connections() + self.server + self.open_now + MARGIN
    }
}

/// The largest number of participants one run of `slot` creates on this
/// runner: by the stop rules (duration over cpi, `max_participants`) and a
/// held population, divided among the split parts.
fn participants(slot: &Slot) -> u64 {
    let s = &slot.scenario;
    let by_time = (s.stop.max_duration.as_nanos() / s.cpi.max(Duration::from_nanos(1)).as_nanos())
        .saturating_add(1)
        .min(u128::from(u64::MAX)) as u64;
    let all = [s.stop.max_participants, s.hold_at]
        .into_iter()
        .flatten()
        .fold(by_time, u64::min);
    let parts = u64::from(slot.part.map_or(1, |p| p.count).max(1));
    all.div_ceil(parts)
}

/// What the plan's most demanding slot needs, or `None` for a plan without slots.
pub fn estimate(plan: &RunPlan, open_now: u64) -> Option<Need> {
    plan.slots
        .iter()
        .map(|planned| {
            let slot = &planned.slot;
            // The side the slot loads: an A/B plan's candidate may be
            // embedded when the base is not, or the other way round.
            let source = match (planned.side, &plan.candidate) {
                (Some(Side::Candidate), Some(candidate)) => candidate,
                _ => &plan.target,
            };
            let embedded = matches!(source, TargetSource::Embedded(_));
            let parts = u64::from(slot.part.map_or(1, |p| p.count).max(1));
            let participants = participants(slot);
            let organizers = u64::from(slot.scenario.organizers).div_ceil(parts);
            let rest = participants.min(REST_POOL_PER_HOST) + organizers;
            let clients = participants + organizers + rest;
            Need {
                scenario: slot.scenario.id.clone(),
                participants,
                organizers,
                rest,
                server: if embedded {
                    clients + EMBEDDED_LISTENERS
                } else {
                    0
                },
                open_now,
            }
        })
        .max_by_key(Need::descriptors)
}

/// A plan that does not fit the generator's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// More descriptors than the process may open.
    #[error("{}", open_files_message(.need, .limits, *.embedded))]
    OpenFiles {
        /// What the plan needs.
        need: Need,
        /// The process's limits (after raising the soft one).
        limits: OpenFiles,
        /// Whether the embedded server runs in this process.
        embedded: bool,
    },
    /// More connections than there are local ports.
    #[error("scenario `{}` opens about {} connections from this machine, but the local port range has only {ports} ports: spread the load over runners with `split: K` (K ≥ {}) and a shared target, or widen net.ipv4.ip_local_port_range; set {UNCHECKED_ENV}=1 to run anyway (the run is then generator-bound if a connection finds no port)", .need.scenario, .need.connections(), .need.connections().div_ceil(*.ports).max(2))]
    LocalPorts {
        /// What the plan needs.
        need: Need,
        /// Ports in the ephemeral range.
        ports: u64,
    },
}

fn open_files_message(need: &Need, limits: &OpenFiles, embedded: bool) -> String {
    let total = need.descriptors();
    let server = if embedded {
        format!(
            ", {} sockets of the embedded server in this process",
            need.server
        )
    } else {
        String::new()
    };
    let spread = if embedded {
        "run the API as `msgperf serve` in its own process (a `target:` block) to halve it, and spread it over runners with `split: K`".to_string()
    } else {
        let per_runner = limits.soft.saturating_sub(need.open_now + MARGIN).max(1);
        format!(
            "spread the load over runners with `split: {}`",
            need.connections().div_ceil(per_runner).max(2)
        )
    };
    format!(
        "scenario `{}` needs about {total} open files ({} participant and {} organizer WebSockets, {} REST connections{server}, {} already open, {MARGIN} spare), but this process may open {} (RLIMIT_NOFILE soft {}, hard {}): raise the limit (`ulimit -n {total}` or more; LimitNOFILE= for a service) or {spread}; set {UNCHECKED_ENV}=1 to run anyway (the run is then generator-bound when it hits the limit)",
        need.scenario,
        need.participants,
        need.organizers,
        need.rest,
        need.open_now,
        limits.soft,
        limits.soft,
        limits.hard,
    )
}

/// Descriptors this process has open now.
fn open_now() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(16, |d| d.count() as u64)
}

/// Ports of the ephemeral range (`net.ipv4.ip_local_port_range`), if known.
fn local_ports() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (low, high) = (it.next()??, it.next()??);
    Some(high.saturating_sub(low) + 1)
}

/// Refuses a plan that cannot fit the generator's limits (unless
/// [`UNCHECKED_ENV`] is set).
pub fn check(plan: &RunPlan) -> Result<(), LimitError> {
    let Some(need) = estimate(plan, open_now()) else {
        return Ok(());
    };
    // The embedded server runs in this process for that slot when it has sockets.
    let embedded = need.server > 0;
    let fits = fit(&need, OpenFiles::current().ok(), local_ports(), embedded);
    match fits {
        Err(e) if std::env::var_os(UNCHECKED_ENV).is_some() => {
            tracing::warn!("{UNCHECKED_ENV} is set; running anyway: {e}");
            Ok(())
        }
        other => other,
    }
}

/// The check on given limits (`None`: unknown, not checked).
pub fn fit(
    need: &Need,
    limits: Option<OpenFiles>,
    ports: Option<u64>,
    embedded: bool,
) -> Result<(), LimitError> {
    if let Some(limits) = limits.filter(|l| need.descriptors() > l.soft) {
        return Err(LimitError::OpenFiles {
            need: need.clone(),
            limits,
            embedded,
        });
    }
    if let Some(ports) = ports.filter(|&p| need.connections() > p) {
        return Err(LimitError::LocalPorts {
            need: need.clone(),
            ports,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
