module wasm-exporter.dev/sdk/go/testdata/behaviour

go 1.24

require wasm-exporter.dev/sdk/go v0.0.0

replace wasm-exporter.dev/sdk/go => ../..
