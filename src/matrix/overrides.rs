//! Changes to a loaded [`Plan`] that come from outside the file: target
//! overrides (the GitHub Action's `messenger-ws-url`, `organizer-password`, …
//! inputs), the gate's `fail-on-regression` and the `cloudwatch` switch.
//! Pure functions on plain data, applied once when an invocation is resolved.

use std::path::Path;

use super::{Plan, Secret, Target};

/// Everything about a plan that is given outside matrix.yaml.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOverrides {
    /// The target's settings (the base side of an A/B plan).
    pub target: TargetOverrides,
    /// The candidate side's settings (the action's `candidate-*` inputs):
    /// URLs and event id; it signs in with the base's organizer e-mail and
    /// password. Given without `targets:`, they make the plan an A/B plan.
    pub candidate: TargetOverrides,
    /// Whether a regression fails the command; `None` keeps `gate:`'s.
    pub fail_on_regression: Option<bool>,
    /// Whether to fetch CloudWatch metrics.
    pub cloudwatch: CloudWatchChoice,
}

/// Whether the runs fetch the metrics of matrix.yaml's `cloudwatch:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CloudWatchChoice {
    /// As matrix.yaml says (the CLI).
    #[default]
    AsMatrix,
    /// Never (the action's `cloudwatch: false`).
    Off,
    /// Always; the block must exist (the action's `cloudwatch: true`), in
    /// `region` when given (`aws-region`).
    On {
        /// Overrides the block's region.
        region: Option<String>,
    },
}

impl PlanOverrides {
    /// The plan with these applied; `source` names the matrix file in errors.
    pub fn apply(&self, mut plan: Plan, source: &Path) -> Result<Plan, OverrideError> {
        apply_overrides(&mut plan, &self.target)?;
        super::ab::apply_candidate(&mut plan, &self.candidate)?;
        if let Some(fail) = self.fail_on_regression {
            plan.gate.fail_on_regression = fail;
        }
        match &self.cloudwatch {
            CloudWatchChoice::AsMatrix => {}
            CloudWatchChoice::Off => plan.cloudwatch = None,
            CloudWatchChoice::On { region } => {
                let Some(cw) = plan.cloudwatch.as_mut() else {
                    return Err(OverrideError::NoCloudWatch {
                        matrix: source.display().to_string(),
                    });
                };
                if let Some(region) = region {
                    cw.region = Some(region.clone());
                }
            }
        }
        Ok(plan)
    }
}

/// Target settings given outside matrix.yaml; `None` keeps the file's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetOverrides {
    /// `ws://` or `wss://` URL of the Messenger API.
    pub messenger_ws_url: Option<String>,
    /// Organizer API base URL.
    pub organizer_api_url: Option<String>,
    /// Participant API base URL.
    pub participant_api_url: Option<String>,
    /// Event the participants request help for.
    pub event_id: Option<i64>,
    /// Organizer e-mail (`{n}` = pool worker number).
    pub organizer_email: Option<String>,
    /// Organizer password.
    pub organizer_password: Option<Secret>,
}

impl TargetOverrides {
    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        *self == TargetOverrides::default()
    }
}

/// Why overrides could not be applied; says which input to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// The plan has no target and the overrides do not make a whole one.
    #[error("matrix has no `target:` block, so the target overrides must give all of messenger-ws-url, organizer-api-url, participant-api-url, organizer-email and organizer-password; missing: {0}")]
    Incomplete(String),
    /// `candidate-*` inputs that do not make a whole candidate target.
    #[error("the candidate-* inputs must give all of candidate-messenger-ws-url, candidate-organizer-api-url and candidate-participant-api-url (missing: {0}) unless matrix.yaml's `targets.candidate` is a target they change")]
    CandidateIncomplete(String),
    /// `candidate-*` inputs with the embedded server as the base.
    #[error("the candidate-* inputs need a deployed base target (matrix.yaml `target:`/`targets.base`, or the messenger-ws-url inputs): the candidate signs in with the base's organizer-email and organizer-password")]
    CandidateWithoutBase,
    /// `cloudwatch: true` with no `cloudwatch:` block to fetch.
    #[error("input `cloudwatch` (or `msgperf report --cloudwatch`) is on but {matrix} has no `cloudwatch:` block: add one listing the metrics to fetch, or turn CloudWatch off")]
    NoCloudWatch {
        /// The matrix file.
        matrix: String,
    },
    /// A URL has the wrong scheme.
    #[error("{input} is {value:?}: it must start with {schemes}")]
    Scheme {
        /// The input name.
        input: &'static str,
        /// The value given.
        value: String,
        /// The allowed schemes.
        schemes: &'static str,
    },
}

