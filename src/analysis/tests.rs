//! Tests of the per-run analysis, the verdict and the baseline comparison on
//! runs from the shared synthetic builder (known knee, capacity and error).

use crate::results;

#[path = "../../tests/it/common/builder.rs"]
pub(crate) mod builder;

use super::*;
use crate::matrix::Gate;
use builder::{build, Spec};

#[test]
fn published_shape_run_is_valid_with_plateau_and_45s_to_first_error() {
    let r = build(&Spec::new(100.0, 1, 4210.0));
    let a = analyze_run(&r);
    assert_eq!(a.verdict, Verdict::Valid, "{:?}", a.reasons);
    assert_eq!(a.rate_basis, RateBasis::Delivered);
    let p = a.plateau.as_ref().expect("plateau");
    // Chats lag participants by 1 s, sends by 2 s more: 4,210 msg/s is reached
    // at t ≈ 11 s (421 chats × 10 msg/s).
    assert!((9..=13).contains(&p.start_s), "{p:?}");
    let sustained = a.sustained_rate.unwrap();
    assert!((sustained / 4210.0 - 1.0).abs() < 0.01, "{sustained}");
    let e = a.first_error.as_ref().unwrap();
    assert!((e.since_plateau_s.unwrap() - 45.0).abs() < 3.0, "{e:?}");
    assert!(a.peak_sent >= sustained);
    assert!(a.loss.unwrap() < 0.001);
}

