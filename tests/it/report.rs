//! Snapshot tests of report.md and the terminal table for the fixed fixture
//! set (a regression, a generator-bound run, a run without plateau, a new and
//! a missing scenario), and the 60,000-character budget with 500 scenarios.

use crate::common;

use common::builder::{build, Spec};
use common::fixtures;
use msgperf::analysis::{self, BaselineScenario, ChangeStatus, Verdict};
use msgperf::matrix::Gate;
use msgperf::report::{self, markdown, model, terminal, BaselineInput, Report};
use msgperf::results::{self, RunResult};

const WHEN: &str = "2026-11-28T02:00:00Z";

#[test]
fn fixtures_match_the_builder() {
    if std::env::var_os("MSGPERF_WRITE_FIXTURES").is_some() {
        fixtures::write_all();
    }
    for (name, want) in [
        ("current", fixtures::current()),
        ("baseline", fixtures::baseline()),
    ] {
        let got = results::read_dir(&fixtures::dir(name)).unwrap();
        let mut want = want;
        want.sort_by(|a, b| a.scenario.id.cmp(&b.scenario.id));
        assert_eq!(
            got.len(),
            want.len(),
            "tests/fixtures/{name} is stale: rerun with MSGPERF_WRITE_FIXTURES=1"
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g == w,
                "tests/fixtures/{name}/{} is stale: rerun with MSGPERF_WRITE_FIXTURES=1",
                w.scenario.id
            );
        }
    }
}

fn fixture_report(with_baseline: bool) -> Report {
    let cur = results::read_dir(&fixtures::dir("current")).unwrap();
    let base = with_baseline.then(|| BaselineInput {
        label: "main".into(),
        source: "tests/fixtures/baseline".into(),
        scenarios: report::baseline::from_results(
            &results::read_dir(&fixtures::dir("baseline")).unwrap(),
        ),
    });
    model::build(
        &cur,
        analysis::analyze(&cur),
        base.as_ref(),
        &Gate::default(),
        WHEN,
        vec!["tests/fixtures/current".into()],
    )
}

#[test]
fn report_md_with_a_regression_and_a_generator_bound_run() {
    let r = fixture_report(true);
    assert!(r.regressed && r.gate_failed);
    let bound = r
        .runs
        .iter()
        .find(|x| x.id.ends_with("smi1000ms-r3"))
        .unwrap();
    assert_eq!(bound.verdict, Verdict::GeneratorBound);
    let status = |id: &str| {
        r.scenarios
            .iter()
            .find(|s| s.summary.id.ends_with(id))
            .and_then(|s| s.comparison.as_ref())
            .map(|c| c.status)
    };
    assert_eq!(status("smi1000ms"), Some(ChangeStatus::Regressed));
    assert_eq!(status("smi100ms"), Some(ChangeStatus::Unchanged));
    assert_eq!(status("smi10000ms"), Some(ChangeStatus::New));
    assert_eq!(r.missing[0].status, ChangeStatus::Missing);
    let md = msgperf::report::text(|out| markdown::render(out, &r));
    insta::assert_snapshot!("report_with_baseline", md);
}

#[test]
fn report_md_without_baseline() {
    let md = msgperf::report::text(|out| markdown::render(out, &fixture_report(false)));
    insta::assert_snapshot!("report_without_baseline", md);
}

#[test]
fn terminal_summary_table() {
    insta::assert_snapshot!(
        "summary_table",
        msgperf::report::text(|out| terminal::summary_table(out, &fixture_report(true)))
    );
}

#[test]
fn report_json_round_trips() {
    let r = fixture_report(true);
    let json = serde_json::to_string_pretty(&r).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert!(back == r, "report.json does not round-trip");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], 1);
    assert!(v["scenarios"][0]["sustained"]["ci95"].is_array());
    let base = report::baseline::from_report_json(&json).unwrap();
    assert_eq!(base.len(), 3);
}

/// 500 scenarios × 2 runs with a baseline where every 7th regressed.
fn huge_report() -> Report {
    let mut cur: Vec<RunResult> = Vec::new();
    let mut base: Vec<BaselineScenario> = Vec::new();
    for i in 0..500u32 {
        let smi = 100.0 + f64::from(i);
        for rep in 1..=2 {
            let mut s = Spec::new(smi, rep, 3000.0 + f64::from(rep) * 10.0);
            s.error_after_knee_s = Some(15.0);
            if i % 50 == 3 && rep == 2 {
                s.generator_bound = true;
            }
            cur.push(build(&s));
        }
        let group = format!("sci10ms-cpi20ms-smi{smi}ms");
        let old = if i % 7 == 0 { 3600.0 } else { 3010.0 };
        base.push(BaselineScenario {
            id: group,
            sustained_values: vec![old - 5.0, old + 5.0],
            rate_basis: analysis::RateBasis::Delivered,
        });
    }
    let b = BaselineInput {
        label: "main".into(),
        source: "x".into(),
        scenarios: base,
    };
    model::build(
        &cur,
        analysis::analyze(&cur),
        Some(&b),
        &Gate::default(),
        WHEN,
        vec![],
    )
}

#[test]
fn markdown_stays_within_budget_with_500_scenarios() {
    let r = huge_report();
    assert_eq!(r.scenarios.len(), 500);
    let md = msgperf::report::text(|out| markdown::render(out, &r));
    let n = md.chars().count();
    assert!(n <= markdown::MARKDOWN_BUDGET, "{n} characters");
    assert!(n > markdown::MARKDOWN_BUDGET / 2, "budget badly used: {n}");
    assert!(md.contains(&r.headline));
    assert!(md.contains("more scenarios not shown"), "no omission note");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    // Every table is whole: each row has as many cells as its header.
    let mut cols = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let c = line.replace("\\|", "").matches('|').count();
            match cols {
                None => cols = Some(c),
                Some(h) => assert_eq!(c, h, "broken row: {line}"),
            }
        } else {
            cols = None;
        }
    }
    // Regressions come first when rows must be left out.
    let regressed = r
        .scenarios
        .iter()
        .filter(|s| s.comparison.as_ref().unwrap().status == ChangeStatus::Regressed)
        .count();
    assert!(regressed > 50);
    assert_eq!(
        md.matches("🔴").count(),
        regressed,
        "every regression is listed once"
    );
}

#[test]
fn headline_without_any_valid_run_says_why() {
    let mut bound = Spec::new(100.0, 1, 4000.0);
    bound.generator_bound = true;
    let mut early = Spec::new(10_000.0, 1, 4000.0);
    early.max_s = 120;
    let runs = vec![build(&bound), build(&early)];
    let r = model::build(
        &runs,
        analysis::analyze(&runs),
        None,
        &Gate::default(),
        WHEN,
        vec![],
    );
    assert_eq!(
        r.headline,
        "No valid capacity measurement (2 of 2 runs: 1 generator-bound, 1 no-plateau); \
         the API took at least 575 msg/s at smi 10 s without saturating"
    );
    let none = model::build(
        &[],
        analysis::analyze(&[]),
        None,
        &Gate::default(),
        WHEN,
        vec![],
    );
    assert_eq!(none.headline, "No runs to report.");
    assert!(
        msgperf::report::text(|out| markdown::render(out, &none)).contains("No runs to report.")
    );
}
