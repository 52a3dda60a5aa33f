//! The validator returns Ok or Err on any families under any limits, and
//! what it accepts stays within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter_exposition::validate::validate;
use wasm_exporter_exposition_fuzz::Input;

fuzz_target!(|input: Input| {
    let mut families = input.families();
    let limits = input.limits();
    if let Ok(stats) = validate(&mut families, &limits) {
        assert!(stats.series <= limits.max_series && stats.bytes <= limits.max_bytes);
        assert!(families.iter().all(|f| !f.metrics.is_empty()));
    }
});
