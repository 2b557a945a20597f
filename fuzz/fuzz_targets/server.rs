//! The embedded server's decoding of any client frame or REST body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = msgperf::server::every_decoding(data);
});
