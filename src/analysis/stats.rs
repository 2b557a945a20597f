//! The small amount of statistics the report needs, implemented here so the
//! numbers are auditable and the crate stays free of a large maths dependency:
//! descriptive statistics, Student's t distribution (CDF and quantile, through
//! the regularized incomplete beta function) and Welch's unequal-variance
//! t-test.
//!
//! Accuracy: the incomplete beta continued fraction converges to ~1e-14, the
//! quantile is found by bisection to ~1e-12; tests compare with published tables.

use serde::{Deserialize, Serialize};

/// Arithmetic mean, `None` for an empty slice.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some(xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (n − 1 denominator), `None` below two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Median (mean of the two middle values for an even count), `None` when empty.
/// NaNs sort last and so only matter when they are the majority.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Natural log of the gamma function, Lanczos approximation (g = 7, 9 terms),
/// for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `0 ≤ x ≤ 1`.
pub fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2);
    // otherwise use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// CDF of Student's t distribution with `df > 0` degrees of freedom (df may be
/// fractional, as Welch's test produces).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Quantile of Student's t distribution: the `t` with `t_cdf(t, df) == p`,
/// for `0 < p < 1` (NaN outside).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let mut hi = 1.0;
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Descriptive statistics of one quantity over the repetitions of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation; null below two values.
    pub sd: Option<f64>,
    /// 95% confidence interval of the mean, Student t with n − 1 degrees of
    /// freedom, `[low, high]`; null below two values.
    pub ci95: Option<[f64; 2]>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Stat {
    /// Summarises `xs`; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Stat> {
        let mean = mean(xs)?;
        let sd = std_dev(xs);
        let ci95 = sd.map(|sd| {
            let half = t_quantile(0.975, (xs.len() - 1) as f64) * sd / (xs.len() as f64).sqrt();
            [mean - half, mean + half]
        });
        Some(Stat {
            n: xs.len(),
            mean,
            sd,
            ci95,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// Half-width of the 95% confidence interval, when there is one.
    pub fn ci_half_width(&self) -> Option<f64> {
        self.ci95.map(|[lo, hi]| (hi - lo) / 2.0)
    }
}

/// Result of Welch's unequal-variance two-sample t-test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welch {
    /// The t statistic of `mean(a) − mean(b)`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's t-test of `mean(a) == mean(b)`; `None` unless both samples have at
/// least two values. Two samples without any variance give p = 1 when their
/// means are equal and p = 0 otherwise.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, mb) = (mean(a)?, mean(b)?);
    let (va, vb) = (std_dev(a)?.powi(2), std_dev(b)?.powi(2));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (sa, sb) = (va / na, vb / nb);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        let equal = ma == mb;
        return Some(Welch {
            t: if equal {
                0.0
            } else {
                (ma - mb).signum() * f64::INFINITY
            },
            df: na + nb - 2.0,
            p_value: if equal { 1.0 } else { 0.0 },
        });
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (sa * sa / (na - 1.0) + sb * sb / (nb - 1.0));
    let p_value = (2.0 * (1.0 - t_cdf(t.abs(), df))).clamp(0.0, 1.0);
    Some(Welch { t, df, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_published_tables() {
        // (p, df, t) from standard t tables.
        let table = [
            (0.975, 1.0, 12.706_205),
            (0.975, 2.0, 4.302_653),
            (0.975, 3.0, 3.182_446),
            (0.975, 4.0, 2.776_445),
            (0.975, 10.0, 2.228_139),
            (0.975, 30.0, 2.042_272),
            (0.95, 5.0, 2.015_048),
            (0.995, 20.0, 2.845_340),
            (0.975, 1e6, 1.959_966),
        ];
        for (p, df, t) in table {
            let got = t_quantile(p, df);
            assert!(close(got, t, 2e-6), "t_{{{p},{df}}} = {got}, want {t}");
            assert!(close(t_quantile(1.0 - p, df), -t, 2e-6));
        }
    }

    #[test]
    fn t_cdf_known_values() {
        assert!(close(t_cdf(0.0, 3.0), 0.5, 1e-15));
        // Cauchy (df = 1): F(1) = 0.75.
        assert!(close(t_cdf(1.0, 1.0), 0.75, 1e-12));
        // df = 2 has a closed form: F(t) = 1/2 + t / (2 sqrt(2 + t²)).
        for t in [-3.0, -0.5, 0.7, 2.0, 10.0] {
            let exact = 0.5 + t / (2.0 * (2.0f64 + t * t).sqrt());
            assert!(close(t_cdf(t, 2.0), exact, 1e-12), "t = {t}");
        }
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-13));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn welch_matches_r_sleep_example() {
        // R: t.test(extra ~ group, data = sleep)
        //   t = -1.8608, df = 17.776, p-value = 0.07939
        let g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
        let g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
        let w = welch(&g1, &g2).unwrap();
        assert!(close(w.t, -1.8608, 1e-4), "{w:?}");
        assert!(close(w.df, 17.776, 1e-3), "{w:?}");
        assert!(close(w.p_value, 0.07939, 1e-5), "{w:?}");
    }

    #[test]
    fn welch_matches_wikipedia_example_1() {
        // Wikipedia "Welch's t-test", example 1: t = -2.46, df = 25.0, p = 0.021.
        let a1 = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let a2 = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let w = welch(&a1, &a2).unwrap();
        assert!(close(w.t, -2.46, 0.005), "{w:?}");
        assert!(close(w.df, 25.0, 0.05), "{w:?}");
        assert!(close(w.p_value, 0.021, 0.0005), "{w:?}");
    }

    #[test]
    fn welch_degenerate_cases() {
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        let same = welch(&[5.0, 5.0], &[5.0, 5.0, 5.0]).unwrap();
        assert_eq!(same.p_value, 1.0);
        let differ = welch(&[5.0, 5.0], &[6.0, 6.0]).unwrap();
        assert_eq!(differ.p_value, 0.0);
    }

    #[test]
    fn stat_confidence_interval_uses_student_t() {
        let s = Stat::of(&[10.0, 12.0, 14.0]).unwrap();
        assert_eq!(s.n, 3);
        assert!(close(s.mean, 12.0, 1e-12));
        assert!(close(s.sd.unwrap(), 2.0, 1e-12));
        // half-width = t_{0.975,2} * 2 / sqrt(3) = 4.302653 * 1.1547005 = 4.968275
        assert!(close(s.ci_half_width().unwrap(), 4.968_275, 1e-5));
        let one = Stat::of(&[7.0]).unwrap();
        assert_eq!((one.sd, one.ci95), (None, None));
        assert!(Stat::of(&[]).is_none());
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}
