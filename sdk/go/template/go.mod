module example.com/myplugin

go 1.24

require wasm-exporter.dev/sdk/go v0.0.0

// Where the SDK is: this repository's sdk/go. Point it at your copy when
// the plugin lives elsewhere.
replace wasm-exporter.dev/sdk/go => ../
