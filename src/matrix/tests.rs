//! End-to-end tests of `parse`: the published matrix.yaml, defaults, the full
//! format, and `${VAR}` interpolation. Error texts are in `error_tests.rs`.

use super::*;

/// An environment with a few variables, standing in for the process's.
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "ORGANIZER_EMAIL" => Some("org{n}@example.com".into()),
        "ORGANIZER_PASSWORD" => Some("hunter2: #not yaml".into()),
        "STAGING" => Some("staging.example".into()),
        "EVENT" => Some(" 42 ".into()),
        _ => None,
    }
}

/// Parses or fails the test with the error text.
pub(super) fn ok(text: &str) -> Plan {
    match parse("matrix.yaml", text, &env) {
        Ok(plan) => plan,
        Err(e) => panic!("unexpected error:\n{e}"),
    }
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.scenarios.iter().map(|s| s.id.as_str()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn published_matrix_yaml_expands_to_nine_scenarios() {
    let text = include_str!("../../matrix.yaml");
    let plan = match parse("matrix.yaml", text, &|_| None) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        ids(&plan),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi100ms-r2",
            "sci10ms-cpi20ms-smi100ms-r3",
            "sci10ms-cpi20ms-smi1s-r1",
            "sci10ms-cpi20ms-smi1s-r2",
            "sci10ms-cpi20ms-smi1s-r3",
            "sci10ms-cpi20ms-smi10s-r1",
            "sci10ms-cpi20ms-smi10s-r2",
            "sci10ms-cpi20ms-smi10s-r3",
        ]
    );
    assert!(plan.target.is_none());
    let s = &plan.scenarios[8];
    assert_eq!((s.sci, s.cpi, s.smi), (ms(10), ms(20), ms(10_000)));
    assert_eq!((s.repetition, s.organizers), (3, 1));
    assert_eq!(
        s.stop,
        StopRules {
            max_duration: Duration::from_secs(15),
            max_participants: None,
            on_error: OnError::First,
            handshake_timeout: Duration::from_secs(45),
            drain: Duration::from_secs(30),
        }
    );
    let reset = plan.hooks.before_each.as_ref().expect("the reset example");
    assert!(reset
        .run
        .contains("$MSGPERF_ORGANIZER_API_URL/__msgperf/reset"));
    assert_eq!(reset.timeout, Duration::from_secs(30));
    assert!(!reset.pass_password);
    assert_eq!(plan.cooldown, Duration::ZERO);
}

#[test]
fn published_reply_cooldown_and_split_examples_work_when_uncommented() {
    let text = include_str!("../../matrix.yaml")
        .replace("# cooldown: 60s", "cooldown: 60s")
        .replace("# split: 2 ", "split: 2 ")
        .replace(
            "# organizer:\n#   reply: every",
            "organizer:\n  reply: every",
        );
    let plan = ok(&text);
    assert_eq!(plan.cooldown, Duration::from_secs(60));
    assert!(plan.scenarios.iter().all(|s| s.reply == ReplyPolicy::Every));
    assert!(plan.scenarios.iter().all(|s| s.split == 2));
}

#[test]
fn published_target_block_works_when_uncommented() {
    // Uncomment `# target:` and its indented lines, as a user would.
    let mut in_block = false;
    let mut text = String::new();
    for line in include_str!("../../matrix.yaml").lines() {
        in_block = line == "# target:" || (in_block && line.starts_with("#   "));
        text.push_str(if in_block { &line[2..] } else { line });
        text.push('\n');
    }
    let Some(t) = ok(&text).target else {
        panic!("target block not found:\n{text}")
    };
    assert_eq!(t.messenger_ws_url, "wss://staging.example:8300");
    assert_eq!(t.organizer_email, "org{n}@example.com");
    assert_eq!(t.organizer_password.expose(), "hunter2: #not yaml");
}

#[test]
fn defaults_apply_to_a_minimal_file() {
    let plan = ok("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\n");
    assert_eq!(ids(&plan), ["sci10ms-cpi20ms-smi1s-r1"]);
    let s = &plan.scenarios[0];
    assert_eq!(s.organizers, 1);
    assert_eq!(s.stop.max_duration, Duration::from_secs(30));
    assert_eq!(s.stop.max_participants, None);
    assert_eq!(s.stop.on_error, OnError::First);
    assert_eq!(s.stop.handshake_timeout, Duration::from_secs(45));
    assert_eq!(s.stop.drain, Duration::from_secs(30));
    assert_eq!(plan.gate, Gate::default());
    assert_eq!(plan.embedded, Capacity::default());
    assert!(plan.target.is_none());
}

