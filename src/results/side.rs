//! Which side of an A/B plan (`targets: {base, candidate}`) a run measured,
//! and which pair it belongs to. Additive to schema 1: single-target runs
//! carry neither.

use serde::{Deserialize, Serialize};

/// One of the two deployments of an A/B plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The deployment the change is judged against (main).
    Base,
    /// The deployment with the change (the PR's preview).
    Candidate,
}

impl Side {
    /// `base` or `candidate`: the value of `MSGPERF_SIDE` and of `side` in
    /// result files.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Candidate => "candidate",
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Base => Side::Candidate,
            Side::Candidate => Side::Base,
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
