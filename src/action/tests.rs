//! action.yml and the binary must agree: every declared input is read (and
//! passed to the binary as `INPUT_<NAME>` by the composite step), every input
//! the binary reads is declared, and the defaults are the same.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::inputs::{env_name, ActionConfig, Baseline, CommentMode, Inputs, INPUTS};

fn action_yml() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn declared() -> BTreeMap<String, String> {
    let yml = action_yml();
    yml["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, spec)| {
            assert!(
                spec["description"].as_str().is_some_and(|d| !d.is_empty()),
                "input {name} needs a description"
            );
            let default = match &spec["default"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (name.clone(), default)
        })
        .collect()
}

#[test]
fn action_yml_inputs_and_the_binary_agree_on_names_and_defaults() {
    let table: BTreeMap<String, String> = INPUTS
        .iter()
        .map(|s| (s.name.to_string(), s.default.to_string()))
        .collect();
    assert_eq!(declared(), table);

    // What the binary actually asks for when it reads its configuration.
    let asked = RefCell::new(BTreeSet::new());
    let env = |k: &str| {
        asked.borrow_mut().insert(k.to_string());
        None
    };
    ActionConfig::from_inputs(&Inputs::new(&env)).unwrap();
    let read: BTreeSet<String> = asked
        .into_inner()
        .into_iter()
        .filter(|k| k.starts_with("INPUT_"))
        .collect();
    let expected: BTreeSet<String> = table.keys().map(|n| env_name(n)).collect();
    assert_eq!(read, expected);
}

#[test]
fn the_composite_step_passes_every_input_as_input_env() {
    let yml = action_yml();
    assert_eq!(yml["runs"]["using"], "composite");
    let steps = yml["runs"]["steps"].as_array().unwrap();
    let run = steps
        .iter()
        .find(|s| s["id"] == "msgperf")
        .expect("the step with id msgperf");
    let command = run["run"].as_str().unwrap();
    assert!(
        command.ends_with("/msgperf/bin/msgperf\" action"),
        "{command}"
    );
    let env = run["env"].as_object().unwrap();
    let passed: BTreeMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("INPUT_"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let expected: BTreeMap<String, String> = INPUTS
        .iter()
        .map(|s| (env_name(s.name), format!("${{{{ inputs.{} }}}}", s.name)))
        .collect();
    assert_eq!(passed, expected);
    for output in [
        "report-path",
        "results-dir",
        "sustained-rate",
        "peak-rate",
        "regressed",
        "comment-url",
    ] {
        let value = yml["outputs"][output]["value"].as_str().unwrap_or_default();
        assert_eq!(value, format!("${{{{ steps.msgperf.outputs.{output} }}}}"));
    }
}

#[test]
fn inputs_parse_with_defaults_and_reject_bad_values() {
    let none = |_: &str| None;
    let cfg = ActionConfig::from_inputs(&Inputs::new(&none)).unwrap();
    assert_eq!(cfg.comment, CommentMode::OnPr);
    assert_eq!(cfg.shard, crate::matrix::Slice::WHOLE);
    assert!(cfg.fail_on_regression && !cfg.cloudwatch && cfg.baseline.is_none());
    assert!(cfg.target.is_empty());
    assert_eq!(cfg.token.expose(), "");

    let env = |k: &str| match k {
        "INPUT_BASELINE" => Some("artifact:nightly".into()),
        "INPUT_COMMENT" => Some(" never ".into()),
        "INPUT_ORGANIZER-PASSWORD" => Some(" p w ".into()),
        "INPUT_GITHUB-TOKEN" => Some("${{ github.token }}".into()),
        "GITHUB_TOKEN" => Some("tok".into()),
        _ => None,
    };
    let cfg = ActionConfig::from_inputs(&Inputs::new(&env)).unwrap();
    assert_eq!(cfg.baseline, Some(Baseline::Artifact("nightly".into())));
    assert_eq!(cfg.comment, CommentMode::Never);
    assert_eq!(cfg.target.organizer_password.unwrap().expose(), " p w ");
    assert_eq!(cfg.token.expose(), "tok");

    let bad = |k: &str| (k == "INPUT_COMMENT").then(|| "sometimes".to_string());
    let err = ActionConfig::from_inputs(&Inputs::new(&bad)).unwrap_err();
    assert!(err.to_string().contains("on-pr, always or never"));
    let bad = |k: &str| (k == "INPUT_FAIL-ON-REGRESSION").then(|| "maybe".to_string());
    assert!(ActionConfig::from_inputs(&Inputs::new(&bad)).is_err());
}

#[test]
fn shards_are_validated() {
    let shard = |v: &'static str| {
        let env = move |k: &str| (k == "INPUT_SHARD").then(|| v.to_string());
        ActionConfig::from_inputs(&Inputs::new(&env)).map(|c| c.shard)
    };
    assert_eq!(
        shard("2/4").unwrap(),
        crate::matrix::Slice { index: 2, count: 4 }
    );
    for bad in ["0/4", "5/4", "1/0", "2", "a/b"] {
        assert!(shard(bad).is_err(), "{bad}");
    }
}

#[test]
fn env_names_follow_the_runner() {
    assert_eq!(env_name("results-dir"), "INPUT_RESULTS-DIR");
    assert_eq!(env_name("my input"), "INPUT_MY_INPUT");
}
