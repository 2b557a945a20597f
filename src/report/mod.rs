//! The report stage: from the analysis to what people and machines read —
//! report.md (GitHub markdown with a Mermaid rate chart, under 60,000
//! characters), report.json (the same content as data, `docs/report.md`),
//! report.html (one self-contained page), charts/ (SVG + PNG), a terminal
//! table and a history line.
//!
//! Everything except [`command`] is pure: it renders to `String`/bytes from a
//! [`Report`], so snapshot tests pin the output. [`command::run`] does the
//! file I/O for `msgperf report`.

pub mod ab;
pub mod baseline;
pub mod charts;
pub(crate) mod cloudwatch;
pub(crate) mod command;
pub(crate) mod delivery;
mod details;
pub(crate) mod first_failure;
pub(crate) mod format;
mod from_bytes;
pub(crate) mod headline;
pub(crate) mod history;
pub(crate) mod html;
pub mod markdown;
pub(crate) mod mermaid;
pub mod model;
pub mod terminal;

pub use command::{
    prepare, read_results, run, run_for, write, Commit, Prepared, ReportError, ReportOptions,
    ReportOutcome,
};
pub use format::text;
pub use from_bytes::report_from_bytes;
pub use model::{build, BaselineInput, Report, REPORT_SCHEMA};
