//! `hooks`, `on_hook_failure`, `cooldown` and `organizer.reply` in matrix.yaml:
//! what they parse to, and the errors for bad values (file, line, key, hint).

use super::tests::{env, ok};
use super::*;

const MATRIX: &str = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\n";

fn check(text: &str, pieces: &[&str]) {
    let e = match parse("bad.yaml", text, &env) {
        Ok(plan) => panic!("accepted:\n{text}\n{plan:?}"),
        Err(e) => e,
    };
    let shown = e.to_string();
    for piece in pieces {
        assert!(shown.contains(piece), "missing {piece:?} in:\n{shown}");
    }
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn defaults_are_no_hooks_skip_no_cooldown_no_replies() {
    let plan = ok(MATRIX);
    assert_eq!(plan.hooks, Hooks::default());
    assert_eq!(plan.on_hook_failure, OnHookFailure::Skip);
    assert_eq!(plan.cooldown, Duration::ZERO);
    assert!(plan.scenarios.iter().all(|s| s.reply == ReplyPolicy::None));
}

#[test]
fn hooks_parse_in_both_forms() {
    let plan = ok(&format!(
        "{MATRIX}hooks:\n  before_all: ./deploy.sh\n  before_each:\n    run: |\n      ssh staging ./reset.sh\n    timeout: 2m\n    wait_for: http://staging:8300/health\n  after_all: {{ run: echo done, wait_for: 'tcp://db:5432', pass_password: true }}\non_hook_failure: abort\ncooldown: 60s\norganizer:\n  reply: \"10%\"\n"
    ));
    let all = plan.hooks.before_all.as_ref().unwrap();
    assert_eq!(
        (
            all.run.as_str(),
            all.timeout,
            all.wait_for.as_deref(),
            all.pass_password
        ),
        ("./deploy.sh", DEFAULT_HOOK_TIMEOUT, None, false)
    );
    let each = plan.hooks.before_each.as_ref().unwrap();
    assert_eq!(each.run, "ssh staging ./reset.sh\n");
    assert_eq!(each.timeout, Duration::from_secs(120));
    assert_eq!(each.wait_for.as_deref(), Some("http://staging:8300/health"));
    let last = plan.hooks.after_all.as_ref().unwrap();
    assert!(last.pass_password);
    assert_eq!(last.wait_for.as_deref(), Some("tcp://db:5432"));
    assert!(plan.hooks.after_each.is_none());
    let phases: Vec<_> = plan.hooks.iter().map(|(p, _)| p).collect();
    assert_eq!(phases, ["before_all", "before_each", "after_all"]);
    assert_eq!(plan.on_hook_failure, OnHookFailure::Abort);
    assert_eq!(plan.cooldown, Duration::from_secs(60));
    assert!(plan
        .scenarios
        .iter()
        .all(|s| s.reply == ReplyPolicy::Share(1000)));
}

#[test]
fn reply_words_and_shares() {
    let reply = |v: &str| ok(&format!("{MATRIX}organizer:\n  reply: {v}\n")).scenarios[0].reply;
    assert_eq!(reply("every"), ReplyPolicy::Every);
    assert_eq!(reply("none"), ReplyPolicy::None);
    assert_eq!(reply("'100%'"), ReplyPolicy::Every);
    assert_eq!(reply("2.5%"), ReplyPolicy::Share(250));
}

#[test]
fn bad_values_say_where_and_what_to_write() {
    check(
        &format!("{MATRIX}hooks:\n  before_eahc: ./reset.sh\n"),
        &[
            "line 6, column 3",
            "key `hooks.before_eahc`",
            "did you mean `before_each`?",
        ],
    );
    check(
        &format!("{MATRIX}hooks:\n  before_each:\n    run: ./x\n    timeout: 0s\n"),
        &[
            "line 8",
            "key `hooks.before_each.timeout`",
            "must be longer than zero",
        ],
    );
    check(
        &format!("{MATRIX}hooks:\n  before_each:\n    timeout: 5s\n"),
        &[
            "key `hooks.before_each.run`",
            "required key `run` is missing",
        ],
    );
    check(
        &format!("{MATRIX}hooks:\n  before_each: {{ run: ./x, wait_for: 'staging:8300' }}\n"),
        &[
            "line 6",
            "key `hooks.before_each`",
            "`staging:8300` is not a readiness probe",
            "tcp://",
        ],
    );
    check(
        &format!("{MATRIX}hooks:\n  after_all: ''\n"),
        &["key `hooks.after_all`", "command is empty"],
    );
    check(
        &format!("{MATRIX}on_hook_failure: stop\n"),
        &[
            "line 5, column 18",
            "key `on_hook_failure`",
            "`stop` is not a valid on_hook_failure value",
            "`skip`",
            "`abort`",
        ],
    );
    check(
        &format!("{MATRIX}cooldown: 5\n"),
        &["key `cooldown`", "`5` is not a duration"],
    );
    check(
        &format!("{MATRIX}organizer:\n  reply: sometimes\n"),
        &[
            "line 6",
            "key `organizer.reply`",
            "`sometimes` is not a valid reply value",
            "\"10%\"",
        ],
    );
    check(
        &format!("{MATRIX}organizer:\n  reply: 0%\n"),
        &[
            "key `organizer.reply`",
            "outside the range (0%, 100%]",
            "`none`",
        ],
    );
    check(
        &format!("{MATRIX}organizer:\n  replies: every\n"),
        &[
            "key `organizer.replies`",
            "unknown key `replies`",
            "allowed here: reply",
        ],
    );
}
