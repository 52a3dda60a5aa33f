//! Returns a `collect` result written byte by byte in the canonical ABI,
//! broken in the one way its `case` config value names, to test the host's
//! reading of a result in place: pointers and lengths past the end of
//! memory, a misaligned list, discriminants and booleans out of range,
//! a string that is not UTF-8. `case=valid` (the default) returns one
//! well-formed gauge series, `raw_gauge{k="v"} 1.5`, laid out the same
//! way.
//!
//! The exports are written by hand (as the SDK's are); the SDK's bindings
//! give the component its world.

use std::cell::UnsafeCell;

use wasm_exporter_sdk::config_get;

/// Where the result is written: aligned for any record of the ABI.
#[repr(C, align(8))]
struct Area(UnsafeCell<[u8; 512]>);

// SAFETY: a wasm32 plugin is single-threaded.
unsafe impl Sync for Area {}

static AREA: Area = Area(UnsafeCell::new([0; 512]));

// Offsets in the area.
const RET: usize = 0; // result<list<metric-family>, string>: 12 bytes
const FAMILY: usize = 16; // metric-family: 40 bytes, align 4
const METRIC: usize = 56; // metric: 40 bytes, align 8
const LABEL: usize = 96; // label: 16 bytes
const STATE: usize = 112; // state: 12 bytes
const TEXT: usize = 128; // the strings

fn put_u32(area: &mut [u8], at: usize, v: u32) {
    area[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_f64(area: &mut [u8], at: usize, v: f64) {
    area[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Writes the result for `case` and returns its address.
fn write(case: &str) -> *mut u8 {
    // SAFETY: only this export touches the area, one call at a time.
    let area = unsafe { &mut *AREA.0.get() };
    area.fill(0);
    let base = area.as_ptr() as u32;
    let mut text = TEXT;
    let mut string = |area: &mut [u8], at: usize, s: &[u8]| {
        area[text..text + s.len()].copy_from_slice(s);
        put_u32(area, at, base + text as u32);
        put_u32(area, at + 4, s.len() as u32);
        text += s.len();
    };
    // ok([family])
    area[RET] = 0;
    put_u32(area, RET + 4, base + FAMILY as u32);
    put_u32(area, RET + 8, 1);
    // family: name, help, type gauge, no unit, [metric]
    string(area, FAMILY, b"raw_gauge");
    string(area, FAMILY + 8, b"Raw.");
    area[FAMILY + 16] = 1;
    area[FAMILY + 20] = 0;
    put_u32(area, FAMILY + 32, base + METRIC as u32);
    put_u32(area, FAMILY + 36, 1);
    // metric: [label], gauge(1.5)
    put_u32(area, METRIC, base + LABEL as u32);
    put_u32(area, METRIC + 4, 1);
    area[METRIC + 8] = 1;
    put_f64(area, METRIC + 16, 1.5);
    // label k="v"
    string(area, LABEL, b"k");
    string(area, LABEL + 8, b"v");
    match case {
        "list_out_of_bounds" => put_u32(area, FAMILY + 36, 0x0800_0000),
        "string_out_of_bounds" => {
            put_u32(area, LABEL + 8, 0xffff_fff0);
            put_u32(area, LABEL + 12, 100);
        }
        "misaligned_list" => put_u32(area, FAMILY + 32, base + METRIC as u32 + 4),
        "bad_variant" => area[METRIC + 8] = 9,
        "bad_type" => area[FAMILY + 16] = 7,
        "bad_option" => area[FAMILY + 20] = 2,
        "bad_utf8" => string(area, LABEL + 8, &[0xff, 0xfe]),
        "bad_bool" => {
            // A state set whose one state is enabled = 2.
            area[FAMILY + 16] = 5;
            area[METRIC + 8] = 6;
            put_u32(area, METRIC + 16, base + STATE as u32);
            put_u32(area, METRIC + 20, 1);
            string(area, STATE, b"on");
            area[STATE + 8] = 2;
        }
        _ => {}
    }
    // SAFETY: within the area.
    unsafe { area.as_mut_ptr().add(RET) }
}

#[unsafe(export_name = "wasm-exporter:collector/collector@0.1.1#describe")]
extern "C" fn describe() -> *mut u8 {
    // An empty list<descriptor>: (pointer, 0).
    // SAFETY: only this export touches the area, one call at a time.
    let area = unsafe { &mut *AREA.0.get() };
    area[..8].fill(0);
    area.as_mut_ptr()
}

#[unsafe(export_name = "cabi_post_wasm-exporter:collector/collector@0.1.1#describe")]
extern "C" fn describe_post_return(_: *mut u8) {}

#[unsafe(export_name = "wasm-exporter:collector/collector@0.1.1#collect")]
extern "C" fn collect(_: i32, _: *mut u8, _: usize, _: *mut u8, _: usize, _: i64) -> *mut u8 {
    let case = config_get("case").unwrap_or_else(|| "valid".into());
    write(&case)
}

#[unsafe(export_name = "cabi_post_wasm-exporter:collector/collector@0.1.1#collect")]
extern "C" fn collect_post_return(_: *mut u8) {}
