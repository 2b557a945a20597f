//! matrix.yaml's bytes to a `Plan` or a configuration error (exit 2), and the
//! error's text as the user would see it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = msgperf::matrix::parse_bytes("fuzz.yaml", data, &|_| Some("v".into())) {
        assert_eq!(e.exit_code(), 2);
        let _ = e.to_string();
    }
});
