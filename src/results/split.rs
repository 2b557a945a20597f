//! The part of a result file that says a run was one of several runners
//! generating the same scenario at once (`split: K`), and what the parts saw
//! of each other's clocks. `msgperf report` merges the parts into one run.

use serde::{Deserialize, Serialize};

/// This run's share of a scenario that `parts` runners generated together.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SplitInfo {
    /// This part, 1-based; 0 in a result merged from the parts.
    pub part: u32,
    /// How many parts generate the scenario.
    pub parts: u32,
    /// RFC 3339 UTC: the common start instant every part was given.
    pub start_at: String,
    /// Per source part (index = part − 1): the smallest receive time minus
    /// send time, ms, of the messages from that part's participants that this
    /// part's organizers received, each end timed by its own runner's clock.
    /// Null for this part itself and when none arrived. Across runners it is
    /// the network latency plus the clock offset, so a negative value is
    /// skew that can be seen.
    pub min_one_way_ms: Vec<Option<f64>>,
    /// The parts a merged result was built from (merged results only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_parts: Vec<u32>,
    /// Merged results: the largest clock offset between two parts estimated
    /// from their one-way times, ms (null when no pair had messages both ways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_skew_ms: Option<f64>,
    /// What merging noticed: missing parts, late starts, clock skew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
