//! Property tests of the configuration parser: any text, and documents
//! built from the schema's keys with odd values, parse and resolve to a
//! configuration or to an error that names the file; never a panic. (The
//! exposition core's properties are in `tests/exposition/properties.rs`.)
//! `PROPTEST_CASES=100000` runs them longer.

use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use wasm_exporter::config::{self, ConfigError};
use wasm_exporter::runtime::limits::PluginLimits;

use crate::common::TempDir;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking a slow case must not hold CI for long.
        max_shrink_time: 30_000,
        // Failures print their minimal input; nothing is written to the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Configuration documents built from the schema's keys.

#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    fn render(&self, flow: bool) -> String {
        let mut out = String::new();
        if flow {
            self.flow(&mut out);
            out.push('\n');
        } else {
            self.block(&mut out, 0);
        }
        out
    }

    fn flow(&self, out: &mut String) {
        match self {
            Yaml::Scalar(s) => out.push_str(s),
            Yaml::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    v.flow(out);
                }
                out.push('}');
            }
            Yaml::Seq(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.flow(out);
                }
                out.push(']');
            }
        }
    }

    fn block(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            Yaml::Scalar(s) => {
                out.push_str(&pad);
                out.push_str(s);
                out.push('\n');
            }
            Yaml::Map(entries) if entries.is_empty() => out.push_str(&format!("{pad}{{}}\n")),
            Yaml::Seq(items) if items.is_empty() => out.push_str(&format!("{pad}[]\n")),
            Yaml::Map(entries) => {
                for (k, v) in entries {
                    match v {
                        Yaml::Scalar(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                        Yaml::Map(e) if e.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
                        Yaml::Seq(e) if e.is_empty() => out.push_str(&format!("{pad}{k}: []\n")),
                        _ => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            v.block(out, indent + 2);
                        }
                    }
                }
            }
            Yaml::Seq(items) => {
                for item in items {
                    let mut inner = String::new();
                    item.block(&mut inner, indent + 2);
                    // `- ` takes the place of the item's first indentation.
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
        }
    }
}

fn scalar(pool: &'static [&'static str]) -> BoxedStrategy<Yaml> {
    prop_oneof![
        40 => select(pool).prop_map(|s| Yaml::Scalar(s.to_owned())),
        1 => select(YAML_ODDITIES).prop_map(|s| Yaml::Scalar(s.to_owned())),
        1 => any::<String>().prop_map(|s| Yaml::Scalar(yaml_quote(&s))),
        1 => "[a-z0-9 :'\"{}\\[\\],&*!#|>-]{0,8}".prop_map(Yaml::Scalar),
    ]
    .boxed()
}

/// `s` as a YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const YAML_ODDITIES: &[&str] = &[
    "~",
    "null",
    "true",
    "''",
    "\"\"",
    "&a 1",
    "*a",
    "*missing",
    "!!binary aGk=",
    "!custom x",
    "[1, 2]",
    "{a: b}",
    "|\n  multi",
    "\"\\0\"",
    "\"\\u00e9\"",
    "- x",
    "? x",
    "@",
    "%YAML",
    "1e400",
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "2001-12-14",
];

const DURATIONS: &[&str] = &[
    "5s",
    "800ms",
    "1.5m",
    "0s",
    "0ms",
    "5",
    "5h",
    "",
    "99999999999999999999999s",
    "18446744073709551616ms",
    "1e3s",
    ".s",
    "..5s",
    "-1s",
    "NaNs",
    "infs",
    "0.0000001ms",
    "0.5ms",
    "1.5.5s",
    "307445734561825860m",
    "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999s",
];

/// Mostly numbers a `u64` field takes, 0 and over-the-ceiling included.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "1000",
    "1000000000",
    "67108864",
    "1073741824",
    "1073741825",
    "18446744073709551615",
    "0",
    "1",
    "1000",
    "1000000000",
    "67108864",
    "1073741824",
    "1073741825",
    "18446744073709551615",
    "-1",
    "18446744073709551616",
    "1.5",
    "0x10",
    "'5'",
];

