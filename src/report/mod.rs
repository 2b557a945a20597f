//! The report stage: from the analysis to what people and machines read —
//! report.md (GitHub markdown with a Mermaid rate chart, under 60,000
//! characters), report.json (the same content as data, `docs/report.md`),
//! report.html (one self-contained page), charts/ (SVG + PNG), a terminal
//! table and a history line.
//!
//! Everything except [`command`] is pure: it renders to `String`/bytes from a
//! [`Report`], so snapshot tests pin the output. [`command::run`] does the
//! file I/O for `msgperf report`.

pub mod baseline;
pub mod charts;
pub mod command;
pub mod delivery;
mod details;
pub mod first_failure;
pub mod format;
mod from_bytes;
pub mod headline;
pub mod history;
pub mod html;
pub mod markdown;
pub mod mermaid;
pub mod model;
pub mod terminal;

pub use command::{run, run_for, Commit, ReportError, ReportOptions, ReportOutcome};
pub use from_bytes::report_from_bytes;
pub use model::{build, BaselineInput, Report, REPORT_SCHEMA};
