//! Matrix expansion: lists, exclude and include in, [`Scenario`]s out.
//!
//! Pure and location-free so that sharding can re-run it on a [`MatrixSpec`]
//! without the file. The semantics follow GitHub Actions' `strategy.matrix`,
//! which CI users already know: cartesian product (sci outermost), then
//! `exclude`, then `include`, then repetitions (innermost).

use std::collections::HashSet;
use std::time::Duration;

use super::{Arrival, Scenario, StopRules};

/// Values of the three matrix keys named by an include or exclude entry;
/// `None` means "any".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Match {
    /// Start chat interval.
    pub sci: Option<Duration>,
    /// Create participant interval.
    pub cpi: Option<Duration>,
    /// Send message interval.
    pub smi: Option<Duration>,
}

impl Match {
    /// Whether every named key equals the combination's value.
    fn matches(&self, c: &Combination) -> bool {
        self.sci.is_none_or(|v| v == c.sci)
            && self.cpi.is_none_or(|v| v == c.cpi)
            && self.smi.is_none_or(|v| v == c.smi)
    }

    /// The matrix keys this entry does not name.
    pub fn missing(&self) -> Vec<&'static str> {
        [("sci", self.sci), ("cpi", self.cpi), ("smi", self.smi)]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect()
    }
}

/// One `matrix.include` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Include {
    /// Matrix keys: which combinations to extend, or the new combination.
    pub matrix: Match,
    /// Organizer pool size for the matching combinations.
    pub organizers: Option<u32>,
    /// Runners per scenario for the matching combinations.
    pub split: Option<u32>,
    /// `stop.max_duration` for the matching combinations.
    pub max_duration: Option<Duration>,
    /// `stop.max_participants` for the matching combinations.
    pub max_participants: Option<u64>,
    /// `arrival` for the matching combinations.
    pub arrival: Option<Arrival>,
}

/// The validated matrix of matrix.yaml, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSpec {
    /// `matrix.sci` in file order.
    pub sci: Vec<Duration>,
    /// `matrix.cpi` in file order.
    pub cpi: Vec<Duration>,
    /// `matrix.smi` in file order.
    pub smi: Vec<Duration>,
    /// `matrix.exclude`.
    pub exclude: Vec<Match>,
    /// `matrix.include`.
    pub include: Vec<Include>,
    /// Runs per combination (>= 1).
    pub repetitions: u32,
    /// Top-level organizer pool size (>= 1).
    pub organizers: u32,
    /// Top-level runners per scenario (>= 1).
    pub split: u32,
    /// Top-level stop rules.
    pub stop: StopRules,
    /// Top-level participant arrival.
    pub arrival: Arrival,
}

/// A cell of the matrix before repetitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Combination {
    /// Start chat interval.
    pub sci: Duration,
    /// Create participant interval.
    pub cpi: Duration,
    /// Send message interval.
    pub smi: Duration,
    /// Organizer pool override from an include.
    pub organizers: Option<u32>,
    /// Split override from an include.
    pub split: Option<u32>,
    /// `stop.max_duration` override from an include.
    pub max_duration: Option<Duration>,
    /// `stop.max_participants` override from an include.
    pub max_participants: Option<u64>,
    /// `arrival` override from an include.
    pub arrival: Option<Arrival>,
    /// `None` for the cartesian product, `Some(i)` for a new cell from include `i`.
    pub from_include: Option<usize>,
}

/// The cells of a matrix, and the include entries that could not be placed.
pub(crate) struct Combinations {
    /// The cells in order: product order, then new cells from includes.
    pub cells: Vec<Combination>,
    /// Include entries that match no cell and miss a matrix key, so they
    /// cannot become a cell of their own (GitHub would add them anyway).
    pub unplaced: Vec<usize>,
}

/// Cartesian product, exclude, include and de-duplication, in GitHub's order.
pub(crate) fn combinations(spec: &MatrixSpec) -> Combinations {
    let mut cells = Vec::new();
    for &sci in &spec.sci {
        for &cpi in &spec.cpi {
            for &smi in &spec.smi {
                cells.push(Combination {
                    sci,
                    cpi,
                    smi,
                    organizers: None,
                    split: None,
                    max_duration: None,
                    max_participants: None,
                    arrival: None,
                    from_include: None,
                });
            }
        }
    }
    cells.retain(|c| !spec.exclude.iter().any(|m| m.matches(c)));
    // Includes extend only the product's cells, never cells added by an
    // earlier include (GitHub's rule), so remember where the product ends.
    let original = cells.len();
    let mut unplaced = Vec::new();
    for (index, inc) in spec.include.iter().enumerate() {
        let mut matched = false;
        for cell in cells[..original]
            .iter_mut()
            .filter(|c| inc.matrix.matches(c))
        {
            matched = true;
            // Later includes overwrite values added by earlier ones.
            cell.organizers = inc.organizers.or(cell.organizers);
            cell.split = inc.split.or(cell.split);
            cell.max_duration = inc.max_duration.or(cell.max_duration);
            cell.max_participants = inc.max_participants.or(cell.max_participants);
            cell.arrival = inc.arrival.or(cell.arrival);
        }
        if matched {
            continue;
        }
        match (inc.matrix.sci, inc.matrix.cpi, inc.matrix.smi) {
            (Some(sci), Some(cpi), Some(smi)) => cells.push(Combination {
                sci,
                cpi,
                smi,
                organizers: inc.organizers,
                split: inc.split,
                max_duration: inc.max_duration,
                max_participants: inc.max_participants,
                arrival: inc.arrival,
                from_include: Some(index),
            }),
            _ => unplaced.push(index),
        }
    }
    // Duplicates (`smi: [1s, 1000ms]`, the same include twice) collapse;
    // overrides equal to the top-level value count as no override.
    let mut seen = HashSet::with_capacity(cells.len());
    let mut unique = Vec::with_capacity(cells.len());
    for cell in cells {
        if seen.insert(run_key(spec, &cell)) {
            unique.push(cell);
        }
    }
    Combinations {
        cells: unique,
        unplaced,
    }
}