const FULL: &str = r#"
target:
  messenger_ws_url: wss://${STAGING}:8300
  organizer_api_url: "https://${STAGING}:8000"
  participant_api_url: http://staging.example:8100
  event_id: 1
  organizer_email: ${ORGANIZER_EMAIL}
  organizer_password: ${ORGANIZER_PASSWORD}
matrix:
  sci: [10ms]
  cpi: [20ms]
  smi: [100ms, 1s, 10s]
  include:
    - { sci: 5ms, cpi: 20ms, smi: 50ms }
    - { smi: 10s, organizers: 2, max_participants: 100 }
  exclude:
    - { smi: 1s }
repetitions: 3
organizers: 1
stop:
  max_duration: 30s
  max_participants: 5000
  on_error: 1%
  handshake_timeout: 45s
  drain: 2s
embedded:
  max_messages_per_second: 2000
gate:
  min_change: 5%
  alpha: 0.01
  fail_on_regression: false
"#;

#[test]
fn full_format_parses_with_include_exclude_and_overrides() {
    let plan = ok(FULL);
    assert_eq!(
        ids(&plan),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi100ms-r2",
            "sci10ms-cpi20ms-smi100ms-r3",
            "sci10ms-cpi20ms-smi10s-o2-r1",
            "sci10ms-cpi20ms-smi10s-o2-r2",
            "sci10ms-cpi20ms-smi10s-o2-r3",
            "sci5ms-cpi20ms-smi50ms-r1",
            "sci5ms-cpi20ms-smi50ms-r2",
            "sci5ms-cpi20ms-smi50ms-r3",
        ]
    );
    let extended = &plan.scenarios[3];
    assert_eq!(extended.organizers, 2);
    assert_eq!(extended.stop.max_participants, Some(100));
    assert_eq!(extended.stop.on_error, OnError::Budget(0.01));
    assert_eq!(extended.stop.drain, Duration::from_secs(2));
    assert_eq!(plan.scenarios[0].stop.max_participants, Some(5000));
    assert_eq!(plan.scenarios[6].organizers, 1);
    assert_eq!(plan.embedded.max_messages_per_second, Some(2000));
    assert_eq!(
        plan.gate,
        Gate {
            min_change: 0.05,
            alpha: 0.01,
            fail_on_regression: false
        }
    );
}

#[test]
fn target_values_are_interpolated_from_the_environment() {
    let plan = ok(FULL);
    let Some(t) = plan.target else {
        panic!("target missing")
    };
    assert_eq!(t.messenger_ws_url, "wss://staging.example:8300");
    assert_eq!(t.organizer_api_url, "https://staging.example:8000");
    assert_eq!(t.participant_api_url, "http://staging.example:8100");
    assert_eq!(t.event_id, 1);
    assert_eq!(t.organizer_email, "org{n}@example.com");
    // A value with YAML specials arrives verbatim: interpolation is after parsing.
    assert_eq!(t.organizer_password.expose(), "hunter2: #not yaml");
}

#[test]
fn escaped_references_stay_literal_and_event_id_can_come_from_env() {
    let text = FULL
        .replace("${ORGANIZER_PASSWORD}", "'pa$${NOT_A_VAR}ss$'")
        .replace("event_id: 1", "event_id: ${EVENT}");
    let Some(t) = ok(&text).target else {
        panic!("target missing")
    };
    assert_eq!(t.organizer_password.expose(), "pa${NOT_A_VAR}ss$");
    assert_eq!(t.event_id, 42);
}

