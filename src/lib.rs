//! msgperf: performance tests for a chat Messenger API.
//!
//! Data flows one way: `matrix` (plan) → `load` (engine against a target, or the
//! embedded `server`) → `results` files → `analysis` → `report`. Each stage is a
//! module with plain data at its edges; I/O stays in `load`, `server` and the
//! command layer (`cli` types, `commands`, `run`, `action`). `github` is the one place that talks
//! to GitHub (REST API and the Actions runner's files).

pub mod action;
pub mod analysis;
pub mod cli;
pub mod cloudwatch;
pub mod commands;
pub(crate) mod expand;
pub mod github;
pub mod load;
pub mod matrix;
pub mod protocol;
pub mod report;
pub mod results;
pub mod run;
pub mod server;
pub(crate) mod staging;
pub(crate) mod time;
