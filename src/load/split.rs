//! This runner's share of a scenario that several runners generate together
//! (`split: K`): which organizers and participants are ours, and what the
//! messages between the parts tell about their clocks.
//!
//! Shares interleave rather than cut in blocks, so the parts' combined load
//! ramps exactly like one runner's: part `j` of `K` adds participants
//! `j-1, j-1+K, j-1+2K, …` every `K·cpi`, offset by `(j-1)·cpi`, and runs
//! organizers `j, j+K, …` of the pool on the pool's shared `sci` schedule.
//! Participant ids (and so e-mails and message tokens) never collide.

use std::time::Duration;

use crate::matrix::Slice;

/// This runner's part; [`Part::WHOLE`] when the scenario is not split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part(pub Slice);

impl Part {
    /// The whole scenario on one runner.
    pub const WHOLE: Part = Part(Slice::WHOLE);

    fn offset(self) -> u32 {
        self.0.index - 1
    }

    fn count(self) -> u32 {
        self.0.count
    }

    /// Whether pool member `n` (1-based) is this part's organizer.
    pub fn runs_organizer(self, n: u32) -> bool {
        (n - 1) % self.count() == self.offset()
    }

    /// The global id of this part's `k`-th participant (0-based).
    pub fn participant_id(self, k: u32) -> u32 {
        k * self.count() + self.offset()
    }

    /// The part whose participant sent a message with this id.
    pub fn of_participant(self, id: u32) -> u32 {
        id % self.count() + 1
    }

    /// This part's participant spawn interval.
    pub fn spawn_period(self, cpi: Duration) -> Duration {
        cpi * self.count()
    }

    /// Delay of this part's first participant after the common start.
    pub fn spawn_offset(self, cpi: Duration) -> Duration {
        cpi * self.offset()
    }

    /// True for a real split (more than one part).
    pub fn is_split(self) -> bool {
        self.count() > 1
    }
}

/// Smallest signed receive-minus-send time per source part, µs.
#[derive(Debug, Clone, Default)]
pub struct OneWay {
    min_us: Vec<Option<i64>>,
}

impl OneWay {
    /// An empty tracker for `part` (nothing is tracked when not split).
    pub fn new(part: Part) -> Self {
        OneWay {
            min_us: if part.is_split() {
                vec![None; part.count() as usize]
            } else {
                Vec::new()
            },
        }
    }

    /// Notes a message from participant `id` sent at `sent_us` (its runner's
    /// clock) and received at `t_us` (ours).
    pub fn record(&mut self, part: Part, id: u32, sent_us: u64, t_us: u64) {
        if self.min_us.is_empty() {
            return;
        }
        let source = part.of_participant(id);
        if source == part.0.index {
            return;
        }
        let d = t_us as i64 - sent_us as i64;
        let slot = &mut self.min_us[source as usize - 1];
        *slot = Some(slot.map_or(d, |m| m.min(d)));
    }

    /// Milliseconds per source part, as the result file holds them.
    pub fn finish(&self) -> Vec<Option<f64>> {
        self.min_us
            .iter()
            .map(|m| m.map(|us| us as f64 / 1000.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_interleave_participants_and_organizers_without_overlap() {
        let parts: Vec<Part> = (1..=3)
            .map(|i| Part(Slice { index: i, count: 3 }))
            .collect();
        let mut ids: Vec<u32> = parts
            .iter()
            .flat_map(|p| (0..5).map(move |k| p.participant_id(k)))
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..15).collect::<Vec<_>>());
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.of_participant(p.participant_id(7)), i as u32 + 1);
        }
        let organizers: Vec<Vec<u32>> = parts
            .iter()
            .map(|p| (1..=7).filter(|&n| p.runs_organizer(n)).collect())
            .collect();
        assert_eq!(organizers, [vec![1, 4, 7], vec![2, 5], vec![3, 6]]);
        let cpi = Duration::from_millis(10);
        assert_eq!(parts[2].spawn_period(cpi), Duration::from_millis(30));
        assert_eq!(parts[2].spawn_offset(cpi), Duration::from_millis(20));
        assert!(Part::WHOLE.runs_organizer(5) && Part::WHOLE.participant_id(9) == 9);
    }

    #[test]
    fn one_way_times_keep_the_smallest_per_foreign_part() {
        let p = Part(Slice { index: 2, count: 3 });
        let mut w = OneWay::new(p);
        w.record(p, 0, 5_000, 6_500); // part 1: +1.5 ms
        w.record(p, 3, 9_000, 8_700); // part 1: -0.3 ms (skew)
        w.record(p, 1, 0, 100); // own part: ignored
        assert_eq!(w.finish(), [Some(-0.3), None, None]);
        let mut whole = OneWay::new(Part::WHOLE);
        whole.record(Part::WHOLE, 0, 0, 1);
        assert!(whole.finish().is_empty());
    }
}
