//! The exposition core of wasm_exporter: the OpenMetrics data model, the
//! rules a scrape's output must follow, the merge of several sources into
//! one exposition, and the Prometheus text 0.0.4 and OpenMetrics 1.0.0
//! encoders.
//!
//! In the pipeline of one scrape it is the last half: a plugin's result
//! arrives as a view of [`model::MetricFamily`] values whose text borrows
//! the plugin's memory, is checked and normalised by [`validate`], written
//! once by [`encode`] into [`block::Block`]s, joined with every other
//! plugin's by [`merge`], and cut into the HTTP body's chunks by
//! [`stream`]. The runtime (wasmtime) fills the view; the server (tokio,
//! hyper) sends the chunks. This crate must never depend
//! on either: it has no wasm engine, no async runtime and no HTTP, so it is
//! usable by itself to check or encode exposition (a test that validates
//! what an exporter would serve, a tool that converts families to either
//! format, a fuzz target). The `component-model` feature, enabled only by
//! the runtime, adds wasmtime's derives to the model and nothing else.
//!
//! ```
//! use wasm_exporter_exposition::encode::{Format, encode};
//! use wasm_exporter_exposition::merge::Merge;
//! use wasm_exporter_exposition::model::{Label, MetricFamily, MetricType, Value};
//! use wasm_exporter_exposition::validate::{OutputLimits, validate};
//!
//! let mut depth = MetricFamily::new("queue_depth", "Jobs waiting.", MetricType::Gauge);
//! depth.push(vec![Label::new("queue", "mail")], Value::Gauge(3.0));
//! let mut families = vec![depth];
//! validate(&mut families, &OutputLimits::default()).expect("well-formed");
//!
//! let mut merge = Merge::new(&[]);
//! merge.add("queue", families).expect("no conflict");
//! let text = encode(&merge.finish(), Format::OpenMetrics);
//! assert_eq!(
//!     String::from_utf8(text).unwrap(),
//!     "# TYPE queue_depth gauge\n# HELP queue_depth Jobs waiting.\nqueue_depth{queue=\"mail\"} 3\n# EOF\n"
//! );
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod block;
pub mod encode;
pub mod merge;
pub mod model;
pub mod stream;
pub mod validate;
