//! The `collector` exports in the canonical ABI, written by hand so that
//! returning a family copies none of its labels.
//!
//! The generated bindings would take owned strings: one allocation per label
//! name and value, a copy into an array of records per series, and as many
//! frees after the host has read them. Here a [`Family`] already keeps its
//! labels as the ABI's `label` records over one text buffer (offsets until
//! now), so lowering adds the buffer's address to each record and writes
//! one `metric` record per series; strings stay where they are. What the
//! host reads is kept alive in [`RETURNED`] until its post-return call.
//!
//! Layouts (wasm32; sizes and alignments of the `metrics` interface in the
//! component model's canonical ABI, checked against the host's bindings by
//! the integration tests that read every type back):
//!
//! | type | size | align | fields at |
//! |---|---|---|---|
//! | `string`, `list<T>` | 8 | 4 | address 0, length 4 |
//! | `label` | 16 | 4 | name 0, value 8 |
//! | `bucket`, `quantile` | 16 | 8 | 0, 8 |
//! | `state` | 12 | 4 | name 0, enabled 8 |
//! | `value` | 32 | 8 | case 0 (u8), payload 8 |
//! | `histogram`, `summary` | 24 | 8 | list 0, sum 8, count 16 |
//! | `metric` | 40 | 8 | labels 0, value 8 |
//! | `metric-family` | 40 | 4 | name 0, help 8, type 16 (u8), unit 20 (case u8, string 24), metrics 32 |
//! | `descriptor` | 40 | 4 | name 0, help 8, type 16, unit 20, label-names 32 |
//! | `result<list<metric-family>, string>` | 12 | 4 | case 0 (u8), payload 4 |

use std::alloc::{Layout, dealloc};
use std::cell::RefCell;
use std::time::Duration;

use crate::family::{MetricRecord, Parts, case, packed, unpacked};
use crate::{Collector, Descriptor, Family, MetricType, Request, Value};

/// `metric-family`, as 32-bit words.
type FamilyRecord = [u32; 10];
/// `bucket` or `quantile`: two 64-bit fields.
type PairRecord = [u64; 2];
/// `state`: name (address, length), enabled.
type StateRecord = [u32; 3];
/// A `string` inside a list: address, length.
type StringRecord = [u32; 2];

/// Everything the last export returned, alive until the host's
/// post-return call drops it.
#[derive(Default)]
struct Returned {
    families: Vec<Family>,
    family_records: Vec<FamilyRecord>,
    pair_records: Vec<Vec<PairRecord>>,
    state_records: Vec<Vec<StateRecord>>,
    descriptors: Vec<Descriptor>,
    string_records: Vec<Vec<StringRecord>>,
    error: String,
    /// The return area: for `collect` the result's case and list or
    /// string; for `describe` the list.
    area: Box<[u32; 3]>,
}

thread_local! {
    static RETURNED: RefCell<Option<Returned>> = const { RefCell::new(None) };
}

/// The 32-bit guest address of `data`.
fn address<T>(data: *const T) -> u32 {
    data as usize as u32
}

/// A list or string field: address and length.
fn list<T>(items: &[T]) -> [u32; 2] {
    [address(items.as_ptr()), items.len() as u32]
}

fn text(s: &str) -> [u32; 2] {
    list(s.as_bytes())
}

fn metric_type(metric_type: MetricType) -> u32 {
    match metric_type {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Histogram => 2,
        MetricType::Summary => 3,
        MetricType::Info => 4,
        MetricType::StateSet => 5,
        MetricType::Unknown => 6,
    }
}

/// `option<string>` from byte 20 of a record: case, address, length.
fn optional_text(unit: Option<&str>) -> [u32; 3] {
    match unit {
        None => [0, 0, 0],
        Some(unit) => {
            let [at, len] = text(unit);
            [1, at, len]
        }
    }
}

/// A `metric-family` or a `descriptor` record: both are name, help, type,
/// unit and a list (the series, or the label names) at the same places.
fn family_record(
    name: &str,
    help: &str,
    kind: MetricType,
    unit: Option<&str>,
    [list_at, list_len]: [u32; 2],
) -> FamilyRecord {
    let [name_at, name_len] = text(name);
    let [help_at, help_len] = text(help);
    let [unit_case, unit_at, unit_len] = optional_text(unit);
    [
        name_at,
        name_len,
        help_at,
        help_len,
        metric_type(kind),
        unit_case,
        unit_at,
        unit_len,
        list_at,
        list_len,
    ]
}

impl Returned {
    /// Lowers `families` in place: label spans become label records and
    /// series records point at them; only histograms, summaries and state
    /// sets get records of their own.
    fn families(mut self, mut families: Vec<Family>) -> Self {
        for family in &mut families {
            let Parts {
                name,
                help,
                metric_type: kind,
                unit,
                text: text_buffer,
                labels,
                records,
                values,
            } = family.parts_mut();
            let base = address(text_buffer.as_ptr());
            for span in labels.iter_mut() {
                span[0] += base;
                span[2] += base;
            }
            let spans_at = address(labels.as_ptr());
            for record in records.iter_mut() {
                self.lower_metric(spans_at, values, record);
            }
            self.family_records
                .push(family_record(name, help, kind, unit, list(records)));
        }
        self.families = families;
        let [at, len] = list(&self.family_records);
        *self.area = [0, at, len];
        self
    }

