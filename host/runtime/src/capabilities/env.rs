//! Environment variables: the granted names, with the host's values. A
//! name not granted is simply absent, as in an empty environment.

use wasmtime_wasi::WasiCtxBuilder;

use crate::sandbox::Reach;

/// Sets the granted variables that the host has.
pub fn open(builder: &mut WasiCtxBuilder, reach: &Reach) {
    for name in &reach.grants().env {
        if let Ok(value) = std::env::var(name) {
            builder.env(name, value);
        }
    }
}
