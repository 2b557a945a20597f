//! From the deserialized file to a [`Plan`]: defaults, `${VAR}` interpolation,
//! and the checks that need more than one value (URL schemes after
//! interpolation, include entries that cannot be placed, ids that collide).
//!
//! Each check reports the location serde-saphyr recorded for the value, so
//! these errors read exactly like the parser's own.

use std::collections::HashSet;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::ab::{self, AbPlan, SideTarget};
use super::error::{mask_url_credentials, Diagnostic, MatrixError, Source};
use super::expand::{self, Include, Match, MatrixSpec};
use super::hosts::HostPattern;
use super::interpolate::{interpolate, InterpolationError};
use super::raw::{IntOrText, PosDur, RawExclude, RawFile, RawInclude, RawStop, RawTarget};
use crate::staging::Capacity;

use super::{Gate, OnError, OnHookFailure, Plan, ReplyPolicy, Secret, StopRules, Target};

/// Default `stop.max_duration`.
pub(crate) const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(30);
/// Default `stop.handshake_timeout` (the original test's WebSocket limit).
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(45);
/// Default `stop.drain`: the longest the drain after the stop may read. It
/// usually ends much sooner (everything delivered, or 2 s without a delivery,
/// see `load::drain`); the bound only matters for an API that is still
/// delivering a backlog.
pub(crate) const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// Most scenarios one plan may expand to (include entries add at most
/// their own count on top).
pub(crate) const MAX_SCENARIOS: usize = 10_000;

/// Line, column and underline width of a located value.
fn at(loc: &Location) -> (u64, u64, u64) {
    (loc.line(), loc.column(), loc.span().len())
}

/// Looks up an environment variable for `${VAR}`.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Turns the deserialized file into a plan, or the first problem found.
/// `env` resolves the target's `${VAR}`s; `None` plans only: the target is
/// kept unresolved and unchecked (see [`super::load_plan_only`]).
pub(crate) fn build(src: Source, raw: RawFile, env: Option<Env<'_>>) -> Result<Plan, MatrixError> {
    // Every side's list: `target.allowed_hosts`, or both `targets.*` lists.
    let mut allowed_hosts: Vec<HostPattern> = raw.target.as_ref().map_or_else(Vec::new, |t| {
        t.value.allowed_hosts.iter().map(|h| h.0.clone()).collect()
    });
    if let Some(t) = &raw.targets {
        allowed_hosts.extend(ab::side_allowed_hosts(&t.value.base.value));
        allowed_hosts.extend(ab::side_allowed_hosts(&t.value.candidate.value));
    }
    let mut embedded = raw.embedded.unwrap_or_default();
    let (target, ab) = targets(
        src,
        raw.target,
        raw.targets,
        raw.compare,
        &mut embedded,
        env,
    )?;
    let matrix_at = at(&raw.matrix.referenced);
    let m = raw.matrix.value;
    // Locations outlive the values moved into the spec, for later errors.
    let include_at: Vec<Location> = m.include.iter().map(|e| e.referenced).collect();
    let exclude_at = m.exclude.first().map(|e| e.referenced);
    let spec = MatrixSpec {
        sci: durations(src, "sci", m.sci)?,
        cpi: durations(src, "cpi", m.cpi)?,
        smi: durations(src, "smi", m.smi)?,
        exclude: m
            .exclude
            .into_iter()
            .enumerate()
            .map(|(i, e)| exclude(src, i, e))
            .collect::<Result<_, _>>()?,
        include: m
            .include
            .into_iter()
            .enumerate()
            .map(|(i, e)| include(src, i, e))
            .collect::<Result<_, _>>()?,
        repetitions: raw.repetitions.map_or(1, |r| r.0),
        organizers: raw.organizers.map_or(1, |o| o.0),
        split: raw.split.map_or(1, |o| o.0),
        stop: stop_rules(raw.stop.unwrap_or_default()),
        arrival: raw.arrival.unwrap_or_default(),
    };
    check_size(src, &spec, matrix_at)?;
    let cells = expand::combinations(&spec);
    // An include entry's location, or the matrix's if the index were off.
    let include_pos = |i: usize| include_at.get(i).map_or(matrix_at, at);
    if let Some(&i) = cells.unplaced.first() {
        let missing = spec.include.get(i).map(|e| e.matrix.missing().join(", "));
        return Err(invalid(src.diagnostic(
            include_pos(i),
            format!("matrix.include[{i}]"),
            format!("this include entry matches no combination of the matrix (after exclude), and it cannot be added as a new one because it does not give {}", missing.unwrap_or_default()),
            "to extend existing combinations, give sci/cpi/smi values that are in the lists and not excluded; to add a new combination, give all of sci, cpi and smi",
        )));
    }
    if cells.cells.is_empty() {
        // Lists are non-empty by now, so only exclude can have emptied the matrix.
        return Err(invalid(src.diagnostic(
            exclude_at.as_ref().map_or(matrix_at, at),
            "matrix.exclude",
            "the matrix has no combinations left: exclude removes all of them",
            "remove or narrow an exclude entry, or add an include entry with sci, cpi and smi",
        )));
    }
    // Two new include cells that differ only in stop overrides would share an id.
    let mut groups = HashSet::new();
    for cell in &cells.cells {
        let group = expand::group_of(&spec, cell);
        if !groups.insert(group.clone()) {
            let (pos, key) = match cell.from_include {
                Some(i) => (include_pos(i), format!("matrix.include[{i}]")),
                None => (matrix_at, "matrix".to_string()),
            };
            return Err(invalid(src.diagnostic(
                pos,
                key,
                format!("two combinations would both get the id `{group}`: they differ only in max_duration or max_participants"),
                "merge these include entries into one, or give them different organizers",
            )));
        }
    }
    let cloudwatch = match raw.cloudwatch {
        Some(block) => Some(super::cloudwatch::build(src, block)?),
        None => None,
    };
    let gate = raw.gate.unwrap_or_default();
    let defaults = Gate::default();
    let reply = raw
        .organizer
        .and_then(|o| o.reply)
        .map_or(ReplyPolicy::None, |r| r.0);
    let mut scenarios = expand::scenarios(&spec, &cells.cells);
    for s in &mut scenarios {
        s.reply = reply;
    }
    Ok(Plan {
        target,
        allowed_hosts,
        embedded,
        ab,
        scenarios,
        hooks: super::hooks::hooks(raw.hooks),
        on_hook_failure: raw.on_hook_failure.map_or(OnHookFailure::Skip, |o| o.0),
        cooldown: raw.cooldown.map_or(Duration::ZERO, |c| c.0),
        gate: Gate {
            min_change: gate.min_change.map_or(defaults.min_change, |v| v.0),
            alpha: gate.alpha.map_or(defaults.alpha, |v| v.0),
            fail_on_regression: gate
                .fail_on_regression
                .unwrap_or(defaults.fail_on_regression),
        },
        cloudwatch,
    })
}

