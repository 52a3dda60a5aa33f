//! The conformance suite, run against the conformance plugin of every
//! language (`tests/conformance/README.md`): the same exposition as the
//! Rust one, byte for byte, in both formats and through the reference
//! parser; health series; `err`, log records and configuration reaching
//! the host; and an infinite loop, a memory bomb and a panic written in
//! that language stopped with the right reason while the rest serves.

use std::path::PathBuf;

use crate::common::{Exposition, Host, TempDir, collect_command, test_plugin};
use crate::exposition::parse_with_python;

/// The configuration every conformance plugin gets (sorted by key, as the
/// host hands it over), with characters the exposition must escape, and
/// the benchmarks' `series` key (three `conformance_bench` series).
const CONFIG: [(&str, &str); 3] = [
    ("greeting", "hello"),
    ("series", "3"),
    ("zone", "eu \"west\" 1"),
];

fn plugin(language: &str) -> PathBuf {
    test_plugin(&format!("conformance_{language}"))
}

/// `wasm_exporter collect` of a conformance plugin with [`CONFIG`], its
/// `language` label set to Rust's so the plugins can be compared.
fn collect(language: &str, format: &str) -> String {
    let mut command = collect_command(&plugin(language));
    for (key, value) in CONFIG {
        command.arg("--config").arg(format!("{key}={value}"));
    }
    let out = command.args(["--format", format]).output().unwrap();
    assert!(
        out.status.success(),
        "collect of the {language} conformance plugin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(&format!("language=\"{language}\""), "language=\"rust\"")
}

/// Same output as the Rust plugin, in both formats, and both parse with
/// prometheus_client's parsers.
fn serves_what_rust_serves(language: &str) {
    for format in ["text", "openmetrics"] {
        let reference = collect("rust", format);
        let output = collect(language, format);
        assert_eq!(
            output, reference,
            "the {language} conformance plugin's {format} output differs from the Rust one's"
        );
        let parsed = parse_with_python(format, &output);
        let families = parsed["families"].as_object().unwrap();
        assert_eq!(families.len(), 10, "{format}: {families:?}");
    }
    let text = collect(language, "text");
    for (key, value) in CONFIG {
        let value = value.replace('"', "\\\"");
        assert!(
            text.contains(&format!(
                "conformance_config{{key=\"{key}\",value=\"{value}\"}} 1"
            )),
            "configuration {key} did not arrive:\n{text}"
        );
    }
    assert!(
        text.contains("conformance_bench{index=\"2\"} 2\n"),
        "no conformance_bench series for series=3:\n{text}"
    );
}

/// The reasons one hostile copy of the plugin failed for, over the
/// scrapes so far (it must be down now).
fn reasons_of(scrape: &Exposition, name: &str) -> Vec<&'static str> {
    assert_eq!(scrape.up(name), Some(0.0), "{name} should be down");
    let reasons = ["timeout", "fuel", "memory", "trap", "error"];
    reasons
        .into_iter()
        .filter(|r| scrape.failures(name, r) > 0.0)
        .collect()
}

/// The one reason a hostile copy of the plugin failed for.
fn reason_of(scrape: &Exposition, name: &str) -> &'static str {
    let failed = reasons_of(scrape, name);
    assert_eq!(failed.len(), 1, "{name} failed for {failed:?}");
    failed[0]
}

/// Whether a logfmt line has the field `key=value` exactly.
fn has_field(line: &str, key: &str, value: &str) -> bool {
    line.split(' ')
        .any(|field| field == format!("{key}={value}"))
}

