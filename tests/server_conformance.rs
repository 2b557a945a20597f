//! Conformance of the embedded staging server to `../shared/PROTOCOL.md`:
//! each row of its tables exercised with real clients over real sockets on
//! 127.0.0.1 (port 0), every wait bounded.
//!
//! Run: `cargo test --test server_conformance`.

#[path = "server_conformance/capacity.rs"]
mod capacity;
#[path = "server_conformance/perf.rs"]
mod perf;
#[path = "server_conformance/rest.rs"]
mod rest;
#[path = "server_conformance/support.rs"]
mod support;
#[path = "server_conformance/ws.rs"]
mod ws;
