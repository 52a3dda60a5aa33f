module wasm-exporter.dev/sdk/go

go 1.24
