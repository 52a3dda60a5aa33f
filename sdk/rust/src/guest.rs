//! The glue between [`Collector`] and the generated component bindings:
//! what `export_collector!` exports, and the conversions to the WIT types.

use std::marker::PhantomData;
use std::time::Duration;

use crate::bindings::exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use crate::bindings::wasm_exporter::collector::metrics as wit;
use crate::{Collector, Descriptor, Family, MetricType, Request, Value};

/// Implements the exported interface for a [`Collector`].
pub struct Adapter<C>(PhantomData<C>);

impl<C: Collector> Guest for Adapter<C> {
    fn describe() -> Vec<wit::Descriptor> {
        C::describe().into_iter().map(descriptor).collect()
    }

    fn collect(request: CollectRequest) -> Result<Vec<wit::MetricFamily>, String> {
        let request = Request {
            target: request.target,
            params: request.params,
            timeout: Duration::from_millis(request.timeout_ms),
        };
        C::collect(&request).map(|families| families.into_iter().map(family).collect())
    }
}

fn metric_type(metric_type: MetricType) -> wit::MetricType {
    match metric_type {
        MetricType::Counter => wit::MetricType::Counter,
        MetricType::Gauge => wit::MetricType::Gauge,
        MetricType::Histogram => wit::MetricType::Histogram,
        MetricType::Summary => wit::MetricType::Summary,
        MetricType::Info => wit::MetricType::Info,
        MetricType::StateSet => wit::MetricType::StateSet,
        MetricType::Unknown => wit::MetricType::Unknown,
    }
}

fn descriptor(descriptor: Descriptor) -> wit::Descriptor {
    wit::Descriptor {
        name: descriptor.name,
        help: descriptor.help,
        type_: metric_type(descriptor.metric_type),
        unit: descriptor.unit,
        label_names: descriptor.label_names,
    }
}

fn family(family: Family) -> wit::MetricFamily {
    let (name, help, kind, unit, series) = family.into_parts();
    let metrics = series
        .into_iter()
        .map(|series| wit::Metric {
            labels: series
                .labels
                .into_iter()
                .map(|(name, value)| wit::Label { name, value })
                .collect(),
            value: value(series.value),
        })
        .collect();
    wit::MetricFamily {
        name,
        help,
        type_: metric_type(kind),
        unit,
        metrics,
    }
}

fn value(value: Value) -> wit::Value {
    match value {
        Value::Counter(v) => wit::Value::Counter(v),
        Value::Gauge(v) => wit::Value::Gauge(v),
        Value::Unknown(v) => wit::Value::Unknown(v),
        Value::Histogram(histogram) => {
            let (buckets, sum, count) = histogram.into_parts();
            wit::Value::Histogram(wit::Histogram {
                buckets: buckets
                    .into_iter()
                    .map(|(upper_bound, count)| wit::Bucket { upper_bound, count })
                    .collect(),
                sum,
                count,
            })
        }
        Value::Summary(summary) => {
            let (quantiles, sum, count) = summary.into_parts();
            wit::Value::Summary(wit::Summary {
                quantiles: quantiles
                    .into_iter()
                    .map(|(quantile, value)| wit::Quantile { quantile, value })
                    .collect(),
                sum,
                count,
            })
        }
        Value::Info => wit::Value::Info,
        Value::StateSet(states) => wit::Value::StateSet(
            states
                .into_iter()
                .map(|(name, enabled)| wit::State { name, enabled })
                .collect(),
        ),
    }
}
