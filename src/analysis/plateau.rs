//! Finding the plateau of a run: the stretch where the message rate stopped
//! rising although participants kept being added — the API's saturation.
//!
//! Input is one rate per second and the cumulative participant count; output
//! is the plateau's start, end and sustained rate (median of its seconds). The
//! rules, with their thresholds as the constants below (see `docs/report.md`):
//!
//! 1. **Candidate.** Compare the medians of two adjacent windows of
//!    `W` seconds ([`WINDOW_S`], or a quarter of a shorter run: [`window_s`]), `m1 = median(rate[t, t+W))` and
//!    `m2 = median(rate[t+W, t+2W))`. Second `t` is a candidate when
//!    participants were added between the windows' centres, `m1` is at least
//!    [`MIN_LEVEL_SHARE`] of the highest window median (so a quiet warm-up is
//!    not a plateau), the rate rose by at most [`MAX_RISE`] (`m2 − m1 ≤ 5% m1`)
//!    and it took up at most [`MAX_UPTAKE`] of the load the added participants
//!    offer (`m2 − m1 ≤ 25% · Δparticipants · per-participant rate`). The last
//!    rule keeps a slow ramp (e.g. smi 10 s, where 10 s of new participants add
//!    only ~1%) from passing for a plateau.
//! 2. **Level and start.** The provisional level is the larger of `m1`, `m2`.
//!    The plateau starts at the first second from `t − W` on where the
//!    [`SMOOTH_S`]-second rolling median reaches `(1 − START_BAND)` of it, moved
//!    later to where a line fitted to the preceding seconds of ramp meets the
//!    level (but no later than the first second that reaches the level).
//! 3. **End.** The level is re-estimated as the median of the plateau's first
//!    `2W` seconds. The plateau ends at the first later second whose rolling
//!    median falls below `(1 − COLLAPSE_DROP)` of the level (a collapse), or
//!    where the median of the next `W` seconds rises above `(1 + BREAKOUT_RISE)`
//!    of it (a breakout: it was a pause, not saturation — the search goes on
//!    after it), or at the end of the data.
//! 4. **Accept** a plateau of at least `W` seconds, and longer than one send
//!    interval (`1 / per-participant rate`), that did not end in a breakout;
//!    its sustained rate is the median of its seconds. Within one smi the rate
//!    of a steadily growing run rises in steps (every participant sends at
//!    once, then again only one smi later: smi 10 s gives 50/s, then 100/s
//!    from 10 s on), so a flat stretch shorter than smi says nothing.

use super::stats::{mean, median};
use serde::{Deserialize, Serialize};

/// Length of each of the two compared windows, seconds, in runs of at least
/// `4 · WINDOW_S` seconds; shorter runs use a quarter of their length, down to
/// [`MIN_WINDOW_S`] (see [`window_s`]).
pub const WINDOW_S: usize = 10;
/// Shortest window, seconds: a plateau needs at least `2 · MIN_WINDOW_S` seconds of data.
pub const MIN_WINDOW_S: usize = 3;
/// Largest relative rise between the two windows' medians on a plateau.
pub const MAX_RISE: f64 = 0.05;
/// Largest share of the offered extra load the rate may take up on a plateau.
pub const MAX_UPTAKE: f64 = 0.25;
/// A candidate window's median must be at least this share of the run's
/// highest window median.
pub const MIN_LEVEL_SHARE: f64 = 0.5;
/// Rolling-median width used to place the start and the end, seconds.
pub const SMOOTH_S: usize = 5;
/// The plateau starts where the smoothed rate is within this share below the level.
pub const START_BAND: f64 = 0.05;
/// The plateau ends when the smoothed rate falls this share below the level.
pub const COLLAPSE_DROP: f64 = 0.2;
/// The plateau is void when the smoothed rate rises this share above the level.
pub const BREAKOUT_RISE: f64 = 0.10;
/// Shortest plateau that counts, seconds (one window: shorter in short runs).
pub const MIN_PLATEAU_S: usize = WINDOW_S;

/// The window length for a run of `n` seconds: a quarter of the run, between
/// [`MIN_WINDOW_S`] and [`WINDOW_S`]. Short demo runs (the default matrix runs
/// 15 s each) would otherwise never show a plateau; long runs keep the robust
/// 10-second windows.
pub fn window_s(n: usize) -> usize {
    (n / 4).clamp(MIN_WINDOW_S, WINDOW_S)
}

/// A detected plateau, in indexes of the input series (= seconds since start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// First second on the plateau.
    pub start_s: u32,
    /// One past the last second on the plateau.
    pub end_s: u32,
    /// Median rate over `[start_s, end_s)`.
    pub sustained: f64,
    /// True when the plateau ended because the rate collapsed (rather than the data ending).
    pub collapsed: bool,
}

/// Centred rolling median of width `w` (shrunk at the edges).
pub fn rolling_median(xs: &[f64], w: usize) -> Vec<f64> {
    let half = w / 2;
    (0..xs.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(xs.len());
            median(&xs[lo..hi]).unwrap_or(0.0)
        })
        .collect()
}