    /// Turns a series record's label index into the address of its first
    /// label record, and a value index into the value's own records.
    fn lower_metric(&mut self, spans_at: u32, values: &[Value], record: &mut MetricRecord) {
        const LABEL_RECORD_BYTES: u32 = 16;
        let [first_label, label_count] = unpacked(record[0]);
        record[0] = packed([spans_at + first_label * LABEL_RECORD_BYTES, label_count]);
        if !matches!(record[1], case::HISTOGRAM | case::SUMMARY | case::STATE_SET) {
            return;
        }
        let payload = match &values[record[2] as usize] {
            Value::Histogram(h) => {
                let buckets = h
                    .buckets()
                    .iter()
                    .map(|&(bound, count)| [bound.to_bits(), count])
                    .collect();
                [self.pairs(buckets), h.sum().to_bits(), h.count()]
            }
            Value::Summary(s) => {
                let quantiles = s
                    .quantiles()
                    .iter()
                    .map(|&(quantile, value)| [quantile.to_bits(), value.to_bits()])
                    .collect();
                [self.pairs(quantiles), s.sum().to_bits(), s.count()]
            }
            Value::StateSet(states) => {
                let records: Vec<StateRecord> = states
                    .iter()
                    .map(|(name, enabled)| {
                        let [at, len] = text(name);
                        [at, len, u32::from(*enabled)]
                    })
                    .collect();
                let field = packed(list(&records));
                self.state_records.push(records);
                [field, 0, 0]
            }
            Value::Counter(_) | Value::Gauge(_) | Value::Unknown(_) | Value::Info => {
                unreachable!("scalar values are kept in their records")
            }
        };
        record[2..].copy_from_slice(&payload);
    }

    fn pairs(&mut self, records: Vec<PairRecord>) -> u64 {
        let field = packed(list(&records));
        self.pair_records.push(records);
        field
    }

    fn error(mut self, message: String) -> Self {
        self.error = message;
        let [at, len] = text(&self.error);
        *self.area = [1, at, len];
        self
    }

    fn descriptors(mut self, descriptors: Vec<Descriptor>) -> Self {
        for descriptor in &descriptors {
            let names: Vec<StringRecord> = descriptor
                .label_names
                .iter()
                .map(|name| text(name))
                .collect();
            self.family_records.push(family_record(
                &descriptor.name,
                &descriptor.help,
                descriptor.metric_type,
                descriptor.unit.as_deref(),
                list(&names),
            ));
            self.string_records.push(names);
        }
        self.descriptors = descriptors;
        let [at, len] = list(&self.family_records);
        *self.area = [at, len, 0];
        self
    }

    /// Keeps `self` until the post-return call and gives the host the
    /// address of its return area.
    fn hand_over(self) -> *mut u8 {
        let area = address(self.area.as_ptr()) as usize as *mut u8;
        RETURNED.with(|returned| *returned.borrow_mut() = Some(self));
        area
    }
}

/// `describe`, lowered.
pub fn describe<C: Collector>() -> *mut u8 {
    Returned::default().descriptors(C::describe()).hand_over()
}

/// `collect`, with its request lifted from the flattened parameters and
/// its result lowered.
///
/// # Safety
///
/// The arguments must be what the canonical ABI passes to this export:
/// strings and a list the host allocated with `cabi_realloc`, owned by the
/// callee from now on.
pub unsafe fn collect<C: Collector>(
    target_case: i32,
    target_at: *mut u8,
    target_len: usize,
    params_at: *mut u8,
    params_len: usize,
    timeout_ms: i64,
) -> *mut u8 {
    // SAFETY: the caller passes what the host allocated for this call.
    let request = unsafe {
        Request {
            target: (target_case != 0).then(|| owned_string(target_at, target_len)),
            params: owned_params(params_at, params_len),
            timeout: Duration::from_millis(timeout_ms as u64),
        }
    };
    let returned = Returned::default();
    match C::collect(&request) {
        Ok(families) => returned.families(families),
        Err(message) => returned.error(message),
    }
    .hand_over()
}

/// The post-return call of either export: frees what it returned.
pub fn release() {
    RETURNED.with(|returned| returned.borrow_mut().take());
}

/// # Safety
///
/// `at` and `len` are a string the host allocated with `cabi_realloc`
/// (alignment 1, exactly `len` bytes) and handed over.
unsafe fn owned_string(at: *mut u8, len: usize) -> String {
    // SAFETY: that allocation is a `Vec<u8>` of capacity `len` under the
    // global allocator, which `cabi_realloc` uses; the host wrote UTF-8.
    unsafe { String::from_utf8_unchecked(Vec::from_raw_parts(at, len, len)) }
}

/// # Safety
///
/// `at` and `len` are a `list<tuple<string, string>>` the host allocated
/// with `cabi_realloc` (16-byte elements, alignment 4), each string
/// likewise, all handed over.
unsafe fn owned_params(at: *mut u8, len: usize) -> Vec<(String, String)> {
    const ELEMENT_BYTES: usize = 16;
    if len == 0 {
        return Vec::new();
    }
    let params = (0..len)
        .map(|i| {
            // SAFETY: element `i` lies within the list; its four words are
            // two strings handed over with it.
            unsafe {
                let words = at.add(i * ELEMENT_BYTES).cast::<u32>();
                let word = |k: usize| words.add(k).read() as usize;
                (
                    owned_string(word(0) as *mut u8, word(1)),
                    owned_string(word(2) as *mut u8, word(3)),
                )
            }
        })
        .collect();
    // SAFETY: the list's own allocation, with the layout it was made with.
    unsafe {
        dealloc(
            at,
            Layout::from_size_align_unchecked(len * ELEMENT_BYTES, 4),
        )
    };
    params
}
