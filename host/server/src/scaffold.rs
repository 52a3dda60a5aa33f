//! `wasm_exporter new --lang LANG NAME`: a plugin directory made from the
//! language's template (`sdk/<lang>/template/`, built into this binary),
//! with its metrics named after the plugin. Each template declares in
//! `describe` what its `collect` returns, so the new plugin passes
//! `wasm_exporter check` as it is.

use std::path::{Path, PathBuf};

/// The languages `new` makes plugins in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust, with the Rust SDK (a cargo package of its own).
    Rust,
    /// Python, with componentize-py.
    Python,
    /// JavaScript, with componentize-js.
    Js,
    /// C, with `zig cc`.
    C,
    /// Zig.
    Zig,
    /// Go, with the Go SDK (a module of its own, `replace`d by path).
    Go,
}

impl Lang {
    /// Every language, as `--lang` spells it.
    pub const ALL: [(Lang, &'static str); 6] = [
        (Lang::Rust, "rust"),
        (Lang::Python, "python"),
        (Lang::Js, "js"),
        (Lang::C, "c"),
        (Lang::Zig, "zig"),
        (Lang::Go, "go"),
    ];

    /// Whether its plugins depend on the SDK by path (`--sdk`).
    fn needs_sdk(self) -> bool {
        matches!(self, Lang::Rust | Lang::Go)
    }

    /// The name `--lang` spells it with.
    pub fn as_str(self) -> &'static str {
        Lang::ALL
            .iter()
            .find(|(l, _)| *l == self)
            .map(|(_, s)| *s)
            .unwrap_or("")
    }

    /// The template's files: their paths in the new directory and texts.
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::Rust => &[
                (
                    "Cargo.toml",
                    include_str!("../../../sdk/rust/template/Cargo.toml.template"),
                ),
                (
                    "src/lib.rs",
                    include_str!("../../../sdk/rust/template/src/lib.rs"),
                ),
            ],
            Lang::Python => &[(
                "app.py",
                include_str!("../../../sdk/python/template/app.py"),
            )],
            Lang::Js => &[(
                "index.js",
                include_str!("../../../sdk/js/template/index.js"),
            )],
            Lang::C => &[(
                "collector.c",
                include_str!("../../../sdk/c/template/collector.c"),
            )],
            Lang::Zig => &[(
                "main.zig",
                include_str!("../../../sdk/zig/template/main.zig"),
            )],
            Lang::Go => &[
                ("go.mod", include_str!("../../../sdk/go/template/go.mod")),
                ("main.go", include_str!("../../../sdk/go/template/main.go")),
            ],
        }
    }

    /// How the new directory `dir` is built, and where the component lands.
    fn build_hint(self, dir: &Path, name: &str) -> String {
        match self {
            Lang::Rust => format!(
                "cargo build --release --target wasm32-wasip2 --manifest-path {}/Cargo.toml\n  \
                 (the component: {}/target/wasm32-wasip2/release/{name}.wasm)",
                dir.display(),
                dir.display()
            ),
            _ => format!(
                "cargo xtask build-plugin {} {name}.wasm   (in the wasm_exporter checkout; \
                 `cargo xtask toolchains` installs the {} toolchain)",
                dir.display(),
                self.as_str()
            ),
        }
    }
}

/// Whether `name` can name a plugin and prefix its metrics: a lowercase
/// letter, then lowercase letters, digits and `_`.
pub fn is_scaffold_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= 64
}

/// The files of a new plugin `name` in `lang`: paths relative to its
/// directory, and texts. `sdk` is the checkout's `sdk/` directory, whose
/// `rust/` and `go/` a Rust or Go plugin depends on by path.
pub fn files(lang: Lang, name: &str, sdk: Option<&Path>) -> Vec<(PathBuf, String)> {
    let sdk = sdk
        .map(|p| p.display().to_string().replace('\\', "/"))
        .unwrap_or_default();
    lang.files()
        .iter()
        .map(|(path, text)| {
            let text = text
                .replace("template_", &format!("{name}_"))
                .replace("name = \"template\"", &format!("name = \"{name}\""))
                .replace("release/template.wasm", &format!("release/{name}.wasm"))
                .replace("{{sdk}}", &format!("{sdk}/rust"))
                // Go: the module, and where the SDK module is.
                .replace(
                    "module example.com/myplugin",
                    &format!("module example.com/{name}"),
                )
                .replace(
                    "wasm-exporter.dev/sdk/go => ../",
                    &format!("wasm-exporter.dev/sdk/go => {sdk}/go"),
                );
            (PathBuf::from(path), text)
        })
        .collect()
}

/// Writes a new plugin `name` in `lang` into `dir`, which must not exist
/// yet; returns what to run next.
pub fn create(lang: Lang, name: &str, dir: &Path, sdk: Option<&Path>) -> Result<String, String> {
    if !is_scaffold_name(name) {
        return Err(format!(
            "{name:?} cannot name a plugin: use a lowercase letter, then lowercase letters, digits and _ (it prefixes its metrics)"
        ));
    }
    if lang.needs_sdk() && sdk.is_none() {
        return Err(format!(
            "a {} plugin depends on the SDK by path: run this in a wasm_exporter checkout, or pass --sdk DIR (its sdk/)",
            lang.as_str()
        ));
    }
    if dir.exists() {
        return Err(format!(
            "{}: already exists; choose another NAME or --dir",
            dir.display()
        ));
    }
    for (path, text) in files(lang, name, sdk) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("{}: cannot create: {e}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(format!(
        "Created the {} plugin {name} in {}.\nBuild it:\n  {}\nThen check it:\n  wasm_exporter check {name}.wasm\n",
        lang.as_str(),
        dir.display(),
        lang.build_hint(dir, name)
    ))
}

/// The Rust SDK of the wasm_exporter checkout `start` is in, if any.
pub fn find_sdk(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let sdk = dir.join("sdk/rust");
        (sdk.join("Cargo.toml").is_file() && dir.join("wit/collector.wit").is_file()).then_some(sdk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_substituted_in_every_language() {
        for (lang, _) in Lang::ALL {
            let files = files(lang, "queue_watch", Some(Path::new("/src/sdk")));
            assert!(!files.is_empty());
            for (path, text) in &files {
                assert!(
                    !text.contains("template_"),
                    "{lang:?} {}: a metric keeps the template's name",
                    path.display()
                );
                assert!(!text.contains("{{sdk}}"), "{}", path.display());
            }
            assert!(
                files.iter().any(|(_, t)| t.contains("queue_watch_")),
                "{lang:?}: metrics named after the plugin"
            );
        }
        let rust = files(Lang::Rust, "queue_watch", Some(Path::new("/src/sdk")));
        assert!(rust[0].1.contains("name = \"queue_watch\""));
        assert!(rust[0].1.contains("path = \"/src/sdk/rust\""));
        let go = files(Lang::Go, "queue_watch", Some(Path::new("/src/sdk")));
        assert!(go[0].1.contains("module example.com/queue_watch"));
        assert!(go[0].1.contains("wasm-exporter.dev/sdk/go => /src/sdk/go"));
    }

    #[test]
    fn names_must_prefix_metrics() {
        assert!(is_scaffold_name("queue_watch2"));
        for bad in ["", "Queue", "2x", "a-b", "a.b", "a b"] {
            assert!(!is_scaffold_name(bad), "{bad:?}");
        }
    }
}
