//! `targets: {base, candidate}` and `compare:`: two deployments measured in
//! one job, so the report can judge them by paired ratios (issue 16).
//!
//! Each side is a target like `target:` (the same six keys, `${VAR}`s
//! resolved the same way), or `embedded` (the embedded server with the
//! top-level `embedded:` knobs), or `embedded: { knobs }` (its own knobs).
//! The base side fills the plan's `target` / `embedded` fields, exactly as a
//! single `target:` would, so everything that knows one target keeps working;
//! the candidate side and the order are [`AbPlan`].

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::error::{MatrixError, Source};
use super::overrides::{check_scheme, OverrideError, TargetOverrides};
use super::raw::{fail, IntOrText, RawTarget};
use super::Plan;
use super::Target;
use crate::staging::Capacity;

/// In which order the two sides' runs go (`compare:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Each repetition is a pair run back to back, in the order AB, BA, AB…
    /// (the default): drift over the job hits both sides alike.
    #[default]
    Interleaved,
    /// Every base run, then every candidate run: what a stored baseline does,
    /// kept to show how much drift it lets in.
    Sequential,
}

impl Compare {
    /// `interleaved` or `sequential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compare::Interleaved => "interleaved",
            Compare::Sequential => "sequential",
        }
    }
}

/// Where one side's load goes.
#[derive(Debug, Clone, PartialEq)]
pub enum SideTarget {
    /// A deployed Messenger API.
    External(Target),
    /// An embedded staging server of its own, with these knobs.
    Embedded(Capacity),
}

/// The candidate side of an A/B plan and the order of the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AbPlan {
    /// The candidate's target (the base is the plan's `target`/`embedded`).
    pub candidate: SideTarget,
    /// Interleaved (pairs) or sequential.
    pub compare: Compare,
}

/// `targets:` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTargets {
    /// The deployment the change is judged against (main).
    pub base: Spanned<RawSide>,
    /// The deployment with the change (the PR's preview).
    pub candidate: Spanned<RawSide>,
}

/// One side: the word `embedded`, or a mapping.
pub(crate) enum RawSide {
    /// `embedded`: the top-level `embedded:` knobs.
    Embedded,
    /// A mapping: `embedded: {knobs}` or the target keys.
    Map(Box<RawSideMap>),
}

/// One side written as a mapping. Every key is optional here; `side` checks
/// that it is either `embedded:` alone or all six target keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSideMap {
    /// `embedded: {knobs}` (or `embedded: {}`).
    #[serde(default)]
    pub embedded: Option<Spanned<Capacity>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub messenger_ws_url: Option<Spanned<String>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub organizer_api_url: Option<Spanned<String>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub participant_api_url: Option<Spanned<String>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub event_id: Option<Spanned<IntOrText>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub organizer_email: Option<Spanned<String>>,
    /// See [`RawTarget`].
    #[serde(default)]
    pub organizer_password: Option<Spanned<String>>,
    /// See [`RawTarget`]: hosts this side may be, added to the plan's list.
    #[serde(default)]
    pub allowed_hosts: Vec<super::raw::AllowedHost>,
}

const SIDE_HINT: &str = "write `embedded`, `embedded: { max_messages_per_second: 3000 }`, or the target keys messenger_ws_url, organizer_api_url, participant_api_url, event_id, organizer_email, organizer_password";

