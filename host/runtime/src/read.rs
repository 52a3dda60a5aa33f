//! A plugin's result read where it lies: in the plugin's linear memory,
//! while its store is alive.
//!
//! `collect` returns `result<list<metric-family>, string>`. Lifting that
//! into owned values would allocate every label name and value of every
//! series and free them again after encoding. Instead, [`InPlace`] stands
//! for the `list<metric-family>` in the call's typed signature, and its
//! lift walks the list in the guest's memory (the canonical ABI layout of
//! `wit/collector.wit`), builds a view of it whose strings borrow that
//! memory, checks the view with the exposition core's validator and
//! encodes it into [`Block`]s, all before the call returns. Only the
//! blocks (the sample lines, the metadata, a hash per series) outlive the
//! store.
//!
//! The bounds of a call hold as with wasmtime's own lift: every list and
//! string is bounds-checked against the memory, every byte read is charged
//! to the store's hostcall fuel (so an oversized result is refused while
//! it is read, with wasmtime's own error), every discriminant, boolean and
//! string is checked. A component whose strings are not UTF-8 is lifted by
//! wasmtime into owned values and then checked and encoded the same way.
//! The validator gets its limits and deadline from the collect that reads
//! ([`Reading::scope`]), since a lift has no other input.

use std::mem::size_of;
use std::time::Instant;

use wasmtime::component::__internal::wasmtime_environ::component::StringEncoding;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};
use wasmtime::{Result, ValRaw, bail};

use wasm_exporter_exposition::block::{self, Block};
use wasm_exporter_exposition::model::{
    Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State, Summary, Text,
    Value,
};
use wasm_exporter_exposition::validate::{OutputLimits, OutputStats, Rejection};

/// What the reading of one result checks against.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// The plugin's output limits.
    pub limits: OutputLimits,
    /// When the checks give up.
    pub deadline: Instant,
}

tokio::task_local! {
    static READING: Reading;
}

impl Reading {
    /// Runs `call` (a collect returning [`InPlace`]) with this reading in
    /// effect for its lift.
    pub async fn scope<F: Future>(self, call: F) -> F::Output {
        READING.scope(self, call).await
    }
}

/// A result that passed the checks, encoded.
#[derive(Debug)]
pub struct Checked {
    /// One block per family (empty families dropped).
    pub blocks: Vec<Block>,
    /// What the checks counted.
    pub stats: OutputStats,
}

/// The `list<metric-family>` of a `collect` result, read in place,
/// checked and encoded: the blocks, or why the checks refused it.
#[derive(Debug)]
pub struct InPlace(pub Result<Checked, Rejection>);

type Owned = Vec<MetricFamily>;

// SAFETY: the type, size and alignment are those of `list<metric-family>`,
// as for `Vec<MetricFamily>`, whose type check this uses.
#[allow(unsafe_code)]
unsafe impl ComponentType for InPlace {
    type Lower = [ValRaw; 2];

    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        <Owned as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: reads only through `LiftContext::memory`, with every offset
// checked against its length.
#[allow(unsafe_code)]
unsafe impl Lift for InPlace {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> Result<Self> {
        if cx.options().string_encoding != StringEncoding::Utf8 {
            return Ok(check(
                Owned::linear_lift_from_flat(cx, ty, src)?,
                reading()?,
            ));
        }
        let (ptr, len) = (src[0].get_u32() as usize, src[1].get_u32() as usize);
        read(cx, ptr, len)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> Result<Self> {
        if cx.options().string_encoding != StringEncoding::Utf8 {
            return Ok(check(
                Owned::linear_lift_from_memory(cx, ty, bytes)?,
                reading()?,
            ));
        }
        let (ptr, len) = pointer_pair(bytes, 0)?;
        read(cx, ptr, len)
    }
}

/// The reading in effect.
fn reading() -> Result<Reading> {
    match READING.try_with(|r| *r) {
        Ok(reading) => Ok(reading),
        Err(_) => bail!("a plugin's result was read outside of a collect"),
    }
}

/// Validates and encodes `families`.
fn check<S: Text>(mut families: Vec<MetricFamily<S>>, reading: Reading) -> InPlace {
    InPlace(
        block::check_and_encode(&mut families, &reading.limits, Some(reading.deadline))
            .map(|(blocks, stats)| Checked { blocks, stats }),
    )
}

fn read(cx: &mut LiftContext<'_>, ptr: usize, len: usize) -> Result<InPlace> {
    let reading = reading()?;
    let families = Memory { cx }.families(ptr, len)?;
    Ok(check(families, reading))
}

// The canonical ABI layout of the `metrics` types (wasm32): sizes and
// field offsets. `layout_matches_wasmtime` checks the sizes against
// wasmtime's own.
const FAMILY_SIZE: usize = 40;
const FAMILY_ALIGN: usize = 4;
const METRIC_SIZE: usize = 40;
const METRIC_ALIGN: usize = 8;
const LABEL_SIZE: usize = 16;
const LABEL_ALIGN: usize = 4;
/// A histogram's bucket or a summary's quantile: two 8-byte numbers.
const POINT_SIZE: usize = 16;
const POINT_ALIGN: usize = 8;
const STATE_SIZE: usize = 12;
const STATE_ALIGN: usize = 4;

/// The plugin's memory, seen through the lift's context (which charges
/// the hostcall fuel).
struct Memory<'c, 'a> {
    cx: &'c mut LiftContext<'a>,
}

fn pointer_pair(bytes: &[u8], at: usize) -> Result<(usize, usize)> {
    Ok((u32_at(bytes, at)? as usize, u32_at(bytes, at + 4)? as usize))
}

fn u8_at(bytes: &[u8], at: usize) -> Result<u8> {
    match bytes.get(at) {
        Some(b) => Ok(*b),
        None => bail!("read past the end of memory"),
    }
}

fn word_at<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N]> {
    match at.checked_add(N).and_then(|end| bytes.get(at..end)) {
        Some(b) => Ok(b.try_into().expect("N bytes")),
        None => bail!("read past the end of memory"),
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(word_at(bytes, at)?))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(word_at(bytes, at)?))
}

