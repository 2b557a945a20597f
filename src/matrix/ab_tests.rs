//! `targets: {base, candidate}` and `compare:`: what they build, and the
//! errors for bad combinations (file, line, key, never a secret).

use super::tests::env;
use super::*;

const MATRIX: &str = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\n";

const TARGET: &str = "{ messenger_ws_url: 'wss://${STAGING}', organizer_api_url: 'https://${STAGING}', participant_api_url: 'https://${STAGING}', event_id: 3, organizer_email: '${ORGANIZER_EMAIL}', organizer_password: '${ORGANIZER_PASSWORD}' }";

fn plan(text: &str) -> Plan {
    parse("ab.yaml", text, &env).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str, pieces: &[&str]) -> String {
    let e = match parse("ab.yaml", text, &env) {
        Ok(plan) => panic!("accepted:\n{text}\n{plan:?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    for piece in pieces {
        assert!(shown.contains(piece), "missing {piece:?} in:\n{shown}");
    }
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(e.exit_code(), 2);
    shown
}

#[test]
fn two_embedded_sides_with_their_own_knobs() {
    let p = plan(&format!(
        "{MATRIX}embedded:\n  max_connections: 9\ntargets:\n  base: embedded\n  candidate:\n    embedded: {{ max_messages_per_second: 2700 }}\n"
    ));
    // The base side is the plan's target (none: embedded) with the top-level knobs.
    assert!(p.target.is_none());
    assert_eq!(p.embedded.max_connections, Some(9));
    let ab = p.ab.expect("an A/B plan");
    assert_eq!(ab.compare, Compare::Interleaved);
    let SideTarget::Embedded(c) = ab.candidate else {
        panic!("{:?}", ab.candidate)
    };
    assert_eq!(c.max_messages_per_second, Some(2700));
    assert_eq!(c.max_connections, None);
}

#[test]
fn deployed_sides_are_interpolated_like_target() {
    let p = plan(&format!(
        "{MATRIX}targets:\n  base: {TARGET}\n  candidate: {TARGET}\ncompare: sequential\n"
    ));
    let base = p.target.expect("base");
    assert_eq!(base.messenger_ws_url, "wss://staging.example");
    assert_eq!(base.organizer_password.expose(), "hunter2: #not yaml");
    let ab = p.ab.unwrap();
    assert_eq!(ab.compare, Compare::Sequential);
    assert!(matches!(ab.candidate, SideTarget::External(t) if t.event_id == 3));
    // One target, as before: no A/B plan.
    assert!(plan(MATRIX).ab.is_none());
}

#[test]
fn bad_combinations_name_the_key_and_line() {
    err(
        &format!("{MATRIX}compare: interleaved\n"),
        &["ab.yaml, line 5", "key `compare`", "no `targets:` block"],
    );
    err(
        &format!("{MATRIX}target: {TARGET}\ntargets:\n  base: embedded\n  candidate: embedded\n"),
        &["line 5", "key `target`", "both `target:` and `targets:`"],
    );
    err(
        &format!("{MATRIX}targets:\n  base: embedded\n"),
        &[
            "key `targets.candidate`",
            "required key `candidate` is missing",
        ],
    );
    err(
        &format!("{MATRIX}targets:\n  base: embedded\n  candidate: staging\n"),
        &[
            "line 7",
            "key `targets.candidate`",
            "`staging` is not a target",
        ],
    );
    err(
        &format!("{MATRIX}targets:\n  base: embedded\n  candidate:\n    messenger_ws_url: wss://x\n"),
        &[
            "line 8",
            "key `targets.candidate.organizer_api_url`",
            "lacks organizer_api_url, participant_api_url, event_id, organizer_email, organizer_password",
        ],
    );
    err(
        &format!("{MATRIX}targets:\n  base:\n    embedded: {{}}\n    messenger_ws_url: wss://x\n  candidate: embedded\n"),
        &["key `targets.base.messenger_ws_url`", "both `embedded` and a target"],
    );
    err(
        &format!("{MATRIX}targets:\n  base: embedded\n  candidate:\n    embeded: {{}}\n"),
        &[
            "line 8",
            "targets.candidate.embeded",
            "did you mean `embedded`?",
        ],
    );
    err(
        &format!(
            "{MATRIX}targets:\n  base: embedded\n  candidate: {}\n",
            TARGET.replace("wss://", "https://")
        ),
        &[
            "key `targets.candidate.messenger_ws_url`",
            "ws:// or wss://",
        ],
    );
    err(
        &format!(
            "{MATRIX}targets:\n  base: embedded\n  candidate: embedded\ncompare: alternating\n"
        ),
        &["line 8", "key `compare`"],
    );
}

#[test]
fn candidate_inputs_make_or_change_the_candidate() {
    let mut p = plan(&format!("{MATRIX}target: {TARGET}\n"));
    let given = TargetOverrides {
        messenger_ws_url: Some("wss://preview".into()),
        organizer_api_url: Some("https://preview".into()),
        participant_api_url: Some("https://preview".into()),
        ..Default::default()
    };
    ab::apply_candidate(&mut p, &given).unwrap();
    let ab = p.ab.clone().unwrap();
    let SideTarget::External(c) = &ab.candidate else {
        panic!()
    };
    // The base's credentials and event.
    assert_eq!(c.organizer_password.expose(), "hunter2: #not yaml");
    assert_eq!(
        (c.messenger_ws_url.as_str(), c.event_id),
        ("wss://preview", 3)
    );
    // Changing one field of a deployed candidate.
    ab::apply_candidate(
        &mut p,
        &TargetOverrides {
            event_id: Some(9),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        matches!(p.ab.unwrap().candidate, SideTarget::External(t) if t.event_id == 9 && t.messenger_ws_url == "wss://preview")
    );
    // Half a candidate, or no deployed base to take the credentials from.
    let mut q = plan(&format!("{MATRIX}target: {TARGET}\n"));
    let half = TargetOverrides {
        messenger_ws_url: Some("wss://p".into()),
        ..Default::default()
    };
    let e = ab::apply_candidate(&mut q, &half).unwrap_err().to_string();
    assert!(
        e.contains("missing: candidate-organizer-api-url, candidate-participant-api-url"),
        "{e}"
    );
    let mut embedded = plan(MATRIX);
    let e = ab::apply_candidate(&mut embedded, &given)
        .unwrap_err()
        .to_string();
    assert!(e.contains("need a deployed base target"), "{e}");
    let bad = TargetOverrides {
        organizer_api_url: Some("ftp://x".into()),
        ..given
    };
    let e = ab::apply_candidate(&mut plan(&format!("{MATRIX}target: {TARGET}\n")), &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("candidate-organizer-api-url"), "{e}");
}

#[test]
fn an_ab_plans_scale_out_jobs_take_both_sides_time() {
    let one = plan(&format!(
        "{MATRIX}repetitions: 2\nstop:\n  max_duration: 10s\n  drain: 0s\n"
    ));
    let two = plan(&format!(
        "{MATRIX}repetitions: 2\nstop:\n  max_duration: 10s\n  drain: 0s\ntargets:\n  base: embedded\n  candidate: embedded\n"
    ));
    let (a, b) = (shard::jobs(&one, 2), shard::jobs(&two, 2));
    // The same scenarios per runner (each pair stays on one), twice the time.
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.scenarios, y.scenarios);
        assert_eq!(y.expected, 2 * x.expected);
    }
    let s = &two.scenarios[0];
    assert_eq!(shard::slot_length(&two, s), 2 * shard::slot_length(&one, s));
}
