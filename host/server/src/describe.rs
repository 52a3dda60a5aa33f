//! A plugin's reference: the metric families its `describe` declares, as
//! Markdown (a table to paste into its README) or JSON (for tools), for
//! `wasm_exporter describe PLUGIN.wasm`.

use wasm_exporter_exposition::model::Descriptor;

/// The families of plugin `name` as a Markdown section: a heading and one
/// table row per family, sorted by name.
pub fn markdown(name: &str, descriptors: &[Descriptor]) -> String {
    let mut out = format!("# {name}\n\n");
    if descriptors.is_empty() {
        out.push_str("The plugin describes no metric families.\n");
        return out;
    }
    out.push_str("| metric | type | unit | labels | help |\n|---|---|---|---|---|\n");
    for d in sorted(descriptors) {
        let labels: Vec<String> = d.label_names.iter().map(|l| format!("`{l}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            d.name,
            d.type_.as_str(),
            d.unit.as_deref().unwrap_or(""),
            labels.join(", "),
            cell(&d.help)
        ));
    }
    out
}

/// The families of plugin `name` as one JSON object.
pub fn json(name: &str, descriptors: &[Descriptor]) -> String {
    let metrics: Vec<serde_json::Value> = sorted(descriptors)
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "name": d.name,
                "type": d.type_.as_str(),
                "unit": d.unit,
                "labels": d.label_names,
                "help": d.help,
            })
        })
        .collect();
    let value = serde_json::json!({ "plugin": name, "metrics": metrics });
    format!("{value:#}\n")
}

fn sorted(descriptors: &[Descriptor]) -> Vec<&Descriptor> {
    let mut sorted: Vec<&Descriptor> = descriptors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    sorted
}

/// `text` fit for one table cell: pipes escaped, lines joined.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .split(['\n', '\r'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_exposition::model::MetricType;

    fn descriptor(name: &str, help: &str, labels: &[&str]) -> Descriptor {
        Descriptor {
            name: name.into(),
            help: help.into(),
            type_: MetricType::Counter,
            unit: Some("seconds".into()),
            label_names: labels.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn markdown_is_one_row_per_family_sorted_with_cells_escaped() {
        let out = markdown(
            "demo",
            &[
                descriptor("z_seconds_total", "Time.", &[]),
                descriptor("a_seconds_total", "a | b\nsecond line", &["queue", "le"]),
            ],
        );
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(
            rows,
            [
                "| `a_seconds_total` | counter | seconds | `queue`, `le` | a \\| b second line |",
                "| `z_seconds_total` | counter | seconds |  | Time. |",
            ]
        );
        assert!(out.starts_with("# demo\n"));
        assert!(markdown("empty", &[]).contains("describes no metric families"));
    }

    #[test]
    fn json_holds_every_field() {
        let out = json("demo", &[descriptor("a_seconds_total", "A.", &["q"])]);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["plugin"], "demo");
        let metric = &value["metrics"][0];
        assert_eq!(metric["name"], "a_seconds_total");
        assert_eq!(metric["type"], "counter");
        assert_eq!(metric["unit"], "seconds");
        assert_eq!(metric["labels"][0], "q");
        assert_eq!(metric["help"], "A.");
    }
}