/// `target:`, or `targets:` with `compare:`: the base side's target (the
/// embedded server when `None`, its knobs in `embedded`) and the A/B plan.
fn targets(
    src: Source,
    single: Option<Spanned<RawTarget>>,
    pair: Option<Spanned<ab::RawTargets>>,
    compare: Option<Spanned<ab::Compare>>,
    embedded: &mut Capacity,
    env: Option<Env<'_>>,
) -> Result<(Option<Target>, Option<AbPlan>), MatrixError> {
    let mut resolve = |prefix: &str, t: RawTarget| match env {
        Some(env) => target(src, prefix, t, env),
        None => Ok(unresolved(t)),
    };
    let Some(pair) = pair else {
        if let Some(c) = compare {
            return Err(ab::misplaced(
                src,
                &c.referenced,
                "compare",
                "`compare:` orders the runs of two targets, but there is no `targets:` block",
                "add `targets: { base: ..., candidate: ... }`, or remove `compare:`",
            ));
        }
        let target = single.map(|t| resolve("target", t.value)).transpose()?;
        return Ok((target, None));
    };
    if let Some(t) = single {
        return Err(ab::misplaced(
            src,
            &t.referenced,
            "target",
            "both `target:` and `targets:` are given",
            "keep `target:` for one deployment, or move it into `targets:` as `base:`",
        ));
    }
    let top = embedded.clone();
    let base = ab::side(src, "base", pair.value.base, &top, &mut resolve)?;
    let candidate = ab::side(src, "candidate", pair.value.candidate, &top, &mut resolve)?;
    let target = match base {
        SideTarget::External(t) => Some(t),
        SideTarget::Embedded(knobs) => {
            *embedded = knobs;
            None
        }
    };
    let compare = compare.map_or(ab::Compare::default(), |c| c.value);
    Ok((target, Some(AbPlan { candidate, compare })))
}