fn f64_at(bytes: &[u8], at: usize) -> Result<f64> {
    Ok(f64::from_le_bytes(word_at(bytes, at)?))
}

impl<'a> Memory<'_, 'a> {
    fn bytes(&self) -> &'a [u8] {
        self.cx.memory()
    }

    /// Checks a list of `len` elements of `size` bytes at `ptr`, and
    /// charges what its host copy of `host_size` bytes each would cost.
    fn list(
        &mut self,
        ptr: usize,
        len: usize,
        size: usize,
        align: usize,
        host: usize,
    ) -> Result<()> {
        match len.checked_mul(size).and_then(|n| ptr.checked_add(n)) {
            Some(end) if end <= self.bytes().len() => {}
            _ => bail!("list pointer/length out of bounds of memory"),
        }
        if !ptr.is_multiple_of(align) {
            bail!("list pointer is not aligned");
        }
        self.cx.consume_fuel_array(len, host)
    }

    /// The string whose pointer and length are at `at`.
    fn string(&mut self, at: usize) -> Result<&'a str> {
        let bytes = self.bytes();
        let (ptr, len) = pointer_pair(bytes, at)?;
        let Some(text) = ptr.checked_add(len).and_then(|end| bytes.get(ptr..end)) else {
            bail!("string pointer/length out of bounds of memory");
        };
        self.cx.consume_fuel(len)?;
        Ok(std::str::from_utf8(text)?)
    }

    fn families(&mut self, ptr: usize, len: usize) -> Result<Vec<MetricFamily<&'a str>>> {
        self.list(
            ptr,
            len,
            FAMILY_SIZE,
            FAMILY_ALIGN,
            size_of::<MetricFamily<&str>>(),
        )?;
        let mut families = Vec::with_capacity(len);
        for i in 0..len {
            let at = ptr + i * FAMILY_SIZE;
            let bytes = self.bytes();
            let name = self.string(at)?;
            let help = self.string(at + 8)?;
            let type_ = metric_type(u8_at(bytes, at + 16)?)?;
            let unit = match u8_at(bytes, at + 20)? {
                0 => None,
                1 => Some(self.string(at + 24)?),
                _ => bail!("invalid option discriminant"),
            };
            let (metrics_ptr, metrics_len) = pointer_pair(bytes, at + 32)?;
            families.push(MetricFamily {
                name,
                help,
                type_,
                unit,
                metrics: self.metrics(metrics_ptr, metrics_len)?,
            });
        }
        Ok(families)
    }

    fn metrics(&mut self, ptr: usize, len: usize) -> Result<Vec<Metric<&'a str>>> {
        self.list(
            ptr,
            len,
            METRIC_SIZE,
            METRIC_ALIGN,
            size_of::<Metric<&str>>(),
        )?;
        let mut metrics = Vec::with_capacity(len);
        for i in 0..len {
            let at = ptr + i * METRIC_SIZE;
            let (labels_ptr, labels_len) = pointer_pair(self.bytes(), at)?;
            let labels = self.labels(labels_ptr, labels_len)?;
            let value = self.value(at + 8)?;
            metrics.push(Metric { labels, value });
        }
        Ok(metrics)
    }

    fn labels(&mut self, ptr: usize, len: usize) -> Result<Vec<Label<&'a str>>> {
        self.list(ptr, len, LABEL_SIZE, LABEL_ALIGN, size_of::<Label<&str>>())?;
        let mut labels = Vec::with_capacity(len);
        for i in 0..len {
            let at = ptr + i * LABEL_SIZE;
            labels.push(Label {
                name: self.string(at)?,
                value: self.string(at + 8)?,
            });
        }
        Ok(labels)
    }

    /// The payload of a histogram or summary at `at`: its list of
    /// 16-byte points (buckets or quantiles), each read by `point` from
    /// its address, then its sum and count.
    fn points<T>(
        &mut self,
        at: usize,
        point: impl Fn(usize) -> Result<T>,
    ) -> Result<(Vec<T>, f64, u64)> {
        let bytes = self.bytes();
        let (ptr, len) = pointer_pair(bytes, at)?;
        self.list(ptr, len, POINT_SIZE, POINT_ALIGN, size_of::<T>())?;
        let points = (0..len)
            .map(|i| point(ptr + i * POINT_SIZE))
            .collect::<Result<_>>()?;
        Ok((points, f64_at(bytes, at + 8)?, u64_at(bytes, at + 16)?))
    }

    /// The `value` variant at `at`: a byte of discriminant, its payload
    /// at the next 8-byte boundary.
    fn value(&mut self, at: usize) -> Result<Value<&'a str>> {
        let bytes = self.bytes();
        let payload = at + 8;
        Ok(match u8_at(bytes, at)? {
            0 => Value::Counter(f64_at(bytes, payload)?),
            1 => Value::Gauge(f64_at(bytes, payload)?),
            2 => Value::Unknown(f64_at(bytes, payload)?),
            3 => {
                let (buckets, sum, count) = self.points(payload, |b| {
                    Ok(Bucket {
                        upper_bound: f64_at(bytes, b)?,
                        count: u64_at(bytes, b + 8)?,
                    })
                })?;
                Value::Histogram(Histogram {
                    buckets,
                    sum,
                    count,
                })
            }
            4 => {
                let (quantiles, sum, count) = self.points(payload, |q| {
                    Ok(Quantile {
                        quantile: f64_at(bytes, q)?,
                        value: f64_at(bytes, q + 8)?,
                    })
                })?;
                Value::Summary(Summary {
                    quantiles,
                    sum,
                    count,
                })
            }
            5 => Value::Info,
            6 => {
                let (ptr, len) = pointer_pair(bytes, payload)?;
                self.list(ptr, len, STATE_SIZE, STATE_ALIGN, size_of::<State<&str>>())?;
                let mut states = Vec::with_capacity(len);
                for i in 0..len {
                    let s = ptr + i * STATE_SIZE;
                    let enabled = match u8_at(bytes, s + 8)? {
                        0 => false,
                        1 => true,
                        _ => bail!("invalid boolean value"),
                    };
                    states.push(State {
                        name: self.string(s)?,
                        enabled,
                    });
                }
                Value::StateSet(states)
            }
            _ => bail!("invalid variant discriminant"),
        })
    }
}