/// Finds the plateau of `rate` (per second), given the cumulative
/// `participants` (same length) and the nominal rate one participant adds
/// (`1000 / smi_ms`; pass 0 when unknown to skip the uptake rule).
pub fn find_plateau(rate: &[f64], participants: &[f64], per_participant: f64) -> Option<Plateau> {
    let n = rate.len().min(participants.len());
    let w = window_s(n);
    if n < 2 * w {
        return None;
    }
    let win = |t: usize| median(&rate[t..t + w]).unwrap_or(0.0);
    let highest = (0..=n - w).map(win).fold(0.0, f64::max);
    let smooth = rolling_median(&rate[..n], SMOOTH_S.min(w));
    let mut t = 0;
    while t + 2 * w <= n {
        if !is_candidate(t, w, rate, participants, per_participant, highest) {
            t += 1;
            continue;
        }
        let level = win(t).max(win(t + w));
        let start = place_start(rate, &smooth, t.saturating_sub(w), level, w).unwrap_or(t);
        // Re-estimate the level on the plateau's first two windows.
        let level = median(&rate[start..(start + 2 * w).min(n)]).unwrap_or(level);
        let mut end = n;
        let mut breakout = false;
        let mut collapsed = false;
        for (i, &s) in smooth.iter().enumerate().skip(start + 1) {
            if s < (1.0 - COLLAPSE_DROP) * level {
                (end, collapsed) = (i, true);
                break;
            }
            if i + w <= n && win(i) > (1.0 + BREAKOUT_RISE) * level {
                (end, breakout) = (i, true);
                break;
            }
        }
        if breakout {
            t = end.max(t + 1);
            continue;
        }
        let one_smi = if per_participant > 0.0 {
            1.0 / per_participant
        } else {
            0.0
        };
        if end - start >= MIN_PLATEAU_S * w / WINDOW_S && (end - start) as f64 > one_smi {
            return Some(Plateau {
                start_s: start as u32,
                end_s: end as u32,
                sustained: median(&rate[start..end]).unwrap_or(0.0),
                collapsed,
            });
        }
        t = end.max(t + 1);
    }
    None
}

/// Rule 2: the first second from `from` on whose smoothed rate is within
/// [`START_BAND`] of `level`, moved later to where the line through the
/// preceding `W/2` seconds of ramp meets the level (never past the first second
/// that reaches the level), so a slow ramp is not cut early by the band.
fn place_start(rate: &[f64], smooth: &[f64], from: usize, level: f64, w: usize) -> Option<usize> {
    let n = smooth.len();
    let band = (from..n).find(|&i| smooth[i] >= (1.0 - START_BAND) * level)?;
    let reach = (band..n).find(|&i| smooth[i] >= level).unwrap_or(band);
    let lo = band.saturating_sub(w / 2);
    let xs: Vec<f64> = (lo..=band).map(|i| i as f64).collect();
    let ys = &rate[lo..=band];
    let knee = line_fit(&xs, ys).and_then(|(a, b)| (b > 0.0).then(|| (level - a) / b));
    Some(match knee {
        Some(k) if k.is_finite() => (k.round().max(0.0) as usize).clamp(band, reach.max(band)),
        _ => band,
    })
}

