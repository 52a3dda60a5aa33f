module wasm-exporter.dev/conformance

go 1.24

require wasm-exporter.dev/sdk/go v0.0.0

replace wasm-exporter.dev/sdk/go => ../../../sdk/go
