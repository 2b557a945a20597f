//! The shape of matrix.yaml as serde sees it, before defaults and cross-key checks.
//!
//! Single values are checked while they are deserialized (a zero duration, a
//! `0` count, an unknown `on_error` word), because serde-saphyr then attaches
//! the exact line and column for free. Checks that need several keys, or the
//! environment, happen in `validate`, which is why some fields keep their
//! [`Spanned`] location.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::OnError;
use crate::staging::Capacity;

/// Separates the problem from the hint inside a serde custom error message;
/// `decode` splits on it. A control character cannot occur in YAML scalars
/// we echo, so it never collides with user text.
pub(crate) const HINT_MARK: char = '\u{1f}';

/// A custom serde error carrying a problem and a hint.
pub(crate) fn fail<E: de::Error>(problem: impl fmt::Display, hint: impl fmt::Display) -> E {
    E::custom(format_args!("{problem}{HINT_MARK}{hint}"))
}

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// `target:`; `None` runs against the embedded server.
    #[serde(default)]
    pub target: Option<Spanned<RawTarget>>,
    /// `matrix:`, located for errors about the whole matrix.
    pub matrix: Spanned<RawMatrix>,
    /// `repetitions:` (default 1).
    #[serde(default)]
    pub repetitions: Option<Positive<u32>>,
    /// `organizers:` (default 1).
    #[serde(default)]
    pub organizers: Option<Positive<u32>>,
    /// `split:` runners that generate each scenario together (default 1).
    #[serde(default)]
    pub split: Option<Positive<u32>>,
    /// `stop:` (defaults per key).
    #[serde(default)]
    pub stop: Option<RawStop>,
    /// `embedded:` capacity limits.
    #[serde(default)]
    pub embedded: Option<Capacity>,
    /// `gate:` (defaults per key).
    #[serde(default)]
    pub gate: Option<RawGate>,
    /// `cloudwatch:`; `None` fetches no metrics.
    #[serde(default)]
    pub cloudwatch: Option<Spanned<super::cloudwatch::RawCloudWatch>>,
    /// `hooks:` around the runs.
    #[serde(default)]
    pub hooks: Option<super::hooks::RawHooks>,
    /// `on_hook_failure:` (default `skip`).
    #[serde(default)]
    pub on_hook_failure: Option<super::hooks::OnHookFailureSpec>,
    /// `cooldown:` between runs (default 0).
    #[serde(default)]
    pub cooldown: Option<super::hooks::RawCooldown>,
    /// `organizer:` behaviour.
    #[serde(default)]
    pub organizer: Option<super::hooks::RawOrganizer>,
    /// `arrival:` how participants are created (default `rate`).
    #[serde(default)]
    pub arrival: Option<super::Arrival>,
    /// `targets: {base, candidate}`: two deployments compared in one job.
    #[serde(default)]
    pub targets: Option<Spanned<super::ab::RawTargets>>,
    /// `compare:` the order of an A/B plan's runs (default `interleaved`).
    #[serde(default)]
    pub compare: Option<Spanned<super::ab::Compare>>,
}

/// `target:`. Strings stay raw (with `${VAR}`) and located until `validate`
/// interpolates them. No `Debug`: it holds the password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    /// `ws://` or `wss://` URL, maybe with `${VAR}`.
    pub messenger_ws_url: Spanned<String>,
    /// `http(s)://` URL, maybe with `${VAR}`.
    pub organizer_api_url: Spanned<String>,
    /// `http(s)://` URL, maybe with `${VAR}`.
    pub participant_api_url: Spanned<String>,
    /// A number, or text with `${VAR}` parsed after interpolation.
    pub event_id: Spanned<IntOrText>,
    /// E-mail with `{n}`, maybe with `${VAR}`.
    pub organizer_email: Spanned<String>,
    /// The password or its `${VAR}`; becomes a `Secret`.
    pub organizer_password: Spanned<String>,
    /// Hosts besides loopback this target may be (names or CIDRs); never
    /// interpolated: the list is what the file's author meant to load.
    #[serde(default)]
    pub allowed_hosts: Vec<AllowedHost>,
}

/// One `target.allowed_hosts` entry, checked while it is read (so the error
/// has its line and key).
pub(crate) struct AllowedHost(pub super::hosts::HostPattern);

