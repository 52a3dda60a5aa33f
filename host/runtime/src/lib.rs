//! The runtime of wasm_exporter: everything that touches wasmtime.
//!
//! In the pipeline of one scrape it is the middle: a plugin file becomes a
//! compiled, linked [`load::PluginVersion`] (once, off the scrape path, with
//! [`cache`] keeping compiled code across restarts), and each scrape runs
//! that version's `collect` in a fresh sandbox under its limits and checks
//! the output with the exposition core's validator, giving an
//! [`outcome::Outcome`]. The modules, from the bottom up:
//!
//! - [`limits`]: every limit a plugin runs under, with its default;
//! - [`grants`]: what a plugin may reach, parsed and checked;
//! - [`budget`] and [`pool`]: the host memory and the instance-pool slots
//!   a call must hold before it runs, waited for rather than failed for;
//! - [`outcome`]: failure reasons and outcomes, the words every later step
//!   uses;
//! - [`bindings`]: the WIT contract, with the metric model mapped onto the
//!   exposition core's types;
//! - [`log`]: each plugin's log budget;
//! - [`sandbox`]: the per-call store state: WASI that grants nothing,
//!   memory accounting, captured output, host work owed;
//! - [`host_calls`]: the `host` interface, metered and bounded;
//! - [`capabilities`]: the grants enforced, one module per capability
//!   (HTTP, sockets and name lookup, files, environment, `fs-stats`);
//! - [`cache`], [`compiler`] and [`engine`]: the one engine and linker,
//!   the plugin threads, the compile cache, and compiling in a child
//!   process so that the compiler's memory goes back to the system;
//! - [`read`]: a plugin's result read in its memory, checked and encoded
//!   before the call returns;
//! - [`instance`]: the one instantiate-and-call path, with failures
//!   classified;
//! - [`load`]: a `.wasm` file to a [`load::PluginVersion`];
//! - [`collect`]: one scrape of one plugin, validated.
//!
//! It depends on the exposition core below it and must never depend on the
//! server above it: no HTTP, no configuration file, no registry. It knows
//! plugins one at a time; which plugins exist and when they change is the
//! server's business.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod bindings;
pub mod budget;
pub mod cache;
pub mod capabilities;
pub mod collect;
pub mod compiler;
pub mod engine;
pub mod grants;
pub mod host_calls;
pub mod instance;
pub mod limits;
pub mod load;
pub mod log;
pub mod outcome;
pub mod pool;
pub mod read;
pub mod sandbox;

pub use bindings::model;

/// The wasmtime version this runtime embeds.
pub const WASMTIME_VERSION: &str = "48.0.8";