const NAMES: &[&str] = &[
    "a", "bee", "bad name", "", "a/b", "é", "'q'", "x.y-z_1", ".",
];

const PATHS: &[&str] = &[
    "a.wasm",
    "sub/b.wasm",
    "",
    "../x.wasm",
    "/nonexistent/c.wasm",
    "sub/",
    ".wasm",
    "a",
    "\"a\\0b.wasm\"",
    "'é.wasm'",
];

const DIRS: &[&str] = &[".", "sub", "missing", "", "/nonexistent", "pw", "\"\\0\""];

const SECRET_FILES: &[&str] = &["pw", "missing", "sub", "", "/nonexistent/pw", "\"\\0\""];

const ENV_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "WX_SURELY_UNSET_VAR",
    "''",
    "\"A=B\"",
    "\"\\0\"",
    "\"é\"",
];

const CONFIG_VALUES: &[&str] = &[
    "x",
    "1",
    "-5",
    "1.5",
    "true",
    "db:6379",
    "'quoted'",
    "\"a\\nb\"",
];

fn unknown_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "fule",
            "plugin",
            "Global",
            "x",
            "<<",
            "? a",
            "\"timeout\"",
            "'path'"
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,6}",
    ]
}

/// A map of some of `fields` in any order, now and then with a key
/// twice or an unknown key, or occasionally not a map at all.
fn map_of(fields: Vec<(&'static str, BoxedStrategy<Yaml>)>) -> BoxedStrategy<Yaml> {
    let chosen: Vec<BoxedStrategy<Option<(String, Yaml)>>> = fields
        .into_iter()
        .map(|(k, v)| prop::option::weighted(0.75, v.prop_map(move |v| (k.to_owned(), v))).boxed())
        .collect();
    let unknown = prop::option::weighted(0.05, (unknown_key(), scalar(NAMES)));
    let map = (
        chosen,
        unknown,
        prop::option::weighted(0.05, any::<prop::sample::Index>()),
    )
        .prop_flat_map(|(chosen, unknown, twice)| {
            let mut entries: Vec<(String, Yaml)> = chosen.into_iter().flatten().collect();
            if let Some(i) = twice
                && !entries.is_empty()
            {
                entries.push(entries[i.index(entries.len())].clone());
            }
            entries.extend(unknown);
            Just(entries).prop_shuffle()
        })
        .prop_map(Yaml::Map);
    prop_oneof![
        40 => map,
        1 => scalar(NAMES),
        1 => Just(Yaml::Seq(Vec::new())),
    ]
    .boxed()
}

fn limits_yaml() -> BoxedStrategy<Yaml> {
    map_of(vec![
        ("timeout", scalar(DURATIONS)),
        ("fuel", scalar(NUMBERS)),
        ("memory_bytes", scalar(NUMBERS)),
        ("max_series", scalar(NUMBERS)),
        ("max_bytes", scalar(NUMBERS)),
        ("max_labels_per_series", scalar(NUMBERS)),
        ("max_buckets", scalar(NUMBERS)),
        ("max_quantiles", scalar(NUMBERS)),
        ("max_states", scalar(NUMBERS)),
    ])
}

fn config_value_yaml() -> BoxedStrategy<Yaml> {
    prop_oneof![
        3 => scalar(CONFIG_VALUES),
        2 => map_of(vec![
            ("file", scalar(SECRET_FILES)),
            ("env", scalar(ENV_VARS)),
        ]),
    ]
    .boxed()
}

fn plugin_yaml() -> BoxedStrategy<Yaml> {
    let config = prop_oneof![
        4 => vec((select(vec!["address", "port", "password", "a", ""]), config_value_yaml()), 0..4)
            .prop_map(|kv| Yaml::Map(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => scalar(CONFIG_VALUES),
    ];
    map_of(vec![
        ("name", scalar(NAMES)),
        ("path", scalar(PATHS)),
        ("limits", limits_yaml()),
        ("config", config.boxed()),
    ])
}

fn document() -> impl Strategy<Value = Yaml> {
    let plugins = prop_oneof![
        6 => vec(plugin_yaml(), 0..4).prop_map(Yaml::Seq),
        1 => scalar(NAMES),
        1 => plugin_yaml(),
    ];
    prop_oneof![
        12 => map_of(vec![
            ("global", limits_yaml()),
            ("plugins_dir", scalar(DIRS)),
            ("plugins", plugins.boxed()),
        ]),
        1 => vec(scalar(NAMES), 0..3).prop_map(Yaml::Seq),
    ]
}

/// Text made of YAML's punctuation and the schema's words.
fn yaml_soup() -> impl Strategy<Value = String> {
    let token = select(vec![
        "global:",
        "plugins:",
        "plugins_dir:",
        "- ",
        "path: ",
        "name: ",
        "limits:",
        "timeout: ",
        "fuel: ",
        "config:",
        "file: ",
        "env: ",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "&a ",
        "*a",
        "!!str ",
        "\n",
        "  ",
        "    ",
        "\t",
        "'",
        "\"",
        "#",
        "|",
        ">",
        "~",
        "null",
        "1e400",
        "5s",
        "x",
        "\u{feff}",
        "---\n",
        "...\n",
        "? ",
        "\\",
        "%TAG ! x\n",
        "<<: *a\n",
        "\0",
    ]);
    vec(token, 0..40).prop_map(|t| t.concat())
}

/// A directory the resolver may look into: a secret file, a plugin file and
/// a subdirectory.
fn config_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new("config_props");
        let path = dir.path().to_owned();
        std::fs::create_dir_all(path.join("sub")).unwrap();
        std::fs::write(path.join("pw"), "secret\n").unwrap();
        std::fs::write(path.join("sub/b.wasm"), b"\0asm").unwrap();
        std::fs::write(path.join("a.wasm"), b"not wasm").unwrap();
        // Kept for the whole test run (removed with the system's temp files).
        std::mem::forget(dir);
        path
    })
}

