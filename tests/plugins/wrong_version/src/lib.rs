//! A collector built against a future, incompatible version of the WIT
//! package (`wasm-exporter:collector@0.2.0`, otherwise identical), which the
//! host must refuse to load.

wit_bindgen::generate!({
    inline: r"
        package wasm-exporter:collector@0.2.0;

        interface metrics {
            enum metric-type { counter, gauge, histogram, summary, info, state-set, unknown }
            record label { name: string, value: string }
            record bucket { upper-bound: f64, count: u64 }
            record histogram { buckets: list<bucket>, sum: f64, count: u64 }
            record quantile { quantile: f64, value: f64 }
            record summary { quantiles: list<quantile>, sum: f64, count: u64 }
            record state { name: string, enabled: bool }
            variant value {
                counter(f64),
                gauge(f64),
                unknown(f64),
                histogram(histogram),
                summary(summary),
                info,
                state-set(list<state>),
            }
            record metric { labels: list<label>, value: value }
            record metric-family {
                name: string,
                help: string,
                %type: metric-type,
                unit: option<string>,
                metrics: list<metric>,
            }
            record descriptor {
                name: string,
                help: string,
                %type: metric-type,
                unit: option<string>,
                label-names: list<string>,
            }
        }

        interface host {
            enum level { trace, debug, info, warn, error }
            log: func(level: level, message: string);
            config: func() -> list<tuple<string, string>>;
            config-get: func(key: string) -> option<string>;
        }

        interface collector {
            use metrics.{metric-family, descriptor};
            record collect-request {
                target: option<string>,
                params: list<tuple<string, string>>,
                timeout-ms: u64,
            }
            describe: func() -> list<descriptor>;
            collect: func(request: collect-request) -> result<list<metric-family>, string>;
        }

        world plugin {
            import host;
            export collector;
        }
    ",
    world: "plugin",
});

use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::host::{Level, log};
use wasm_exporter::collector::metrics::{Descriptor, Metric, MetricFamily, MetricType, Value};

struct WrongVersion;

impl Guest for WrongVersion {
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        log(Level::Info, "collecting from a 0.2.0 plugin");
        Ok(vec![MetricFamily {
            name: "wrong_version".to_owned(),
            help: "Served only by a host that accepts 0.2.0.".to_owned(),
            type_: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: Vec::new(),
                value: Value::Gauge(1.0),
            }],
        }])
    }
}

export!(WrongVersion);