/// Refuses a matrix too large to expand: a typo such as `repetitions: 30000`
/// should be an error, not hours of expansion or an allocation failure.
fn check_size(
    src: Source,
    spec: &MatrixSpec,
    matrix_at: (u64, u64, u64),
) -> Result<(), MatrixError> {
    let dims = [
        spec.sci.len(),
        spec.cpi.len(),
        spec.smi.len(),
        spec.repetitions as usize,
    ];
    let product = dims
        .iter()
        .fold(1u128, |acc, &n| acc.saturating_mul(n as u128));
    if product <= MAX_SCENARIOS as u128 {
        return Ok(());
    }
    Err(invalid(src.diagnostic(
        matrix_at,
        "matrix",
        format!("the matrix expands to {product} scenarios (sci x cpi x smi x repetitions), more than the limit of {MAX_SCENARIOS}"),
        "use fewer values or repetitions, or split the plan into several files",
    )))
}

/// Wraps a diagnostic about a value that parsed but is not allowed.
fn invalid(d: Box<Diagnostic>) -> MatrixError {
    MatrixError::Invalid(d)
}

/// Stop rules with defaults for every key left out.
fn stop_rules(raw: RawStop) -> StopRules {
    StopRules {
        max_duration: raw.max_duration.map_or(DEFAULT_MAX_DURATION, |d| d.0),
        max_participants: raw.max_participants.map(|p| p.0),
        on_error: raw.on_error.map_or(OnError::First, |o| o.0),
        handshake_timeout: raw
            .handshake_timeout
            .map_or(DEFAULT_HANDSHAKE_TIMEOUT, |d| d.0),
        drain: raw.drain.map_or(DEFAULT_DRAIN, |d| d.0),
    }
}

/// A non-empty matrix list.
fn durations(
    src: Source,
    key: &str,
    list: Spanned<Vec<PosDur>>,
) -> Result<Vec<Duration>, MatrixError> {
    if list.value.is_empty() {
        return Err(invalid(src.diagnostic(
            at(&list.referenced),
            format!("matrix.{key}"),
            format!("`{key}` lists no durations, so the matrix would be empty"),
            format!("list at least one duration, such as `{key}: [100ms]`"),
        )));
    }
    Ok(list.value.into_iter().map(|d| d.0).collect())
}

/// Refuses an include or exclude entry that names no key: it would match everything.
fn non_empty(src: Source, loc: &Location, key: String, named: bool) -> Result<(), MatrixError> {
    if named {
        return Ok(());
    }
    Err(invalid(src.diagnostic(
        at(loc),
        key,
        "this entry names no key",
        "give at least one of sci, cpi, smi (include also takes organizers, split, max_duration, max_participants, arrival), or remove the entry",
    )))
}

/// One exclude entry.
fn exclude(src: Source, index: usize, e: Spanned<RawExclude>) -> Result<Match, MatrixError> {
    let v = e.value;
    let found = Match {
        sci: v.sci.map(|d| d.0),
        cpi: v.cpi.map(|d| d.0),
        smi: v.smi.map(|d| d.0),
    };
    let named = found.missing().len() < 3;
    non_empty(
        src,
        &e.referenced,
        format!("matrix.exclude[{index}]"),
        named,
    )?;
    Ok(found)
}

/// One include entry.
fn include(src: Source, index: usize, e: Spanned<RawInclude>) -> Result<Include, MatrixError> {
    let v = e.value;
    let found = Include {
        matrix: Match {
            sci: v.sci.map(|d| d.0),
            cpi: v.cpi.map(|d| d.0),
            smi: v.smi.map(|d| d.0),
        },
        organizers: v.organizers.map(|o| o.0),
        split: v.split.map(|o| o.0),
        max_duration: v.max_duration.map(|d| d.0),
        max_participants: v.max_participants.map(|p| p.0),
        arrival: v.arrival,
    };
    let named = found != Include::default();
    non_empty(
        src,
        &e.referenced,
        format!("matrix.include[{index}]"),
        named,
    )?;
    Ok(found)
}