/// What makes two cells the same run: the matrix values and the effective
/// overrides (the rest of the stop rules is shared by every cell).
type RunKey = (
    Duration,
    Duration,
    Duration,
    u32,
    Duration,
    Option<u64>,
    Arrival,
);

fn run_key(spec: &MatrixSpec, c: &Combination) -> RunKey {
    let stop = stop(spec, c);
    (
        c.sci,
        c.cpi,
        c.smi,
        organizers(spec, c),
        stop.max_duration,
        stop.max_participants,
        arrival(spec, c),
    )
}

/// Effective participant arrival of a cell.
fn arrival(spec: &MatrixSpec, c: &Combination) -> Arrival {
    c.arrival.unwrap_or(spec.arrival)
}

/// Effective organizer pool size of a cell.
fn organizers(spec: &MatrixSpec, c: &Combination) -> u32 {
    c.organizers.unwrap_or(spec.organizers)
}

/// Effective stop rules of a cell.
fn stop(spec: &MatrixSpec, c: &Combination) -> StopRules {
    StopRules {
        max_duration: c.max_duration.unwrap_or(spec.stop.max_duration),
        max_participants: c.max_participants.or(spec.stop.max_participants),
        ..spec.stop.clone()
    }
}

/// Group id of a cell: `sci{S}-cpi{C}-smi{M}`, plus `-o{K}` when its organizer
/// pool differs from the top-level one (so ids stay unique), plus `-seq` for
/// `arrival: sequential` (a different experiment from the same intervals).
pub(crate) fn group_of(spec: &MatrixSpec, c: &Combination) -> String {
    let mut group = format!(
        "sci{}-cpi{}-smi{}",
        duration_label(c.sci),
        duration_label(c.cpi),
        duration_label(c.smi)
    );
    let k = organizers(spec, c);
    if k != spec.organizers {
        group.push_str(&format!("-o{k}"));
    }
    if arrival(spec, c) == Arrival::Sequential {
        group.push_str("-seq");
    }
    group
}

/// The scenarios of some cells, repetitions innermost.
pub(crate) fn scenarios(spec: &MatrixSpec, cells: &[Combination]) -> Vec<Scenario> {
    let mut out = Vec::with_capacity(
        cells
            .len()
            .saturating_mul(spec.repetitions as usize)
            .min(1 << 16),
    );
    for cell in cells {
        let group = group_of(spec, cell);
        for repetition in 1..=spec.repetitions {
            out.push(Scenario {
                id: format!("{group}-r{repetition}"),
                group: group.clone(),
                sci: cell.sci,
                cpi: cell.cpi,
                smi: cell.smi,
                repetition,
                organizers: organizers(spec, cell),
                split: cell.split.unwrap_or(spec.split),
                stop: stop(spec, cell),
                reply: super::ReplyPolicy::None,
                arrival: arrival(spec, cell),
                hold_at: None,
            });
        }
    }
    out
}

/// Expands a matrix into its scenarios (include entries that cannot be placed
/// are skipped; parsing reports them as errors before this is reached).
pub fn expand(spec: &MatrixSpec) -> Vec<Scenario> {
    scenarios(spec, &combinations(spec).cells)
}

/// Shortest exact single-unit label of a duration, for ids and file names:
/// the largest of `s`, `ms`, `us`, `ns` that divides it (`10ms`, `1s`,
/// `1500ms`, `90s`, `250us`). Minutes are not used, so a label is always one
/// number and one unit and ids sort predictably.
pub fn duration_label(d: Duration) -> String {
    let nanos = d.as_nanos();
    for (unit, per) in [("s", 1_000_000_000u128), ("ms", 1_000_000), ("us", 1_000)] {
        if nanos.is_multiple_of(per) {
            return format!("{}{unit}", nanos / per);
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
#[path = "expand_tests.rs"]
mod tests;
