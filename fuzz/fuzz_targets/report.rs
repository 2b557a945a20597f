//! `msgperf report` on any bytes as a result file: every output, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = msgperf::report::report_from_bytes(data);
});