#[test]
fn debug_output_never_shows_the_password() {
    let plan = ok(FULL);
    let debug = format!("{plan:?}");
    assert!(debug.contains("organizer_password: ***"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn on_error_words_and_budgets() {
    let with = |value: &str| {
        let text = format!(
            "matrix: {{sci: [1ms], cpi: [1ms], smi: [1ms]}}\nstop: {{on_error: '{value}'}}\n"
        );
        ok(&text).scenarios[0].stop.on_error
    };
    assert_eq!(with("never"), OnError::Never);
    assert_eq!(with("first"), OnError::First);
    assert_eq!(with("100%"), OnError::Budget(1.0));
    assert_eq!(with("0.5%"), OnError::Budget(0.005));
}

#[test]
fn gate_accepts_fractions_and_zero_drain() {
    let plan = ok(
        "matrix: {sci: [1ms], cpi: [1ms], smi: [1ms]}\nstop: {drain: 0s}\ngate: {min_change: 0.1, alpha: 5%}\n",
    );
    assert_eq!(plan.gate.min_change, 0.1);
    assert_eq!(plan.gate.alpha, 0.05);
    assert_eq!(plan.scenarios[0].stop.drain, Duration::ZERO);
}

#[test]
fn top_level_organizers_do_not_suffix_ids_but_overrides_do() {
    let plan = ok(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s, 2s]\n  include:\n    - { smi: 2s, organizers: 3 }\n    - { smi: 1s, organizers: 4 }\norganizers: 4\n",
    );
    assert_eq!(
        ids(&plan),
        ["sci10ms-cpi20ms-smi1s-r1", "sci10ms-cpi20ms-smi2s-o3-r1"]
    );
    assert_eq!(plan.scenarios[0].organizers, 4);
}

#[test]
fn load_file_reads_and_names_the_file() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let path = dir.path().join("plan.yaml");
    if let Err(e) = std::fs::write(&path, "matrix: {sci: [1ms], cpi: [1ms], smi: []}\n") {
        panic!("{e}");
    }
    let err = match load_file(&path) {
        Ok(_) => panic!("empty smi accepted"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("plan.yaml, line 1"), "{err}");
    let missing = dir.path().join("nope.yaml");
    let err = match load_file(&missing) {
        Ok(_) => panic!("missing file accepted"),
        Err(e) => e,
    };
    assert!(matches!(err, MatrixError::Read { .. }));
    assert!(err.to_string().contains("nope.yaml"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn published_cloudwatch_block_works_when_uncommented() {
    let mut in_block = false;
    let mut text = String::new();
    for line in include_str!("../../matrix.yaml").lines() {
        in_block = line == "# cloudwatch:" || (in_block && line.starts_with("#   "));
        text.push_str(if in_block { &line[2..] } else { line });
        text.push('\n');
    }
    let Some(cw) = ok(&text).cloudwatch else {
        panic!("no cloudwatch block")
    };
    assert_eq!(cw.region.as_deref(), Some("eu-central-1"));
    assert_eq!(cw.period, Duration::from_secs(60));
    assert_eq!(cw.wait_for_data, Duration::from_secs(300));
    assert!(!cw.required);
    assert_eq!(cw.metrics.len(), 2);
    assert_eq!(cw.metrics[0].id, "m1");
    assert_eq!(cw.metrics[1].id, "m2");
    assert_eq!(
        cw.metrics[1].source,
        MetricSource::Expression("SUM(METRICS('m1'))/60".into())
    );
    assert_eq!(cw.query_count(), 3);
    assert_eq!(
        cw.publish.map(|p| p.namespace),
        Some("Msgperf/Throughput".to_string())
    );
    assert!(ok(include_str!("../../matrix.yaml")).cloudwatch.is_none());
}

#[test]
fn arrival_defaults_to_rate_and_sequential_gets_its_own_id() {
    let base = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\n";
    let plan = ok(base);
    assert!(plan.scenarios.iter().all(|s| s.arrival == Arrival::Rate));
    assert_eq!(ids(&plan)[0], "sci10ms-cpi20ms-smi100ms-r1");

    let plan = ok(&format!("{base}arrival: sequential\n"));
    assert_eq!(
        ids(&plan),
        [
            "sci10ms-cpi20ms-smi100ms-seq-r1",
            "sci10ms-cpi20ms-smi1s-seq-r1"
        ]
    );
    assert_eq!(plan.scenarios[0].group, "sci10ms-cpi20ms-smi100ms-seq");
    assert!(plan
        .scenarios
        .iter()
        .all(|s| s.arrival == Arrival::Sequential));

    // Per include: one combination both ways, each under its own id.
    let both = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n  include:\n    - { sci: 10ms, cpi: 20ms, smi: 1s, arrival: sequential }\n";
    let plan = ok(both);
    assert_eq!(
        ids(&plan),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi1s-seq-r1"
        ]
    );
    let extend = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\n  include:\n    - { smi: 1s, arrival: sequential }\n";
    let plan = ok(extend);
    assert_eq!(plan.scenarios[1].arrival, Arrival::Sequential);
    assert_eq!(
        ids(&plan),
        [
            "sci10ms-cpi20ms-smi100ms-r1",
            "sci10ms-cpi20ms-smi1s-seq-r1"
        ]
    );
}