/// Applies `o` to the plan's target; without a target in the file, builds one
/// from the overrides (all URLs, e-mail and password required; event 1 by default).
pub fn apply_overrides(plan: &mut Plan, o: &TargetOverrides) -> Result<(), OverrideError> {
    if o.is_empty() {
        return Ok(());
    }
    check_scheme(
        "messenger-ws-url",
        &o.messenger_ws_url,
        &["ws://", "wss://"],
    )?;
    check_scheme(
        "organizer-api-url",
        &o.organizer_api_url,
        &["http://", "https://"],
    )?;
    check_scheme(
        "participant-api-url",
        &o.participant_api_url,
        &["http://", "https://"],
    )?;
    let target = match plan.target.take() {
        Some(t) => t,
        None => {
            let missing: Vec<&str> = [
                ("messenger-ws-url", o.messenger_ws_url.is_none()),
                ("organizer-api-url", o.organizer_api_url.is_none()),
                ("participant-api-url", o.participant_api_url.is_none()),
                ("organizer-email", o.organizer_email.is_none()),
                ("organizer-password", o.organizer_password.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect();
            if !missing.is_empty() {
                return Err(OverrideError::Incomplete(missing.join(", ")));
            }
            Target {
                messenger_ws_url: String::new(),
                organizer_api_url: String::new(),
                participant_api_url: String::new(),
                event_id: 1,
                organizer_email: String::new(),
                organizer_password: Secret::new(""),
            }
        }
    };
    let pick = |o: &Option<String>, v: String| o.clone().unwrap_or(v);
    plan.target = Some(Target {
        messenger_ws_url: pick(&o.messenger_ws_url, target.messenger_ws_url),
        organizer_api_url: pick(&o.organizer_api_url, target.organizer_api_url),
        participant_api_url: pick(&o.participant_api_url, target.participant_api_url),
        event_id: o.event_id.unwrap_or(target.event_id),
        organizer_email: pick(&o.organizer_email, target.organizer_email),
        organizer_password: o
            .organizer_password
            .clone()
            .unwrap_or(target.organizer_password),
    });
    Ok(())
}

/// Refuses a URL input without one of `schemes` (`ws://`… or `http://`…).
pub(crate) fn check_scheme(
    input: &'static str,
    value: &Option<String>,
    schemes: &'static [&'static str],
) -> Result<(), OverrideError> {
    match value {
        Some(v) if !schemes.iter().any(|s| v.starts_with(s)) => Err(OverrideError::Scheme {
            input,
            value: v.clone(),
            schemes: if schemes[0] == "ws://" {
                "ws:// or wss://"
            } else {
                "http:// or https://"
            },
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        crate::matrix::parse("m.yaml", text, &|_| Some("x".into())).unwrap()
    }

    const EMBEDDED: &str = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s, 10s]\n";

    #[test]
    fn overrides_build_a_whole_target_or_say_what_is_missing() {
        let mut p = plan(EMBEDDED);
        apply_overrides(&mut p, &TargetOverrides::default()).unwrap();
        assert!(p.target.is_none());
        let mut o = TargetOverrides {
            messenger_ws_url: Some("wss://m".into()),
            organizer_api_url: Some("https://o".into()),
            ..Default::default()
        };
        let err = apply_overrides(&mut p, &o).unwrap_err().to_string();
        assert!(err.contains("participant-api-url, organizer-email, organizer-password"));
        o.participant_api_url = Some("https://p".into());
        o.organizer_email = Some("a@b".into());
        o.organizer_password = Some(Secret::new("pw"));
        apply_overrides(&mut p, &o).unwrap();
        let t = p.target.unwrap();
        assert_eq!((t.messenger_ws_url.as_str(), t.event_id), ("wss://m", 1));
        assert_eq!(t.organizer_password.expose(), "pw");
    }

    #[test]
    fn overrides_replace_single_fields_and_check_schemes() {
        let mut p = plan(EMBEDDED);
        p.target = Some(Target {
            messenger_ws_url: "ws://m".into(),
            organizer_api_url: "http://o".into(),
            participant_api_url: "http://p".into(),
            event_id: 7,
            organizer_email: "o{n}@x".into(),
            organizer_password: Secret::new("old"),
        });
        let o = TargetOverrides {
            organizer_password: Some(Secret::new("new")),
            ..Default::default()
        };
        apply_overrides(&mut p, &o).unwrap();
        assert_eq!(
            p.target.as_ref().unwrap().organizer_password.expose(),
            "new"
        );
        let bad = TargetOverrides {
            messenger_ws_url: Some("https://m".into()),
            ..Default::default()
        };
        let err = apply_overrides(&mut p, &bad).unwrap_err().to_string();
        assert!(err.contains("messenger-ws-url") && err.contains("ws:// or wss://"));
    }
}
