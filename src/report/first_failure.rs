//! Which service failed first, in words, and whether the test started at all.
//!
//! Against the real system the first failure is often not the Messenger API:
//! an open creation rate overloads the Participant API's bcrypt sign-up
//! (`500 database error`) long before the Messenger API feels any load. A
//! headline that then says "saturated" blames the wrong service, so the
//! report names the service and step that failed first and says what to try
//! when it was not the Messenger API.

use super::format;
use crate::analysis::run::FirstErrorInfo;
use crate::analysis::{RunAnalysis, Verdict};
use crate::results::{ErrorKind, Service, Step};

/// The headline when no run could start: what to fix, from the first run.
pub fn not_started(runs: &[RunAnalysis]) -> Option<String> {
    if runs.is_empty() || runs.iter().any(|r| r.verdict != Verdict::Failed) {
        return None;
    }
    let why = runs
        .iter()
        .find_map(|r| r.start_failure.as_ref())
        .map_or("the API was never loaded", |f| f.message.as_str());
    Some(format!(
        "The test could not start ({} of {} runs failed): {why}",
        runs.len(),
        runs.len()
    ))
}

/// "Participant API sign-up failed first (HTTP 500 at 1.2 s, 40 chats
/// active)": the earliest first error of the runs that measured something,
/// with advice when it was not the Messenger API. `None` without errors.
pub fn sentence(runs: &[RunAnalysis]) -> Option<String> {
    let e = runs
        .iter()
        .filter(|r| r.verdict != Verdict::Skipped && r.verdict != Verdict::Failed)
        .filter_map(|r| r.first_error.as_ref())
        .min_by(|a, b| a.at_s.total_cmp(&b.at_s))?;
    let step = e.step?;
    if e.kind == ErrorKind::GeneratorLimit {
        return Some(format!(
            "The generator hit its own limit first (generator_limit at {}: no descriptor or local port for a {}): not the API's; the run is generator-bound, raise the open-file limit or use `split: K`",
            format::secs(e.at_s),
            step.label()
        ));
    }
    let service = e.service.unwrap_or(step.service());
    let mut s = format!(
        "{} {} failed first ({} at {}, {} chats active)",
        service.label(),
        step.label(),
        what(e),
        format::secs(e.at_s),
        format::count(e.active_chats as f64)
    );
    if service != Service::MessengerApi {
        s.push_str(": the Messenger API was not saturated");
        if matches!(step, Step::SignUp | Step::ChatRequest) {
            s.push_str("; try `arrival: sequential` or a longer cpi");
        }
    }
    Some(s)
}

fn what(e: &FirstErrorInfo) -> String {
    match e.http_status {
        Some(status) => format!("HTTP {status}"),
        None => e.kind.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_run;
    use crate::results::{FirstError, Outcome, StartFailure, StartFailureCause};

    fn run_failing(step: Step, status: Option<u16>, at_s: f64) -> RunAnalysis {
        let mut r = crate::results::tests::sample();
        r.first_error = Some(FirstError {
            at_s,
            kind: ErrorKind::HttpStatus,
            message: "POST answered 500: database error".into(),
            worker: crate::results::Worker::Participant(3),
            active_chats: 40,
            participants: 60,
            step: Some(step),
            service: Some(step.service()),
            http_status: status,
        });
        analyze_run(&r)
    }

    #[test]
    fn a_participant_api_failure_says_the_messenger_api_was_not_saturated() {
        let runs = [
            run_failing(Step::Handshake, None, 9.0),
            run_failing(Step::SignUp, Some(500), 1.2),
        ];
        assert_eq!(
            sentence(&runs).unwrap(),
            "Participant API sign-up failed first (HTTP 500 at 1.2 s, 40 chats active): the Messenger API was not saturated; try `arrival: sequential` or a longer cpi"
        );
        let messenger = [run_failing(Step::Handshake, None, 9.0)];
        let s = sentence(&messenger).unwrap();
        assert!(
            s.starts_with("Messenger API WebSocket handshake failed first (http_status at 9.0 s"),
            "{s}"
        );
        assert!(!s.contains("not saturated"), "{s}");
    }

    #[test]
    fn a_generator_limit_is_named_as_the_generators_not_the_apis() {
        let mut r = crate::results::tests::sample();
        r.first_error = Some(FirstError {
            at_s: 2.5,
            kind: ErrorKind::GeneratorLimit,
            message: "no socket for a connection: Too many open files (os error 24)".into(),
            worker: crate::results::Worker::Participant(250),
            active_chats: 240,
            participants: 250,
            step: Some(Step::Handshake),
            service: Some(Step::Handshake.service()),
            http_status: None,
        });
        r.errors_by_kind
            .insert(crate::results::ErrorKind::GeneratorLimit, 1);
        let s = sentence(&[analyze_run(&r)]).unwrap();
        assert!(
            s.starts_with("The generator hit its own limit first (generator_limit at 2.5 s"),
            "{s}"
        );
        assert!(
            s.contains("generator-bound") && !s.contains("Messenger API"),
            "{s}"
        );
    }

    #[test]
    fn only_all_failed_runs_make_a_not_started_headline() {
        let mut r = crate::results::tests::sample();
        r.outcome = Outcome::Failed;
        r.start_failure = Some(StartFailure {
            cause: StartFailureCause::CredentialsRejected,
            message: "the Organizer API refused the sign-in of a@b.c".into(),
        });
        let failed = analyze_run(&r);
        assert_eq!(failed.verdict, Verdict::Failed);
        let h = not_started(std::slice::from_ref(&failed)).unwrap();
        assert_eq!(h, "The test could not start (1 of 1 runs failed): the Organizer API refused the sign-in of a@b.c");
        let ok = analyze_run(&crate::results::tests::sample());
        assert_eq!(not_started(&[failed, ok]), None);
    }
}
