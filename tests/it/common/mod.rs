//! Helpers shared by the integration tests: the synthetic run builder and
//! the fixed fixture set under `tests/fixtures/`.

#![allow(dead_code)]

pub mod act;
pub mod builder;
pub mod fake_github;
pub mod fault_proxy;
pub mod fixtures;
pub mod serve;

use msgperf::results;

/// Load tests share two cores: one at a time, across every module of this
/// binary (each file was its own binary once, and those ran one after
/// another), so none measures another's load.
pub static LOAD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
