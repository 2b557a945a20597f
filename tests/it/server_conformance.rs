//! Conformance of the embedded staging server to `../shared/PROTOCOL.md`:
//! each row of its tables exercised with real clients over real sockets on
//! 127.0.0.1 (port 0), every wait bounded.
//!
//! `transcripts.rs` and `ws_session.rs` replay the recordings of the real
//! system (`../shared/esme-transcripts/`) against it.
//!
//! Run: `cargo test --test server_conformance`.

#[path = "server_conformance/capacity.rs"]
mod capacity;
#[path = "server_conformance/perf.rs"]
mod perf;
#[path = "server_conformance/replay.rs"]
mod replay;
#[path = "server_conformance/rest.rs"]
mod rest;
#[path = "server_conformance/shape.rs"]
mod shape;
#[path = "server_conformance/sign_up_cost.rs"]
mod sign_up_cost;
#[path = "server_conformance/support.rs"]
mod support;
#[path = "server_conformance/transcripts.rs"]
mod transcripts;
#[path = "server_conformance/ws.rs"]
mod ws;
#[path = "server_conformance/ws_session.rs"]
mod ws_session;
