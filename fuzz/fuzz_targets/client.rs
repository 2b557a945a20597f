//! The load client's reading of any server frame or REST body: an event or a
//! protocol error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = msgperf::load::read::every_reading(data);
});