#[test]
fn generator_bound_run_is_not_capacity() {
    let mut s = Spec::new(100.0, 1, 4210.0);
    s.generator_bound = true;
    let a = analyze_run(&build(&s));
    assert_eq!(a.verdict, Verdict::GeneratorBound);
    assert!(
        a.reasons.iter().any(|r| r.contains("CPU")),
        "{:?}",
        a.reasons
    );
    assert!(
        a.reasons.iter().any(|r| r.contains("lateness")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn per_second_cpu_alone_marks_generator_bound() {
    let mut r = build(&Spec::new(100.0, 1, 4210.0));
    for s in r.timeline.iter_mut() {
        s.cpu_percent = 195.0;
    }
    let a = analyze_run(&r);
    assert_eq!(a.verdict, Verdict::GeneratorBound);
    assert!(
        a.reasons[0].contains("around the plateau"),
        "{:?}",
        a.reasons
    );
}

#[test]
fn run_ending_before_saturation_has_no_plateau() {
    let mut s = Spec::new(10_000.0, 1, 4000.0);
    s.max_s = 120;
    let a = analyze_run(&build(&s));
    assert_eq!(a.verdict, Verdict::NoPlateau, "{:?}", a.plateau);
    assert!(a.reasons[0].contains("still rising"));
    assert!(a.sustained_rate.is_none());
}

#[test]
fn interrupted_and_short_runs_are_not_counted() {
    let mut r = build(&Spec::new(100.0, 1, 4210.0));
    r.outcome = results::Outcome::Interrupted;
    r.stop_reason = crate::results::StopReason::Signal;
    assert_eq!(analyze_run(&r).verdict, Verdict::Interrupted);
    let mut s = Spec::new(100.0, 1, 4210.0);
    s.max_s = 5;
    s.error_after_knee_s = None;
    let short = analyze_run(&build(&s));
    assert_eq!(short.verdict, Verdict::TooShort);
    assert!(short.peak_sent > 0.0, "the peak is still measured");
    let why = short.reasons.join(" ");
    assert!(
        why.contains(&format!("needs at least {} s", verdict::MIN_RUN_S)) && why.contains("peak"),
        "{why}"
    );
}

#[test]
fn skipped_runs_are_listed_with_their_reason_and_never_counted() {
    let mut r = build(&Spec::new(100.0, 2, 4210.0));
    r.outcome = results::Outcome::Skipped;
    r.skipped_reason = Some("before_each hook failed: exited with status 1".into());
    r.timeline.clear();
    r.totals = Default::default();
    r.generator = Default::default();
    let a = analyze_run(&r);
    assert_eq!(a.verdict, Verdict::Skipped);
    assert_eq!(
        a.reasons,
        ["run was skipped: before_each hook failed: exited with status 1"]
    );
    assert!(a.sustained_rate.is_none());
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    // Pooled with a valid repetition, the skipped one does not count.
    let valid = build(&Spec::new(100.0, 1, 4210.0));
    let all = super::analyze(&[valid, r]);
    assert_eq!(all.scenarios[0].verdict, Verdict::Valid);
    assert_eq!(all.scenarios[0].n_valid(), 1);
}

#[test]
fn replies_add_to_the_rate_the_api_handled() {
    let mut r = build(&Spec::new(100.0, 1, 4210.0));
    assert_eq!(analyze_run(&r).replies, None, "no replies, no section");
    for s in &mut r.timeline {
        s.replies = s.delivered / 2;
    }
    r.totals.replies_sent = r.timeline.iter().map(|s| s.replies).sum();
    r.totals.replies_received = r.totals.replies_sent - 1;
    let top = r
        .timeline
        .iter()
        .map(|s| s.delivered + s.delivered / 2)
        .max()
        .unwrap();
    let a = analyze_run(&r).replies.expect("replies");
    assert_eq!(
        (a.sent, a.received),
        (r.totals.replies_sent, r.totals.replies_sent - 1)
    );
    assert_eq!(a.peak_handled, top as f64);
}

#[test]
fn a_short_run_gets_short_windows_and_still_finds_its_plateau() {
    // 50 participants/s at smi 100 ms saturating at 3,000 msg/s after ~6 s:
    // the shape of the default matrix's 15-second runs.
    let participants: Vec<f64> = (1..=15).map(|t| 50.0 * t as f64).collect();
    let rate: Vec<f64> = (0..15).map(|t| (500.0 * t as f64).min(3000.0)).collect();
    let p = crate::analysis::plateau::find_plateau(&rate, &participants, 10.0).unwrap();
    assert!((5..=7).contains(&p.start_s), "{p:?}");
    assert_eq!(p.sustained, 3000.0);
}

#[test]
fn collapse_after_plateau_keeps_the_plateau_rate() {
    let mut s = Spec::new(100.0, 1, 3000.0);
    s.collapse_after_knee_s = Some(30);
    s.error_after_knee_s = Some(60.0);
    let a = analyze_run(&build(&s));
    assert_eq!(a.verdict, Verdict::Valid);
    let p = a.plateau.unwrap();
    assert!(p.collapsed, "{p:?}");
    let v = a.sustained_rate.unwrap();
    assert!(
        (v / 3000.0 - 1.0).abs() < 0.02,
        "{v} {p:?} {:?}",
        a.rate_basis
    );
}

#[test]
fn partial_last_second_is_dropped() {
    let r = build(&Spec::new(100.0, 1, 4210.0));
    let usable = run::usable_seconds(&r);
    assert_eq!(usable.len() + 1, r.timeline.len());
    assert!(f64::from(usable.last().unwrap().t) + 1.0 <= r.duration_s);
}

#[test]
fn scenario_pools_valid_runs_with_t_interval() {
    let mut runs: Vec<_> = [4180.0, 4250.0, 4205.0]
        .iter()
        .enumerate()
        .map(|(i, &c)| build(&Spec::new(100.0, i as u32 + 1, c)))
        .collect();
    let mut bound = Spec::new(100.0, 4, 4210.0);
    bound.generator_bound = true;
    runs.push(build(&bound));
    let a = analyze(&runs);
    assert_eq!(a.scenarios.len(), 1);
    let s = &a.scenarios[0];
    assert_eq!((s.n_runs(), s.n_valid()), (4, 3));
    assert_eq!(s.verdict, Verdict::Valid);
    let st = s.sustained.as_ref().unwrap();
    assert_eq!(st.n, 3);
    assert!((st.mean - 4211.7).abs() < 30.0, "{st:?}");
    let [lo, hi] = st.ci95.unwrap();
    let half = stats::t_quantile(0.975, 2.0) * st.sd.unwrap() / 3f64.sqrt();
    assert!((hi - lo - 2.0 * half).abs() < 1e-9);
    assert_eq!(s.chats_at_first_error.as_ref().unwrap().n, 3);
    assert_eq!(a.published.len(), 4);
}

#[test]
fn comparison_statuses() {
    let runs = |caps: &[f64], smi: f64| -> Vec<results::RunResult> {
        caps.iter()
            .enumerate()
            .map(|(i, &c)| build(&Spec::new(smi, i as u32 + 1, c)))
            .collect()
    };
    let mut base = runs(&[3900.0, 3950.0, 3880.0], 1000.0);
    base.extend(runs(&[4150.0, 4420.0, 4290.0], 100.0));
    base.extend(runs(&[2000.0], 500.0));
    let mut cur = runs(&[3400.0, 3380.0, 3420.0], 1000.0);
    cur.extend(runs(&[4180.0, 4250.0, 4205.0], 100.0));
    cur.extend(runs(&[1000.0], 10.0));
    let b: Vec<BaselineScenario> = analyze(&base).scenarios.iter().map(Into::into).collect();
    let c = compare(&analyze(&cur).scenarios, &b, &Gate::default());
    let status = |id: &str| c.iter().find(|x| x.id.ends_with(id)).unwrap();
    let reg = status("smi1000ms");
    assert_eq!(reg.status, ChangeStatus::Regressed, "{reg:?}");
    assert!((reg.change.unwrap() + 0.13).abs() < 0.02);
    assert_eq!(status("smi100ms").status, ChangeStatus::Unchanged);
    assert_eq!(status("smi10ms").status, ChangeStatus::New);
    assert_eq!(status("smi500ms").status, ChangeStatus::Missing);
    // A big change with one run a side is reported, not tested.
    let one = compare(
        &analyze(&runs(&[3000.0], 1000.0)).scenarios,
        &[BaselineScenario::from(
            &analyze(&runs(&[4000.0], 1000.0)).scenarios[0],
        )],
        &Gate::default(),
    );
    assert_eq!(one[0].status, ChangeStatus::Inconclusive);
}

#[test]
fn plateau_is_reported_in_timeline_seconds() {
    let r = build(&Spec::new(100.0, 1, 4210.0));
    let base = analyze_run(&r).plateau.unwrap();
    let mut shifted = r.clone();
    for s in shifted.timeline.iter_mut() {
        s.t += 100;
    }
    shifted.duration_s += 100.0;
    let p = analyze_run(&shifted).plateau.unwrap();
    assert_eq!((p.start_s, p.end_s), (base.start_s + 100, base.end_s + 100));
}

#[test]
fn drain_seconds_stay_out_of_the_plateau_peaks_and_verdict() {
    let r = build(&Spec::new(100.0, 1, 4210.0));
    let before = analyze_run(&r);
    // The same run with a 30 s drain: the API delivers a huge backlog at
    // twice its capacity (a burst that would be the new peak), sends nothing.
    let mut drained = r.clone();
    let last = drained.timeline.last().unwrap().clone();
    for k in 1..=30 {
        drained.timeline.push(results::Second {
            t: last.t + k,
            sent: 0,
            delivered: if k < 10 { 8420 } else { 0 },
            phase: results::Phase::Drain,
            ..last.clone()
        });
    }
    let after = analyze_run(&drained);
    assert_eq!(run::usable_seconds(&drained), run::usable_seconds(&r));
    assert_eq!(
        (after.peak_delivered, after.sustained_rate, after.verdict),
        (before.peak_delivered, before.sustained_rate, before.verdict)
    );
    assert_eq!(after.plateau, before.plateau);
}

#[test]
fn a_plateau_made_by_failing_sign_ups_is_setup_bound_not_a_capacity() {
    use crate::results::{Service, StageCounts, Step};
    let mut r = build(&Spec::new(100.0, 1, 3000.0));
    let e = r.first_error.as_mut().unwrap();
    e.step = Some(Step::SignUp);
    e.service = Some(Service::ParticipantApi);
    e.http_status = Some(500);
    r.totals.stages = StageCounts {
        participants_started: 1001,
        signed_up: 27,
        chat_requested: 27,
        connected: 27,
        chatting: 27,
        organizers_signed_in: 1,
        organizers_connected: 1,
    };
    let a = analyze_run(&r);
    assert_eq!(a.verdict, Verdict::SetupBound, "{:?}", a.reasons);
    assert!(
        a.reasons[0].contains("only 27 of 1001 participants reached the Messenger API"),
        "{:?}",
        a.reasons
    );
    assert!(!a.verdict.measured_api());

    // The same numbers with the Messenger API failing first are a finding.
    let e = r.first_error.as_mut().unwrap();
    e.step = Some(Step::Handshake);
    e.service = Some(Service::MessengerApi);
    assert_eq!(analyze_run(&r).verdict, Verdict::Valid);
    // And a Participant API error with almost everyone connected does not bind.
    let e = r.first_error.as_mut().unwrap();
    e.step = Some(Step::SignUp);
    e.service = Some(Service::ParticipantApi);
    r.totals.stages.connected = 995;
    assert_eq!(analyze_run(&r).verdict, Verdict::Valid);
}

#[test]
fn a_run_that_hit_the_generators_limits_is_generator_bound_not_a_capacity() {
    // A run that saturates cleanly, except that some connections found no
    // descriptor on the generator's side.
    let mut r = build(&Spec::new(100.0, 1, 4210.0));
    assert_eq!(analyze_run(&r).verdict, Verdict::Valid, "the control");
    r.errors_by_kind
        .insert(crate::results::ErrorKind::GeneratorLimit, 3);
    let a = analyze_run(&r);
    assert_eq!(a.verdict, Verdict::GeneratorBound);
    assert!(!a.verdict.measured_api());
    let why = a.reasons.join(" ");
    assert!(
        why.contains("3 connection(s) found no free descriptor"),
        "{why}"
    );
    assert!(why.contains("not the API's capacity"), "{why}");
}
