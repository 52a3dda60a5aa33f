//! Returns a configurable number of gauge series, for benchmarks.
//!
//! Config keys: `families` (default 1), `series` per family (default 1000)
//! `labels` per series (default 2) and `prefix` of the family names
//! (default `bench_series`, so several copies can be served side by side),
//! and `first_label`, the name of the first label (default `l0`).
//! Family `f` is `<prefix>_<f>`;
//! series `i` has labels (at most 8) `l0="s<i>"`, `l1="v1"`, ... and the value `i`.

use wasm_exporter_sdk::{Collector, Family, Request, config_get, export_collector};

struct BenchSeries;

/// The most labels per series this plugin writes.
const MAX_LABELS: usize = 8;

fn setting(key: &str, default: usize) -> Result<usize, String> {
    match config_get(key) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|e| format!("config {key}={value:?}: {e}")),
    }
}

impl Collector for BenchSeries {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let families = setting("families", 1)?;
        let series = setting("series", 1000)?;
        let labels = setting("labels", 2)?;
        let prefix = config_get("prefix").unwrap_or_else(|| "bench_series".into());

        let first_label = config_get("first_label").unwrap_or_else(|| "l0".into());
        let names: Vec<String> = (0..labels)
            .map(|k| match k {
                0 => first_label.clone(),
                k => format!("l{k}"),
            })
            .collect();
        let constants: Vec<String> = (0..labels).map(|k| format!("v{k}")).collect();
        if labels > MAX_LABELS {
            return Err(format!("config labels={labels}: at most {MAX_LABELS}"));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let template: Vec<&str> = constants.iter().map(String::as_str).collect();
        let mut out = Vec::with_capacity(families);
        for f in 0..families {
            let mut family = Family::gauge(format!("{prefix}_{f}"), "Synthetic series.")
                .with_label_names(&names);
            let mut first = SeriesLabel::new();
            for i in 0..series {
                let mut row = [""; MAX_LABELS];
                let row = &mut row[..labels];
                row.copy_from_slice(&template);
                if let Some(label) = row.first_mut() {
                    *label = first.as_str();
                }
                family.add_values(row, i as f64);
                first.advance();
            }
            out.push(family);
        }
        Ok(out)
    }
}

/// The label value `s<i>` of series `i`, counted up in place like an
/// odometer: formatting each number afresh would cost more than adding the
/// series it labels.
struct SeriesLabel(String);

impl SeriesLabel {
    fn new() -> Self {
        SeriesLabel("s0".to_owned())
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    /// Adds one: trailing nines become zeros, the digit before them goes
    /// up by one (or a 1 is put in front of them).
    fn advance(&mut self) {
        let mut nines = 0;
        while self.0.ends_with('9') {
            self.0.pop();
            nines += 1;
        }
        match self.0.pop() {
            Some(digit @ '0'..='8') => self.0.push(char::from(digit as u8 + 1)),
            Some(prefix) => {
                self.0.push(prefix);
                self.0.push('1');
            }
            None => unreachable!("the label starts with `s`"),
        }
        for _ in 0..nines {
            self.0.push('0');
        }
    }
}

export_collector!(BenchSeries);
