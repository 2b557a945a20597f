//! The integration tests, as one test binary (as ripgrep and oha do): each
//! file of tests/ was its own binary once, and each linked the AWS SDK,
//! octocrab and the whole crate again; that filled CI's disk. One module per
//! former binary; `common` holds what they share. Fixtures stay in
//! tests/fixtures, the act workflows in tests/act, helper scripts in
//! tests/support.

mod common;

mod ab_e2e;
mod act_workflows;
mod action_ab;
mod action_e2e;
mod action_nightly;
mod allowed_hosts;
mod architecture;
mod bad_matrix;
mod cli;
mod cloudwatch_moto;
mod drain_e2e;
mod engine_e2e;
mod faults_e2e;
mod fixtures_roundtrip;
mod fuzz_corpus;
mod github_nightly_wiremock;
mod github_wiremock;
mod hooks_e2e;
mod journal_e2e;
mod limits_e2e;
mod report;
mod report_cloudwatch;
mod report_files;
mod report_html;
mod scale_out_e2e;
mod server_conformance;
mod split_e2e;
mod workflow_matrix;