impl<'de> Deserialize<'de> for RawSide {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSide;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`embedded` or a mapping")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawSide, E> {
                match s.trim() {
                    "embedded" => Ok(RawSide::Embedded),
                    other => Err(fail(format_args!("`{other}` is not a target"), SIDE_HINT)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSide, A::Error> {
                // Through the same map access, so serde-saphyr still locates
                // every value and `deny_unknown_fields` still names the key.
                let inner = RawSideMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawSide::Map(Box::new(inner)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `allowed_hosts` a side lists (none for `embedded`).
pub(crate) fn side_allowed_hosts(side: &RawSide) -> Vec<super::hosts::HostPattern> {
    match side {
        RawSide::Embedded => Vec::new(),
        RawSide::Map(map) => map.allowed_hosts.iter().map(|h| h.0.clone()).collect(),
    }
}

/// A side, checked: `Err` names `targets.<side>` and what is wrong.
/// `resolve` turns a complete target block into a [`Target`] (the same
/// function as for `target:`, with its own key prefix).
pub(crate) fn side(
    src: Source,
    name: &str,
    raw: Spanned<RawSide>,
    top_embedded: &Capacity,
    resolve: &mut dyn FnMut(&str, RawTarget) -> Result<Target, MatrixError>,
) -> Result<SideTarget, MatrixError> {
    let key = format!("targets.{name}");
    let map = match raw.value {
        RawSide::Embedded => return Ok(SideTarget::Embedded(top_embedded.clone())),
        RawSide::Map(map) => *map,
    };
    let target_keys = [
        ("messenger_ws_url", map.messenger_ws_url.is_some()),
        ("organizer_api_url", map.organizer_api_url.is_some()),
        ("participant_api_url", map.participant_api_url.is_some()),
        ("event_id", map.event_id.is_some()),
        ("organizer_email", map.organizer_email.is_some()),
        ("organizer_password", map.organizer_password.is_some()),
    ];
    let given: Vec<&str> = target_keys.iter().filter(|k| k.1).map(|k| k.0).collect();
    if let Some(embedded) = map.embedded {
        if let Some(first) = given.first() {
            return Err(MatrixError::Invalid(src.diagnostic(
                at(&raw.referenced),
                format!("{key}.{first}"),
                format!("`{key}` is both `embedded` and a target (it gives `{first}`)"),
                "give either `embedded: {...}` or the target keys, not both",
            )));
        }
        return Ok(SideTarget::Embedded(embedded.value));
    }
    let (Some(ws), Some(org), Some(part), Some(event), Some(email), Some(password)) = (
        map.messenger_ws_url,
        map.organizer_api_url,
        map.participant_api_url,
        map.event_id,
        map.organizer_email,
        map.organizer_password,
    ) else {
        let missing: Vec<&str> = target_keys.iter().filter(|k| !k.1).map(|k| k.0).collect();
        return Err(MatrixError::Invalid(src.diagnostic(
            at(&raw.referenced),
            format!("{key}.{}", missing.first().copied().unwrap_or("embedded")),
            format!("`{key}` is a target but lacks {}", missing.join(", ")),
            SIDE_HINT,
        )));
    };
    let raw_target = RawTarget {
        messenger_ws_url: ws,
        organizer_api_url: org,
        participant_api_url: part,
        event_id: event,
        organizer_email: email,
        organizer_password: password,
        allowed_hosts: map.allowed_hosts,
    };
    resolve(&key, raw_target).map(SideTarget::External)
}

/// Applies the action's `candidate-*` inputs: they change a deployed
/// candidate's fields, or make a whole candidate target (all three URLs) that
/// signs in with the base's organizer e-mail and password, and turn a plan
/// with one target into an interleaved A/B plan.
pub(crate) fn apply_candidate(plan: &mut Plan, o: &TargetOverrides) -> Result<(), OverrideError> {
    if o.is_empty() {
        return Ok(());
    }
    const WS: &[&str] = &["ws://", "wss://"];
    const HTTP: &[&str] = &["http://", "https://"];
    check_scheme("candidate-messenger-ws-url", &o.messenger_ws_url, WS)?;
    check_scheme("candidate-organizer-api-url", &o.organizer_api_url, HTTP)?;
    check_scheme(
        "candidate-participant-api-url",
        &o.participant_api_url,
        HTTP,
    )?;
    let Some(base) = plan.target.clone() else {
        return Err(OverrideError::CandidateWithoutBase);
    };
    let current = match plan.ab.as_ref().map(|ab| &ab.candidate) {
        Some(SideTarget::External(t)) => t.clone(),
        _ => {
            let missing: Vec<&str> = [
                ("candidate-messenger-ws-url", o.messenger_ws_url.is_none()),
                ("candidate-organizer-api-url", o.organizer_api_url.is_none()),
                (
                    "candidate-participant-api-url",
                    o.participant_api_url.is_none(),
                ),
            ]
            .into_iter()
            .filter_map(|(name, gone)| gone.then_some(name))
            .collect();
            if !missing.is_empty() {
                return Err(OverrideError::CandidateIncomplete(missing.join(", ")));
            }
            base
        }
    };
    let pick = |o: &Option<String>, v: String| o.clone().unwrap_or(v);
    let candidate = Target {
        messenger_ws_url: pick(&o.messenger_ws_url, current.messenger_ws_url),
        organizer_api_url: pick(&o.organizer_api_url, current.organizer_api_url),
        participant_api_url: pick(&o.participant_api_url, current.participant_api_url),
        event_id: o.event_id.unwrap_or(current.event_id),
        ..current
    };
    let compare = plan.ab.as_ref().map_or(Compare::default(), |ab| ab.compare);
    plan.ab = Some(AbPlan {
        candidate: SideTarget::External(candidate),
        compare,
    });
    Ok(())
}

/// `compare:` without `targets:`, or `target:` beside `targets:`.
pub(crate) fn misplaced(
    src: Source,
    loc: &Location,
    key: &str,
    problem: &str,
    hint: &str,
) -> MatrixError {
    MatrixError::Invalid(src.diagnostic(at(loc), key, problem, hint))
}

fn at(loc: &Location) -> (u64, u64, u64) {
    (loc.line(), loc.column(), loc.span().len())
}
