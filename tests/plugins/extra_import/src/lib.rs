//! A collector that also imports an interface the host does not provide
//! (`acme:vault/secrets@1.0.0`): it must fail to load with a message that
//! names that interface.

wit_bindgen::generate!({
    path: ["../../../wit", "wit"],
    world: "acme:vault/plugin-with-vault@1.0.0",
    generate_all,
});

use acme::vault::secrets;
use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::metrics::{Descriptor, MetricFamily};

struct ExtraImport;

impl Guest for ExtraImport {
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        Err(secrets::get("password"))
    }
}

export!(ExtraImport);
