//go:build !wasip1

package prometheus

// deferPanics: natively, MustRegister panics as client_golang's does.
const deferPanics = false
