use super::*;
use crate::results::{read_dir, scan_dir};

fn header(sample: &RunResult) -> JournalHeader {
    JournalHeader {
        journal: JOURNAL_VERSION,
        result_file: sample.file_name(),
        side: None,
        scenario: sample.scenario.clone(),
        target: sample.target.clone(),
        started_at: "2026-01-02T03:04:05.000Z".into(),
        split: None,
        creation: None,
        cores: 2,
    }
}

fn second(t: u32, participants: u64) -> Second {
    Second {
        t,
        sent: 10 * u64::from(t),
        delivered: 10 * u64::from(t),
        participants,
        open_connections: participants + 1,
        cpu_percent: 20.0,
        ..Second::default()
    }
}

/// A journal with `rows` seconds, and a torn (half-written) last line.
fn write_journal(dir: &Path, rows: u32) -> PathBuf {
    let sample = crate::results::tests::sample();
    let mut text = serde_json::to_string(&header(&sample)).unwrap();
    text.push('\n');
    for t in 0..rows {
        text.push_str(&serde_json::to_string(&second(t, u64::from(t) * 5)).unwrap());
        text.push('\n');
    }
    text.push_str("{\"t\": 99, \"sent\": 12");
    let path = dir.join(journal_name(&sample.file_name()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_journal_without_its_result_is_an_interrupted_run_of_what_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_journal(dir.path(), 6);
    let r = recover(&path).unwrap();
    assert_eq!(r.outcome, Outcome::Interrupted);
    assert_eq!(r.stop_reason, StopReason::Signal);
    assert_eq!(r.timeline.len(), 6, "the torn line is dropped");
    assert_eq!(r.duration_s, 6.0);
    assert_eq!(r.ended_at.as_str(), "2026-01-02T03:04:11.000Z");
    assert_eq!(r.totals.messages_sent, 150);
    assert_eq!(r.totals.participants, 25);
    assert_eq!(r.generator.cores, 2);
    assert_eq!(r.scenario, crate::results::tests::sample().scenario);
    // It is an interrupted run to the analysis: shown, never a capacity.
    let a = crate::analysis::analyze_run(&r);
    assert_eq!(a.verdict, crate::analysis::Verdict::Interrupted);
    assert!(a.sustained_rate.is_none());
}

#[test]
fn a_scan_recovers_orphan_journals_ignores_superseded_ones_and_skips_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let journal = write_journal(dir.path(), 4);
    let broken = dir.path().join("half.json");
    std::fs::write(&broken, "{\"schema\": 1, \"scenario\": {\"id\": \"x\"").unwrap();
    let scan = scan_dir(dir.path()).unwrap();
    assert!(scan.runs.is_empty());
    assert_eq!(scan.recovered.len(), 1);
    assert_eq!(scan.recovered[0].1, journal);
    assert_eq!(scan.unreadable.len(), 1);
    assert!(scan.unreadable[0].to_string().contains("half.json"));
    // The strict reader never sees a journal, and fails on the broken file.
    assert!(read_dir(dir.path()).is_err());
    std::fs::remove_file(&broken).unwrap();
    assert_eq!(read_dir(dir.path()).unwrap(), Vec::new());
    // Once the result file exists, the journal is superseded.
    let sample = crate::results::tests::sample();
    sample.write_to_dir(dir.path()).unwrap();
    let scan = scan_dir(dir.path()).unwrap();
    assert_eq!((scan.runs.len(), scan.recovered.len()), (1, 0));
}

#[test]
fn journal_names_follow_result_names() {
    assert_eq!(journal_name("a-r1.json"), "a-r1.journal.jsonl");
    assert_eq!(
        journal_name("a-r1.part2of3.json"),
        "a-r1.part2of3.journal.jsonl"
    );
    let j = Path::new("/x/a-r1.part2of3.journal.jsonl");
    assert!(is_journal(j));
    assert_eq!(
        result_path_of(j),
        Some(PathBuf::from("/x/a-r1.part2of3.json"))
    );
}