fn check_config(text: &str) -> Result<(), TestCaseError> {
    let dir = config_dir();
    let path = dir.join("config.yml");
    let prefix = path.display().to_string();
    let starts_with_path = |e: &ConfigError| {
        prop_assert!(
            e.to_string().starts_with(&prefix),
            "error does not start with the file: {e}"
        );
        Ok(())
    };
    match config::parse(text, &path) {
        Err(e) => starts_with_path(&e)?,
        Ok(file) => {
            match config::resolve(&file, &path, dir, Some(text), &PluginLimits::default()) {
                Err(e) => starts_with_path(&e)?,
                Ok(resolved) => {
                    for (name, spec) in &resolved.plugins {
                        prop_assert!(config::is_plugin_name(name));
                        prop_assert!(spec.limits.fuel > 0);
                    }
                }
            }
            // Without the text (no line numbers) the verdict is the same.
            let again = config::resolve(&file, &path, dir, None, &PluginLimits::default());
            if let Err(e) = again {
                starts_with_path(&e)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(cases(2000))]

    /// Any text, and documents built from the schema, parse and resolve to
    /// a configuration or an error that names the file; never a panic.
    #[test]
    fn config_parser_never_panics_on_text(text in prop_oneof![any::<String>(), yaml_soup()]) {
        check_config(&text)?;
    }

    #[test]
    fn config_parser_never_panics_on_documents(doc in document(), flow in any::<bool>()) {
        check_config(&doc.render(flow))?;
    }
}

#[test]
fn the_documents_are_yaml_of_the_schema() {
    let doc = Yaml::Map(vec![
        (
            "global".into(),
            Yaml::Map(vec![("timeout".into(), Yaml::Scalar("2s".into()))]),
        ),
        (
            "plugins".into(),
            Yaml::Seq(vec![Yaml::Map(vec![
                ("path".into(), Yaml::Scalar("a.wasm".into())),
                (
                    "limits".into(),
                    Yaml::Map(vec![("fuel".into(), Yaml::Scalar("5".into()))]),
                ),
            ])]),
        ),
    ]);
    for flow in [false, true] {
        let text = doc.render(flow);
        let file =
            config::parse(&text, Path::new("c.yml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(file.plugins[0].limits.fuel, Some(5), "{text}");
        assert_eq!(file.global.timeout.as_deref(), Some("2s"));
    }
}