/// Least-squares line `y = a + b x`; `None` for fewer than two distinct `x`.
fn line_fit(xs: &[f64], ys: &[f64]) -> Option<(f64, f64)> {
    let mx = mean(xs)?;
    let my = mean(ys)?;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

fn is_candidate(
    t: usize,
    w: usize,
    rate: &[f64],
    participants: &[f64],
    per: f64,
    highest: f64,
) -> bool {
    let m1 = median(&rate[t..t + w]).unwrap_or(0.0);
    let m2 = median(&rate[t + w..t + 2 * w]).unwrap_or(0.0);
    let added = participants[t + w + w / 2 - 1] - participants[t + w / 2 - 1];
    if m1 <= 0.0 || m1 < MIN_LEVEL_SHARE * highest || added <= 0.0 {
        return false;
    }
    let rise = m2 - m1;
    rise <= MAX_RISE * m1 && (per <= 0.0 || rise <= MAX_UPTAKE * added * per)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1] (a small LCG, so tests need no crate).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    }

    /// 50 participants/s; each adds 10 msg/s (smi 100 ms) after a 2 s lag.
    fn ramp(n: usize, cap: f64, knee_noise: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let p: Vec<f64> = (0..n).map(|t| 50.0 * (t + 1) as f64).collect();
        let r = (0..n)
            .map(|t| {
                let offered = (50.0 * t.saturating_sub(2) as f64) * 10.0;
                (offered.min(cap) * (1.0 + knee_noise * noise(&mut s))).max(0.0)
            })
            .collect();
        (p, r)
    }

    #[test]
    fn linear_rise_then_plateau() {
        // Offered load reaches 4,000 at t = 2 + 8 = 10 s.
        let (p, r) = ramp(90, 4000.0, 0.0, 1);
        let pl = find_plateau(&r, &p, 10.0).expect("plateau");
        assert!((9..=11).contains(&pl.start_s), "{pl:?}");
        assert_eq!(pl.end_s, 90);
        assert!((pl.sustained - 4000.0).abs() < 1.0, "{pl:?}");
        assert!(!pl.collapsed);
    }

    #[test]
    fn slow_ramp_then_plateau_smi_10s() {
        // smi 10 s: each participant adds 0.1 msg/s; 50 participants/s → +5 msg/s².
        let n = 700;
        let p: Vec<f64> = (0..n).map(|t| 50.0 * (t + 1) as f64).collect();
        let r: Vec<f64> = (0..n).map(|t| (5.0 * t as f64).min(2500.0)).collect();
        let pl = find_plateau(&r, &p, 0.1).expect("plateau");
        assert!((498..=502).contains(&pl.start_s), "{pl:?}");
        assert!((pl.sustained - 2500.0).abs() < 1.0);
        // The same ramp cut before the knee has no plateau, though it rises
        // less than 5% per window late in the run.
        assert_eq!(find_plateau(&r[..480], &p[..480], 0.1), None);
    }

    #[test]
    fn noisy_plateau_within_tolerance() {
        for seed in 1..20 {
            let (p, r) = ramp(150, 4200.0, 0.08, seed);
            let pl = find_plateau(&r, &p, 10.0).expect("plateau");
            // true knee at t = 10.4 s; ±3 s tolerance, sustained within 2%.
            assert!((7..=14).contains(&pl.start_s), "seed {seed}: {pl:?}");
            assert!(
                (pl.sustained / 4200.0 - 1.0).abs() < 0.02,
                "seed {seed}: {pl:?}"
            );
        }
    }

    #[test]
    fn no_plateau_when_run_ends_while_rising() {
        let (p, r) = ramp(60, f64::INFINITY, 0.0, 1);
        assert_eq!(find_plateau(&r, &p, 10.0), None);
        let (p, r) = ramp(60, f64::INFINITY, 0.05, 3);
        assert_eq!(find_plateau(&r, &p, 10.0), None);
        assert_eq!(find_plateau(&r[..15], &p[..15], 10.0), None);
    }

    #[test]
    fn plateau_then_collapse_ends_at_the_collapse() {
        let (p, mut r) = ramp(120, 3000.0, 0.03, 7);
        for (t, x) in r.iter_mut().enumerate().skip(80) {
            *x = 3000.0 * 0.97f64.powi((t - 79) as i32 * 4);
        }
        let pl = find_plateau(&r, &p, 10.0).expect("plateau");
        assert!((6..=10).contains(&pl.start_s), "{pl:?}");
        assert!((80..=85).contains(&pl.end_s), "{pl:?}");
        assert!(pl.collapsed);
        assert!((pl.sustained / 3000.0 - 1.0).abs() < 0.02);
    }

    #[test]
    fn a_pause_during_the_ramp_is_not_the_plateau() {
        // Rises to 2,000, holds 15 s, rises again to 5,000 and stays.
        let p: Vec<f64> = (0..120).map(|t| 50.0 * (t + 1) as f64).collect();
        let r: Vec<f64> = (0..120)
            .map(|t| match t {
                0..=19 => 100.0 * t as f64,
                20..=34 => 2000.0,
                _ => (2000.0 + 200.0 * (t - 34) as f64).min(5000.0),
            })
            .collect();
        let pl = find_plateau(&r, &p, 10.0).expect("plateau");
        assert!((48..=51).contains(&pl.start_s), "{pl:?}");
        assert_eq!(pl.sustained, 5000.0);
    }

    #[test]
    fn no_plateau_when_participants_stop_being_added() {
        // Flat rate because the participant limit was reached: not saturation.
        let p: Vec<f64> = (0..100)
            .map(|t| (50.0 * (t + 1) as f64).min(500.0))
            .collect();
        let r: Vec<f64> = (0..100).map(|t| (500.0 * t as f64).min(5000.0)).collect();
        assert_eq!(find_plateau(&r, &p, 10.0), None);
    }
}

#[cfg(test)]
mod step_tests {
    use super::*;

    /// smi 10 s in a 15 s run: 50 participants/s each send at once, then
    /// 10 s later. The rate is 50/s, then 100/s: a step, not saturation.
    #[test]
    fn a_flat_step_shorter_than_one_smi_is_no_plateau() {
        let rate: Vec<f64> = (0..15).map(|t| if t < 10 { 50.0 } else { 100.0 }).collect();
        let participants: Vec<f64> = (0..15).map(|t| 50.0 * (t + 1) as f64).collect();
        assert_eq!(find_plateau(&rate, &participants, 0.1), None);
        // The same shape at smi 1 s is a plateau: 5 s of it span five smi.
        let p = find_plateau(&rate, &participants, 1.0).expect("a plateau");
        assert!(p.end_s - p.start_s >= 3, "{p:?}");
    }
}
