//! What happens around the runs: `hooks`, `on_hook_failure`, `cooldown` and
//! `organizer.reply` of matrix.yaml, as serde sees them and as the plan holds them.
//!
//! The published procedure restarted the API and emptied its queue and
//! databases before every repetition; hooks are how a plan says so for a real
//! deployment. They live apart from `raw`/`validate` so those stay about the
//! matrix itself.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::raw::{fail, Dur, PosDur};

/// Default `timeout` of a hook (command and readiness probe together).
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// The four hook points of a plan; each is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hooks {
    /// Once, before the first run.
    pub before_all: Option<Hook>,
    /// Before every run.
    pub before_each: Option<Hook>,
    /// After every run (also a skipped one; not after a signal).
    pub after_each: Option<Hook>,
    /// Once, at the end, also after failures and signals.
    pub after_all: Option<Hook>,
}

impl Hooks {
    /// The hook of `phase`, if the plan has one.
    pub fn get(&self, phase: HookPhase) -> Option<&Hook> {
        match phase {
            HookPhase::BeforeAll => self.before_all.as_ref(),
            HookPhase::BeforeEach => self.before_each.as_ref(),
            HookPhase::AfterEach => self.after_each.as_ref(),
            HookPhase::AfterAll => self.after_all.as_ref(),
        }
    }

    /// The hooks that are set, with their phase, in run order.
    pub fn iter(&self) -> impl Iterator<Item = (HookPhase, &Hook)> {
        HookPhase::ALL
            .into_iter()
            .filter_map(|phase| self.get(phase).map(|h| (phase, h)))
    }
}

/// The four points where a hook runs, by their matrix.yaml and result-file
/// name (`before_all`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPhase {
    /// Once, before the first run.
    BeforeAll,
    /// Before every run.
    BeforeEach,
    /// After every run.
    AfterEach,
    /// Once, at the end.
    AfterAll,
}

impl HookPhase {
    /// Every phase, in run order.
    pub const ALL: [HookPhase; 4] = [
        HookPhase::BeforeAll,
        HookPhase::BeforeEach,
        HookPhase::AfterEach,
        HookPhase::AfterAll,
    ];

    /// The name in matrix.yaml, result files and `MSGPERF_HOOK`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::BeforeAll => "before_all",
            HookPhase::BeforeEach => "before_each",
            HookPhase::AfterEach => "after_each",
            HookPhase::AfterAll => "after_all",
        }
    }
}

impl fmt::Display for HookPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A phase equals its name (`"before_all"`).
impl PartialEq<&str> for HookPhase {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

/// One hook: a shell command, its time limit and an optional readiness probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// Run with `sh -c`.
    pub run: String,
    /// Limit on the command plus the readiness probe; the process group is killed past it.
    pub timeout: Duration,
    /// Polled after the command succeeded, until it answers, within `timeout`.
    pub wait_for: Option<String>,
    /// Pass the organizer password as `MSGPERF_ORGANIZER_PASSWORD` (default false).
    pub pass_password: bool,
}

/// What a failing `before_*` hook does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnHookFailure {
    /// Skip the run (or, for `before_all`, every run) and mark it `skipped`.
    #[default]
    Skip,
    /// Stop the whole matrix.
    Abort,
}

/// Whether the organizer answers participant messages (`organizer.reply`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplyPolicy {
    /// Never (the original test).
    #[default]
    None,
    /// Every participant message.
    Every,
    /// A deterministic share, in basis points (1..=10000): message `seq` is
    /// answered when `floor((seq+1)·bp/10000) > floor(seq·bp/10000)`, so
    /// exactly that share of every participant's messages is answered, evenly spread.
    Share(u32),
}

impl ReplyPolicy {
    /// True when the organizer answers message `seq` of a participant.
    pub fn answers(self, seq: u32) -> bool {
        match self {
            ReplyPolicy::None => false,
            ReplyPolicy::Every => true,
            ReplyPolicy::Share(bp) => {
                let bp = u64::from(bp);
                let seq = u64::from(seq);
                (seq + 1) * bp / 10_000 > seq * bp / 10_000
            }
        }
    }

    /// True unless replies are off.
    pub fn is_on(self) -> bool {
        self != ReplyPolicy::None
    }
}

/// `hooks:`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHooks {
    /// Once, before the first run.
    pub before_all: Option<RawHook>,
    /// Before every run.
    pub before_each: Option<RawHook>,
    /// After every run.
    pub after_each: Option<RawHook>,
    /// Once, at the end.
    pub after_all: Option<RawHook>,
}

/// A hook as written: a bare command string, or a mapping.
pub(crate) struct RawHook(pub Hook);

/// The mapping form of a hook.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHookMap {
    run: String,
    timeout: Option<PosDur>,
    wait_for: Option<String>,
    #[serde(default)]
    pass_password: bool,
}

