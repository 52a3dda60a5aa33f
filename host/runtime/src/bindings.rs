//! Host bindings of the WIT package `wasm-exporter:collector`.
//!
//! The `metrics` interface is not generated here: it is mapped onto the
//! exposition core's model ([`metrics`]), whose types derive wasmtime's
//! `Lift` and `Lower` (the core's `component-model` feature). A plugin's
//! result is therefore lifted straight into the types that the validator,
//! the merge and the encoders work on, with no second copy per series.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "plugin",
        exports: { default: async },
        additional_derives: [PartialEq],
        with: {
            "wasm-exporter:collector/metrics": crate::bindings::metrics,
        },
    });
}
pub use generated::*;

/// The WIT package version this host implements. It runs plugins built
/// against any `0.1.x` (interfaces are matched by semver).
pub const WIT_VERSION: &str = "0.1.1";

/// The versions of the package this host accepts: `0.1.x`.
pub const WIT_VERSION_ACCEPTED: &str = "0.1";

/// The interface a plugin must export, with its version.
pub const COLLECTOR_EXPORT: &str = "wasm-exporter:collector/collector@0.1.1";

/// The interface holding the metric types, with its version.
pub const METRICS_INTERFACE: &str = "wasm-exporter:collector/metrics@0.1.1";

/// The `host` interface, with its version.
pub const HOST_INTERFACE: &str = "wasm-exporter:collector/host@0.1.1";

/// The `fs-stats` interface, with its version.
pub const FS_STATS_INTERFACE: &str = "wasm-exporter:collector/fs-stats@0.1.1";

/// The `metrics` interface as the generated bindings see it: the exposition
/// core's model, plus the (empty) host side of an interface that has types
/// and no functions.
pub mod metrics {
    use wasmtime::component::{HasData, Linker};

    pub use wasm_exporter_exposition::model::{
        Bucket, Descriptor, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State,
        Summary, Value,
    };

    /// The host side of `metrics`: nothing to implement, it declares types
    /// only, so every store state has it.
    pub trait Host {}

    impl<T: ?Sized> Host for T {}

    /// [`Host`] for calls that take the store: likewise empty.
    pub trait HostWithStore<T>: HasData {}

    impl<D: HasData, T> HostWithStore<T> for D {}

    /// Defines the (function-less) `metrics` instance a plugin imports.
    pub fn add_to_linker<T, D>(
        linker: &mut Linker<T>,
        _host_getter: fn(&mut T) -> D::Data<'_>,
    ) -> wasmtime::Result<()>
    where
        D: HasData,
        for<'a> D::Data<'a>: Host,
        T: 'static + Send,
    {
        linker.instance(super::METRICS_INTERFACE)?;
        Ok(())
    }
}

/// The types every later step works with, so no other module names the
/// generated paths.
pub mod model {
    pub use super::exports::wasm_exporter::collector::collector::CollectRequest;
    pub use super::wasm_exporter::collector::host::Level;
    pub use wasm_exporter_exposition::model::*;
}