fn metric_type(discriminant: u8) -> Result<MetricType> {
    Ok(match discriminant {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        2 => MetricType::Histogram,
        3 => MetricType::Summary,
        4 => MetricType::Info,
        5 => MetricType::StateSet,
        6 => MetricType::Unknown,
        _ => bail!("unexpected discriminant: {discriminant}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_wasmtime() {
        assert_eq!(FAMILY_SIZE, <MetricFamily as ComponentType>::SIZE32);
        assert_eq!(
            FAMILY_ALIGN as u32,
            <MetricFamily as ComponentType>::ALIGN32
        );
        assert_eq!(METRIC_SIZE, <Metric as ComponentType>::SIZE32);
        assert_eq!(METRIC_ALIGN as u32, <Metric as ComponentType>::ALIGN32);
        assert_eq!(LABEL_SIZE, <Label as ComponentType>::SIZE32);
        assert_eq!(LABEL_ALIGN as u32, <Label as ComponentType>::ALIGN32);
        assert_eq!(POINT_SIZE, <Bucket as ComponentType>::SIZE32);
        assert_eq!(POINT_SIZE, <Quantile as ComponentType>::SIZE32);
        assert_eq!(POINT_ALIGN as u32, <Bucket as ComponentType>::ALIGN32);
        assert_eq!(POINT_ALIGN as u32, <Quantile as ComponentType>::ALIGN32);
        assert_eq!(STATE_SIZE, <State as ComponentType>::SIZE32);
        assert_eq!(STATE_ALIGN as u32, <State as ComponentType>::ALIGN32);
        assert_eq!(
            32,
            <Value as ComponentType>::SIZE32,
            "value: tag, payload at 8"
        );
        assert_eq!(24, <Histogram as ComponentType>::SIZE32);
        assert_eq!(24, <Summary as ComponentType>::SIZE32);
    }
}