/// Interpolates one target value; never echoes it (it may be the password).
fn text(
    src: Source,
    key: &str,
    value: &Spanned<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, MatrixError> {
    // `key` is `target.<key>` or `targets.<side>.<key>`.
    let full_key = key.to_string();
    interpolate(&value.value, env).map_err(|e| {
        let pos = at(&value.referenced);
        let problem = e.to_string();
        match e {
            InterpolationError::Missing(variable) => {
                let hint = format!(
                    "export it before running msgperf (`export {variable}=...`), or write `$${{{variable}}}` for a literal `${{{variable}}}`"
                );
                let diagnostic = src.diagnostic(pos, full_key, problem, hint);
                MatrixError::MissingVariable {
                    variable,
                    diagnostic,
                }
            }
            InterpolationError::Malformed => invalid(src.diagnostic(
                pos,
                full_key,
                problem,
                "write `${NAME}`, or `$${` for a literal `${`",
            )),
        }
    })
}

/// A URL whose scheme is one of `schemes` and that has a host.
fn url(
    src: Source,
    key: &str,
    value: &Spanned<String>,
    schemes: [&str; 2],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, MatrixError> {
    let url = text(src, key, value, env)?.trim().to_string();
    let scheme_ok = url
        .split_once("://")
        .filter(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
        .is_some_and(|(scheme, _)| schemes.iter().any(|s| scheme.eq_ignore_ascii_case(s)));
    if scheme_ok {
        return Ok(url);
    }
    let [a, b] = schemes;
    let port = if a == "ws" { 8300 } else { 8000 };
    Err(invalid(src.diagnostic(
        at(&value.referenced),
        key.to_string(),
        format!(
            "`{}` is not a valid URL here: it needs the scheme {a}:// or {b}:// and a host",
            mask_url_credentials(&url)
        ),
        format!("write a URL such as `{a}://staging.example:{port}`"),
    )))
}

/// The `target:` block as written, for planning: its values are not
/// interpolated (no secret is read), and the password is left out.
fn unresolved(t: RawTarget) -> Target {
    Target {
        messenger_ws_url: t.messenger_ws_url.value,
        organizer_api_url: t.organizer_api_url.value,
        participant_api_url: t.participant_api_url.value,
        event_id: match t.event_id.value {
            IntOrText::Int(n) => n,
            IntOrText::Text(_) => 0,
        },
        organizer_email: t.organizer_email.value,
        organizer_password: Secret::new(""),
    }
}

/// The `target:` block (or a side of `targets:`, `prefix` naming which),
/// interpolated and checked in file order.
fn target(
    src: Source,
    prefix: &str,
    t: RawTarget,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, MatrixError> {
    const WS: [&str; 2] = ["ws", "wss"];
    const HTTP: [&str; 2] = ["http", "https"];
    let k = |key: &str| format!("{prefix}.{key}");
    let messenger_ws_url = url(src, &k("messenger_ws_url"), &t.messenger_ws_url, WS, env)?;
    let organizer_api_url = url(
        src,
        &k("organizer_api_url"),
        &t.organizer_api_url,
        HTTP,
        env,
    )?;
    let participant_api_url = url(
        src,
        &k("participant_api_url"),
        &t.participant_api_url,
        HTTP,
        env,
    )?;
    let event_id = match &t.event_id.value {
        IntOrText::Int(n) => *n,
        IntOrText::Text(raw) => {
            let spanned = Spanned::new(raw.clone(), t.event_id.referenced, t.event_id.defined);
            let value = text(src, &k("event_id"), &spanned, env)?;
            value.trim().parse().map_err(|_| {
                invalid(src.diagnostic(
                    at(&t.event_id.referenced),
                    k("event_id"),
                    format!("`{value}` is not a whole number"),
                    "write the event's numeric id, such as `1`",
                ))
            })?
        }
    };
    let organizer_email = text(src, &k("organizer_email"), &t.organizer_email, env)?;
    if organizer_email.trim().is_empty() {
        return Err(invalid(src.diagnostic(
            at(&t.organizer_email.referenced),
            k("organizer_email"),
            "the organizer e-mail is empty",
            "write an address such as `organizer{n}@example.com`, or set the variable it references",
        )));
    }
    let password = text(src, &k("organizer_password"), &t.organizer_password, env)?;
    Ok(Target {
        messenger_ws_url,
        organizer_api_url,
        participant_api_url,
        event_id,
        organizer_email,
        organizer_password: Secret::new(password),
    })
}
