//! Integration tests: the real `wasm_exporter` binary against built plugins
//! (`cargo xtask plugins` builds them into `target/plugins` and
//! `target/test-plugins`).

mod common;

mod cli;
mod clients;
mod concurrency;
mod config;
mod conformance;
mod deploy;
mod example_config;
#[allow(dead_code)]
#[path = "../exposition/expfmt.rs"]
mod expfmt;
mod exposition;
mod fuzz_plugin;
mod grants;
mod host_calls;
mod hostile;
mod hostile_output;
mod hot_swap;
mod http;
mod http_json_plugin;
mod http_probe_plugin;
mod load_errors;
mod nginx_plugin;
mod node_plugin;
mod pool;
mod prometheus;
mod properties;
mod redis_plugin;
mod reuse;
mod sdk_c;
mod sdk_go;
mod sdk_js;
mod sdk_python;
mod sdk_zig;
mod startup;
mod status_page;
mod systems;
mod tenants;
mod web_config;
