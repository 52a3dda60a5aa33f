//! Whatever the validator accepts encodes, in both formats, to output that
//! the strict reader parses back to the same families and samples; and
//! the encoders never panic on anything, accepted or not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter_exposition::encode::{Format, encode};
use wasm_exporter_exposition::validate::validate;
use wasm_exporter_exposition_fuzz::{Input, expfmt};

fuzz_target!(|input: Input| {
    let mut families = input.families();
    for format in [Format::Text, Format::OpenMetrics] {
        let _ = encode(&families, format);
    }
    if validate(&mut families, &input.limits()).is_ok()
        && let Err(e) = expfmt::round_trip(&families)
    {
        panic!("accepted families do not round-trip: {e}\n{families:?}");
    }
});
