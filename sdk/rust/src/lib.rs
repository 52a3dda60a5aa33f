//! Write wasm_exporter collector plugins in Rust.
//!
//! A plugin is a WebAssembly component that the host instantiates afresh on
//! every scrape and asks for metric families. With this crate a plugin is
//! one type implementing [`Collector`] plus one [`export_collector!`] line;
//! the component-model plumbing stays inside the SDK.
//!
//! ```
//! use std::time::{SystemTime, UNIX_EPOCH};
//!
//! use wasm_exporter_sdk::{export_collector, info, Collector, Family, Histogram, Request};
//!
//! struct Queues;
//!
//! impl Collector for Queues {
//!     fn collect(request: &Request) -> Result<Vec<Family>, String> {
//!         let now = SystemTime::now()
//!             .duration_since(UNIX_EPOCH)
//!             .map_err(|e| e.to_string())?
//!             .as_secs_f64();
//!         info!("collecting with {:?} left", request.timeout);
//!
//!         let mut depth = Family::gauge("queue_depth", "Jobs waiting per queue.");
//!         let mut done = Family::counter("queue_jobs_processed_total", "Jobs processed per queue.");
//!         for (queue, rate) in [("mail", 3.0), ("billing", 0.5)] {
//!             depth = depth.with(&[("queue", queue)], (now % 7.0).floor());
//!             done = done.with(&[("queue", queue)], (now * rate).floor());
//!         }
//!         let wait = Family::histogram("queue_wait_seconds", "Time jobs waited.")
//!             .with_unit("seconds")
//!             .with_histogram(&[], Histogram::from_observations(&[0.1, 1.0], [0.05, 0.3, 2.0]));
//!         let build = Family::info("queue_build", "Build of the queue service.")
//!             .with_info(&[("version", "1.4.2")]);
//!         Ok(vec![depth, done, wait, build])
//!     }
//! }
//!
//! export_collector!(Queues);
//! # let families = Queues::collect(&Request::default()).unwrap();
//! # assert_eq!(families.len(), 4);
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip2`; the resulting `.wasm` file is
//! the plugin:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! wasm-exporter-sdk = "0.1"
//! ```
//!
//! ```text
//! cargo build --release --target wasm32-wasip2
//! ```
//!
//! # What a collector may rely on
//!
//! - [`Collector::collect`] runs on a fresh instance on every scrape: nothing
//!   survives between scrapes, so build every family from scratch. The wall
//!   clock (`std::time::SystemTime`) works.
//! - [`log`] and the [`trace!`], [`debug!`], [`info!`], [`warn!`] and
//!   [`error!`] macros write to the host's structured log; stdout and
//!   stderr end up there too.
//! - [`config`] and [`config_get`] return the key/value configuration the
//!   operator gave this plugin.
//! - Everything else (files, network, environment) is denied unless the
//!   operator grants it; WASI calls then fail with ordinary errors. Thin
//!   layers over the standard interfaces help with what can be granted:
//!   [`http`] (feature `http`, over `waki`), [`net`] for TCP line
//!   protocols, [`fs`] for granted files, [`statfs`] for granted mount
//!   points, and [`json`] (feature `json`) for JSON APIs.
//! - Returning `Err` marks the plugin down for that scrape with the message
//!   as the reason; a panic does too, less readably.
#![deny(missing_docs)]

mod abi;
mod family;
pub mod fs;
mod histogram;
mod host;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "json")]
pub mod json;
pub mod net;
mod request;

pub use family::{Descriptor, Family, MetricType, Series, Value};
pub use histogram::{DEFAULT_BUCKETS, Histogram, Summary, exponential_buckets, linear_buckets};
pub use host::{FsStats, Level, config, config_get, log, statfs};
pub use request::Request;

/// A collector plugin: what the host calls on each scrape.
///
/// Implement it on a unit struct and export that with
/// [`export_collector!`]. The functions take no `self`: the host creates a
/// new instance for every call, so there is no state to keep.
pub trait Collector {
    /// The families this collector may return, for the host's documentation
    /// and load-time conflict checks. Called once when the plugin is loaded.
    /// The default describes nothing.
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    /// Collects fresh metrics for one scrape. `Err` marks the plugin down for
    /// this scrape, with the message as the reason.
    fn collect(request: &Request) -> Result<Vec<Family>, String>;
}

/// Exports a [`Collector`] as this component's `collector` interface.
///
/// Use it once per plugin crate, at the top level:
///
/// ```
/// # use wasm_exporter_sdk::{export_collector, Collector, Family, Request};
/// struct Empty;
///
/// impl Collector for Empty {
///     fn collect(_: &Request) -> Result<Vec<Family>, String> {
///         Ok(Vec::new())
///     }
/// }
///
/// export_collector!(Empty);
/// ```
#[macro_export]
macro_rules! export_collector {
    ($collector:ty) => {
        const _: () = {
            #[unsafe(export_name = "wasm-exporter:collector/collector@0.1.1#describe")]
            unsafe extern "C" fn __wasm_exporter_describe() -> *mut u8 {
                $crate::__private::start();
                $crate::__private::describe::<$collector>()
            }

            #[unsafe(export_name = "cabi_post_wasm-exporter:collector/collector@0.1.1#describe")]
            unsafe extern "C" fn __wasm_exporter_describe_post_return(_: *mut u8) {
                $crate::__private::release();
            }

            #[unsafe(export_name = "wasm-exporter:collector/collector@0.1.1#collect")]
            unsafe extern "C" fn __wasm_exporter_collect(
                target_case: i32,
                target_at: *mut u8,
                target_len: usize,
                params_at: *mut u8,
                params_len: usize,
                timeout_ms: i64,
            ) -> *mut u8 {
                $crate::__private::start();
                // SAFETY: the host calls this export as the canonical ABI
                // says, with what it allocated for the request.
                unsafe {
                    $crate::__private::collect::<$collector>(
                        target_case,
                        target_at,
                        target_len,
                        params_at,
                        params_len,
                        timeout_ms,
                    )
                }
            }

            #[unsafe(export_name = "cabi_post_wasm-exporter:collector/collector@0.1.1#collect")]
            unsafe extern "C" fn __wasm_exporter_collect_post_return(_: *mut u8) {
                $crate::__private::release();
            }
        };
    };
}

/// Generated bindings of the WIT package (the imports, and the world's
/// type, which the exports above implement); not part of the public API.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        default_bindings_module: "::wasm_exporter_sdk::bindings",
    });
}

/// What [`export_collector!`] expands to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::{collect, describe, release};

    /// What every export does first: runs the static constructors once
    /// (the C library's, which may call imports), and keeps the section
    /// that describes this component's world in the linked module.
    pub fn start() {
        #[cfg(target_arch = "wasm32")]
        wit_bindgen::rt::run_ctors_once();
        crate::bindings::__link_custom_section_describing_imports();
    }
}
