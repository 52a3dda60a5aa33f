//! Reflects the request and its configuration back as series, so host
//! tests can check what reached the plugin.
//!
//! - `echo_request_info{target}` 1 (no label on a plain scrape);
//! - `echo_request_param{position,name,value}` 1 per query parameter;
//! - `echo_timeout_ms` the time left when the call started;
//! - `echo_config{key,value}` 1 per configuration entry.

use wasm_exporter_sdk::{Collector, Family, Request, config, export_collector};

struct EchoRequest;

impl Collector for EchoRequest {
    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let target: &[(&str, &str)] = match &request.target {
            Some(target) => &[("target", target.as_str())],
            None => &[],
        };
        let info = Family::gauge("echo_request_info", "The request's target.").with(target, 1.0);

        let mut params = Family::gauge("echo_request_param", "The request's query parameters.");
        for (position, (name, value)) in request.params.iter().enumerate() {
            let position = position.to_string();
            params = params.with(
                &[("position", &position), ("name", name), ("value", value)],
                1.0,
            );
        }

        let timeout = Family::gauge("echo_timeout_ms", "Milliseconds left when collect began.")
            .with(&[], request.timeout.as_millis() as f64);

        let mut entries = Family::gauge("echo_config", "The plugin's configuration entries.");
        for (key, value) in config() {
            entries = entries.with(&[("key", &key), ("value", &value)], 1.0);
        }
        Ok(vec![info, params, timeout, entries])
    }
}

export_collector!(EchoRequest);
