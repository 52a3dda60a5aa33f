//! wasm_exporter: a Prometheus exporter whose collectors are sandboxed
//! WebAssembly components.
//!
//! The modules follow one scrape from request to response:
//!
//! - [`config`]: the configuration file and the plugin set it describes;
//! - [`load`]: a `.wasm` file becomes a [`load::PluginVersion`] (compiled and
//!   linked once, never on the scrape path, with [`cache`] keeping compiled
//!   code across restarts);
//! - [`reload`]: hot swap: watching files, reloading on demand, replacing a
//!   plugin only by a version that loads and passes a smoke check;
//! - [`registry`]: the set of plugins a scrape sees, changeable while scrapes
//!   run;
//! - [`sandbox`]: the per-scrape store of one plugin: WASI that grants
//!   nothing, memory accounting, captured output, the `host` import;
//! - [`collect`]: one plugin's `collect` under fuel, deadline and memory
//!   limits, with the failure classified;
//! - [`validate`]: the rules a plugin's output must follow;
//! - [`merge`]: every plugin's families into one sorted, conflict-free set;
//! - [`health`] and [`process`]: the host's own series;
//! - [`scrape`]: the steps above, run for every plugin of one request;
//! - [`encode`]: text 0.0.4 and OpenMetrics exposition, streamed;
//! - [`http`]: the HTTP server.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod bindings;
pub mod cache;
pub mod collect;
pub mod config;
pub mod encode;
pub mod engine;
pub mod health;
pub mod http;
pub mod limits;
pub mod load;
pub mod log;
pub mod merge;
pub mod process;
pub mod registry;
pub mod reload;
pub mod sandbox;
pub mod scrape;
pub mod validate;

pub use bindings::model;

/// This host's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