impl<'de> Deserialize<'de> for AllowedHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        super::hosts::HostPattern::parse_value(&text)
            .map(AllowedHost)
            .map_err(|e| {
                fail(
                    format_args!("`{text}` is not a host or a CIDR block"),
                    format_args!("write {}", e.expected),
                )
            })
    }
}

/// `matrix:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatrix {
    /// Start chat intervals, located for the empty-list check.
    pub sci: Spanned<Vec<PosDur>>,
    /// Create participant intervals.
    pub cpi: Spanned<Vec<PosDur>>,
    /// Send message intervals.
    pub smi: Spanned<Vec<PosDur>>,
    /// Include entries, located for placement errors.
    #[serde(default)]
    pub include: Vec<Spanned<RawInclude>>,
    /// Exclude entries, located for the empty-entry check.
    #[serde(default)]
    pub exclude: Vec<Spanned<RawExclude>>,
}

/// One `matrix.include` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInclude {
    /// Matrix key.
    pub sci: Option<PosDur>,
    /// Matrix key.
    pub cpi: Option<PosDur>,
    /// Matrix key.
    pub smi: Option<PosDur>,
    /// Override of the organizer pool size.
    pub organizers: Option<Positive<u32>>,
    /// Override of `split` (runners per scenario).
    pub split: Option<Positive<u32>>,
    /// Override of `stop.max_duration`.
    pub max_duration: Option<PosDur>,
    /// Override of `stop.max_participants`.
    pub max_participants: Option<Positive<u64>>,
    /// Override of `arrival`.
    pub arrival: Option<super::Arrival>,
}

/// One `matrix.exclude` entry: only matrix keys can be matched.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExclude {
    /// Matrix key.
    pub sci: Option<PosDur>,
    /// Matrix key.
    pub cpi: Option<PosDur>,
    /// Matrix key.
    pub smi: Option<PosDur>,
}

/// `stop:`; every key has a default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStop {
    /// Default 30s.
    pub max_duration: Option<PosDur>,
    /// Default: no limit.
    pub max_participants: Option<Positive<u64>>,
    /// Default `first`.
    pub on_error: Option<OnErrorSpec>,
    /// Default 45s.
    pub handshake_timeout: Option<PosDur>,
    /// Default 1s; zero allowed.
    pub drain: Option<Dur>,
}

/// `gate:`; every key has a default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGate {
    /// Default from `Gate::default()`.
    pub min_change: Option<MinChange>,
    /// Default from `Gate::default()`.
    pub alpha: Option<Alpha>,
    /// Default from `Gate::default()`.
    pub fail_on_regression: Option<bool>,
}

/// The longest duration matrix.yaml may give: no interval, run or timeout
/// is longer, and one of 500 billion years parses but overflows the clock
/// when the run adds it to "now" (a panic, not a configuration error).
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses a humantime string, with an error that says what to write instead.
fn parse_duration<E: de::Error>(text: &str) -> Result<Duration, E> {
    let value = humantime::parse_duration(text.trim()).map_err(|e| {
        fail(
            format_args!("`{text}` is not a duration ({e})"),
            "write a number and a unit, such as `10ms`, `1s` or `2m`",
        )
    })?;
    if value > MAX_DURATION {
        return Err(fail(
            format_args!("`{text}` is longer than the 7 days a duration may be here"),
            "a run, interval or timeout of more than a week is a typo: write one such as `30s` or `2h`",
        ));
    }
    Ok(value)
}

/// A duration, zero allowed (`drain: 0s` means no reading time).
pub(crate) struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // serde-saphyr hands any scalar to a string request, so `10` arrives
        // as "10" and gets humantime's "time unit needed" message.
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Dur)
    }
}

/// A duration that must be longer than zero (intervals, timeouts).
pub(crate) struct PosDur(pub Duration);

impl<'de> Deserialize<'de> for PosDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let value = parse_duration(&text)?;
        if value.is_zero() {
            return Err(fail(
                format_args!("`{text}` is zero, but this duration must be longer than zero"),
                "write a positive duration such as `1ms` or `10s`",
            ));
        }
        Ok(PosDur(value))
    }
}

/// A whole number of at least 1 that fits `T`.
pub(crate) struct Positive<T>(pub T);

