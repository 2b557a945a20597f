//! Helpers shared by the integration tests: the synthetic run builder and
//! the fixed fixture set under `tests/fixtures/`.

#![allow(dead_code)]

pub mod act;
pub mod builder;
pub mod fixtures;
pub mod serve;

use msgperf::results;
