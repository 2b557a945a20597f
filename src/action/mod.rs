//! The GitHub Action's own parts: its inputs as data ([`inputs`]), the event
//! that started the workflow ([`event`]), and what it publishes (outputs, job
//! summary, annotations, the sticky PR comment, the nightly tracking issue).
//! `msgperf action` itself, which wires these to the stages, is a command
//! (`crate::commands`).

pub(crate) mod event;
pub(crate) mod inputs;
pub(crate) mod nightly;
pub(crate) mod publish;
#[cfg(test)]
mod tests;

pub use event::{Context, Event};
pub use inputs::{ActionConfig, Baseline, CommentMode, InputSpec, Inputs, Mode, Nightly, INPUTS};
pub use nightly::previous_rows;