impl<'de, T: TryFrom<u64>> Deserialize<'de> for Positive<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: TryFrom<u64>> V<T> {
            fn check<E: de::Error>(n: u64) -> Result<Positive<T>, E> {
                if n == 0 {
                    return Err(fail(
                        "0 is not allowed here",
                        "write a whole number of at least 1, such as `1` or `3`",
                    ));
                }
                T::try_from(n)
                    .map(Positive)
                    .map_err(|_| fail(format_args!("{n} is too large"), "write a smaller number"))
            }
        }
        impl<T: TryFrom<u64>> Visitor<'_> for V<T> {
            type Value = Positive<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of at least 1")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                Self::check(n)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                match u64::try_from(n) {
                    Ok(n) => Self::check(n),
                    Err(_) => Err(fail(
                        format_args!("{n} is negative"),
                        "write a whole number of at least 1, such as `1` or `3`",
                    )),
                }
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
                Err(fail(
                    format_args!("`{n}` is not a whole number"),
                    "write a whole number of at least 1, such as `1` or `3`",
                ))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                match s.trim().parse::<u64>() {
                    Ok(n) => Self::check(n),
                    Err(_) => Err(fail(
                        format_args!("`{s}` is not a whole number"),
                        "write digits, such as `3`",
                    )),
                }
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `event_id`: a number, or a string that may hold `${VAR}` and is parsed
/// after interpolation.
pub(crate) enum IntOrText {
    /// Written as a number.
    Int(i64),
    /// Written as text, to be interpolated and then parsed.
    Text(String),
}

impl<'de> Deserialize<'de> for IntOrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number or a `${VAR}` reference")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<IntOrText, E> {
                Ok(IntOrText::Int(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<IntOrText, E> {
                i64::try_from(n)
                    .map(IntOrText::Int)
                    .map_err(|_| fail(format_args!("{n} is too large"), "write a smaller number"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<IntOrText, E> {
                Ok(IntOrText::Text(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `stop.on_error`: `first`, `never` or a percentage budget in (0%, 100%].
pub(crate) struct OnErrorSpec(pub OnError);

impl<'de> Deserialize<'de> for OnErrorSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const HINT: &str =
            "write `first` (stop at the first error), `never`, or an error budget such as `1%`";
        let text = String::deserialize(d)?;
        match text.trim() {
            "first" => return Ok(OnErrorSpec(OnError::First)),
            "never" => return Ok(OnErrorSpec(OnError::Never)),
            _ => {}
        }
        // Bare numbers are refused: `1` could mean 1% or 100%.
        let Some(fraction) = percent(&text) else {
            return Err(fail(
                format_args!("`{text}` is not a valid on_error value"),
                HINT,
            ));
        };
        if fraction > 0.0 && fraction <= 1.0 {
            Ok(OnErrorSpec(OnError::Budget(fraction)))
        } else {
            Err(fail(
                format_args!("error budget `{text}` is outside the range (0%, 100%]"),
                "write a percentage greater than 0 and at most 100, such as `1%`",
            ))
        }
    }
}

/// `N%` as a fraction, if `text` is a finite percentage.
fn percent(text: &str) -> Option<f64> {
    let number: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    number.is_finite().then_some(number / 100.0)
}

/// A percentage (`5%`) or a plain fraction (`0.05`).
fn share<E: de::Error>(text: &str, what: &str) -> Result<f64, E> {
    let value = percent(text).or_else(|| text.trim().parse::<f64>().ok().filter(|v| v.is_finite()));
    value.ok_or_else(|| {
        fail(
            format_args!("`{text}` is not a {what}"),
            "write a percentage such as `5%` or a fraction such as `0.05`",
        )
    })
}

/// `gate.min_change`: a non-negative relative change.
pub(crate) struct MinChange(pub f64);

impl<'de> Deserialize<'de> for MinChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let value = share(&text, "relative change")?;
        if value < 0.0 {
            return Err(fail(
                format_args!("`{text}` is negative"),
                "write a change of 0% or more, such as `5%`",
            ));
        }
        Ok(MinChange(value))
    }
}

/// `gate.alpha`: a significance level strictly between 0 and 1.
pub(crate) struct Alpha(pub f64);

impl<'de> Deserialize<'de> for Alpha {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let value = share(&text, "significance level")?;
        if value <= 0.0 || value >= 1.0 {
            return Err(fail(
                format_args!("significance level `{text}` is not between 0 and 1"),
                "write a fraction such as `0.05` (or `5%`)",
            ));
        }
        Ok(Alpha(value))
    }
}