impl<'de> Deserialize<'de> for RawHook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHook;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a shell command, or a mapping with `run`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawHook, E> {
                hook(s.to_string(), None, None, false)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawHook, A::Error> {
                let m = RawHookMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                hook(m.run, m.timeout.map(|t| t.0), m.wait_for, m.pass_password)
            }
        }
        d.deserialize_any(V)
    }
}

fn hook<E: de::Error>(
    run: String,
    timeout: Option<Duration>,
    wait_for: Option<String>,
    pass_password: bool,
) -> Result<RawHook, E> {
    if run.trim().is_empty() {
        return Err(fail(
            "the hook's command is empty",
            "write a shell command such as `./reset.sh`, or remove the hook",
        ));
    }
    let wait_for = wait_for.map(|w| w.trim().to_string());
    if let Some(w) = &wait_for {
        check_probe(w)?;
    }
    Ok(RawHook(Hook {
        run,
        timeout: timeout.unwrap_or(DEFAULT_HOOK_TIMEOUT),
        wait_for,
        pass_password,
    }))
}

/// A probe is `http(s)://...` or `tcp://host:port`; with `${VAR}` it is checked
/// again when the hook runs, after the variables are known.
fn check_probe<E: de::Error>(w: &str) -> Result<(), E> {
    if w.contains("${") || w.contains('$') {
        return Ok(());
    }
    let ok = match w.split_once("://") {
        Some((scheme, rest)) if !rest.is_empty() => match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => true,
            "tcp" => rest
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()),
            _ => false,
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(fail(
            format_args!("`{w}` is not a readiness probe"),
            "write an HTTP URL polled until it answers 2xx (`http://staging:8300/health`) or a TCP port (`tcp://staging:5432`)",
        ))
    }
}

/// `on_hook_failure:`.
pub(crate) struct OnHookFailureSpec(pub OnHookFailure);

impl<'de> Deserialize<'de> for OnHookFailureSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim() {
            "skip" => Ok(OnHookFailureSpec(OnHookFailure::Skip)),
            "abort" => Ok(OnHookFailureSpec(OnHookFailure::Abort)),
            _ => Err(fail(
                format_args!("`{text}` is not a valid on_hook_failure value"),
                "write `skip` (mark the run skipped and go on) or `abort` (stop the whole matrix)",
            )),
        }
    }
}

/// `organizer:`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrganizer {
    /// `every`, `none` or a share such as `10%`.
    pub reply: Option<ReplySpec>,
}

/// `organizer.reply`: `every`, `none` or a percentage.
pub(crate) struct ReplySpec(pub ReplyPolicy);

impl<'de> Deserialize<'de> for ReplySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const HINT: &str = "write `every`, `none`, or a share of the messages such as `\"10%\"`";
        let text = String::deserialize(d)?;
        match text.trim() {
            "every" => return Ok(ReplySpec(ReplyPolicy::Every)),
            "none" => return Ok(ReplySpec(ReplyPolicy::None)),
            _ => {}
        }
        let number = text
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite());
        let Some(number) = number else {
            return Err(fail(
                format_args!("`{text}` is not a valid reply value"),
                HINT,
            ));
        };
        let bp = (number * 100.0).round();
        if !(1.0..=10_000.0).contains(&bp) {
            return Err(fail(
                format_args!("reply share `{text}` is outside the range (0%, 100%]"),
                "write a percentage greater than 0 and at most 100 (such as `\"10%\"`), or `none`",
            ));
        }
        Ok(ReplySpec(match bp as u32 {
            10_000 => ReplyPolicy::Every,
            bp => ReplyPolicy::Share(bp),
        }))
    }
}

/// `cooldown:` (zero allowed).
pub(crate) type RawCooldown = Dur;

/// The plan's hooks from their raw form.
pub(crate) fn hooks(raw: Option<RawHooks>) -> Hooks {
    let raw = raw.unwrap_or_default();
    let take = |h: Option<RawHook>| h.map(|h| h.0);
    Hooks {
        before_all: take(raw.before_all),
        before_each: take(raw.before_each),
        after_each: take(raw.after_each),
        after_all: take(raw.after_all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_exact_and_evenly_spread() {
        let count = |p: ReplyPolicy| (0..1000).filter(|&s| p.answers(s)).count();
        assert_eq!(count(ReplyPolicy::Share(1000)), 100);
        assert_eq!(count(ReplyPolicy::Share(2500)), 250);
        assert_eq!(count(ReplyPolicy::Share(1)), 0);
        assert_eq!(count(ReplyPolicy::Every), 1000);
        assert_eq!(count(ReplyPolicy::None), 0);
        let tenth: Vec<u32> = (0..30)
            .filter(|&s| ReplyPolicy::Share(1000).answers(s))
            .collect();
        assert_eq!(tenth, vec![9, 19, 29]);
    }
}
