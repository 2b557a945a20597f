//! The import rules of docs/architecture.md hold: scripts/check-architecture.sh
//! finds no stage importing a later one and no cycle in the command layer.

use std::process::Command;

#[test]
fn no_stage_imports_a_later_one_and_the_command_layer_has_no_cycle() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-architecture.sh");
    let out = Command::new("bash").arg(script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("architecture: ok"), "{text}");
}
