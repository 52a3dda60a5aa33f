//! wasm_exporter's server: the configuration, the registries of plugins,
//! hot swap, the scrape of many plugins, the host's own series, the HTTP
//! endpoints and the `wasm_exporter` binary.
//!
//! In the pipeline of one scrape it is the first and the last step: an
//! HTTP request becomes a selection of registered plugins, each plugin is
//! run by the runtime (`wasm_exporter_runtime`), the outcomes are merged
//! with the host's own series by the exposition core
//! (`wasm_exporter_exposition`), and the encoded exposition is streamed
//! back. The modules, from the bottom up:
//!
//! - [`probe`]: the targets a probe plugin may be asked about, and the
//!   probe's own series;
//! - [`config`]: the configuration file and the plugin set it describes;
//! - [`stats`]: each plugin's counters and last state, kept across
//!   versions;
//! - [`reuse`]: a plugin's results reused: the cache, calls shared by
//!   concurrent scrapes, stale results on error, and back-off;
//! - [`registry`]: the set of plugins a scrape sees, changeable while
//!   scrapes run;
//! - [`tenants`]: registries of their own behind credentials of their own;
//! - [`reload`]: hot swap: watching files, reloading on demand, replacing a
//!   plugin only by a version that loads and passes the smoke test;
//! - [`health`] and [`process`]: the host's own series;
//! - [`scrape`]: every selected plugin of one request, collected
//!   concurrently and merged;
//! - [`auth`] and [`web_config`]: credentials, and exporter-toolkit's web
//!   configuration (TLS, mutual TLS, basic auth, headers);
//! - [`connections`] and [`http`]: the HTTP server, its connections
//!   bounded in number and time;
//! - [`log`]: the host's log format;
//! - [`describe`]: a plugin's reference of its metrics, for its authors.
//!
//! It sits on top: nothing below may depend on it. The wasm engine stays
//! behind the runtime's API (no `wasmtime` import here), and the metric
//! model, validation and encoders are the exposition core's.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod connections;
pub mod describe;
pub mod health;
pub mod http;
pub mod lint;
pub mod log;
pub mod probe;
pub mod process;
pub mod registry;
pub mod reload;
pub mod reuse;
pub mod scaffold;
pub mod scrape;
pub mod shown;
pub mod stats;
pub mod status;
pub mod tenants;
pub mod web_config;

pub use wasm_exporter_exposition as exposition;
pub use wasm_exporter_runtime as runtime;

/// This host's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