/// One host serving the plugin as written, and four copies of it
/// configured to fail (`mode`), beside a Rust plugin.
fn survives_its_own_failures(language: &str) {
    let dir = TempDir::new(&format!("conformance_{language}"));
    dir.add("plugin", &plugin(language));
    dir.add("all_types", &test_plugin("all_types"));
    let name = format!("conformance_{language}");
    let config: String = CONFIG
        .iter()
        .map(|(k, v)| format!("{k}: '{v}', "))
        .collect();
    let mut yaml = format!(
        "plugins:\n  - {{ name: {name}, path: plugin.wasm, config: {{ {config} }} }}\n  \
         - {{ path: all_types.wasm }}\n"
    );
    for mode in ["error", "loop", "membomb", "panic"] {
        // Short enough that a loop ends the test quickly even where fuel
        // lasts longer; no race: `timeout` and `fuel` both pass below.
        yaml.push_str(&format!(
            "  - {{ name: {name}_{mode}, path: plugin.wasm, config: {{ mode: {mode} }}, \
             limits: {{ timeout: 3s }} }}\n"
        ));
    }
    let file = dir.path().join("config.yml");
    std::fs::write(&file, &yaml).unwrap();
    let args = vec!["--config.file".into(), file.into()];
    let host = Host::start_with(dir, TempDir::shared_cache(), args, &[]);
    let mut panicked = "";
    for round in 0..2 {
        let scrape = host.scrape();
        assert_eq!(
            scrape.up(&name),
            Some(1.0),
            "round {round}:\n{}",
            scrape.text
        );
        assert_eq!(scrape.up("all_types"), Some(1.0));
        assert!(
            scrape
                .value("all_types_requests_total{code=\"200\"}")
                .is_some(),
            "the Rust plugin beside it stopped serving:\n{}",
            scrape.text
        );
        assert_eq!(
            scrape.value("conformance_config{key=\"greeting\",value=\"hello\"}"),
            Some(1.0)
        );
        for series in [
            "wasm_exporter_plugin_scrape_duration_seconds",
            "wasm_exporter_plugin_fuel_consumed",
            "wasm_exporter_plugin_memory_peak_bytes",
            "wasm_exporter_plugin_series",
        ] {
            assert!(
                scrape
                    .samples
                    .keys()
                    .any(|k| k.starts_with(series) && k.contains(&format!("plugin=\"{name}\""))),
                "no {series} for {name}:\n{}",
                scrape.text
            );
        }
        assert_eq!(reason_of(&scrape, &format!("{name}_error")), "error");
        // Fuel or time, whichever runs out first: on a busy machine one
        // scrape may end one way and the next the other.
        let looped = reasons_of(&scrape, &format!("{name}_loop"));
        assert!(
            !looped.is_empty() && looped.iter().all(|r| ["fuel", "timeout"].contains(r)),
            "a loop stopped for {looped:?}"
        );
        assert_eq!(reason_of(&scrape, &format!("{name}_membomb")), "memory");
        panicked = reason_of(&scrape, &format!("{name}_panic"));
        assert!(
            panicked == "trap" || panicked == "error",
            "a panic stopped for {panicked}"
        );
    }
    // Two files, one of them under five names: at most two compilations
    // (none when the shared cache has them) for six plugins.
    let scrape = host.scrape();
    let loads = ["compilations", "compile_cache_hits"].map(|what| {
        scrape
            .value(&format!("wasm_exporter_plugin_{what}_total"))
            .unwrap()
    });
    assert!(
        loads[0] <= 2.0 && loads[0] + loads[1] == 6.0,
        "{}",
        scrape.lines_of("wasm_exporter_plugin_compil").join("\n")
    );
    let log = host.log();
    assert!(
        log.iter()
            .any(|l| l.contains("conformance collect") && has_field(l, "plugin", &name)),
        "no log record of {name}:\n{}",
        log.join("\n")
    );
    // A failure's message is shown on the landing page, HTML-escaped.
    let page = host.get_ok("/");
    assert!(
        page.contains("error: requested error"),
        "the error message of {name}_error is not on the landing page:\n{page}"
    );
    if panicked == "error" {
        assert!(
            page.contains("requested panic"),
            "a panic turned into an error keeps its message:\n{page}"
        );
    }
}

macro_rules! conformance {
    ($($language:ident),*) => {$(
        mod $language {
            #[test]
            fn serves_what_the_rust_plugin_serves() {
                super::serves_what_rust_serves(stringify!($language));
            }

            #[test]
            fn survives_its_own_failures() {
                super::survives_its_own_failures(stringify!($language));
            }
        }
    )*};
}

conformance!(rust, python, js, go, c, zig);
