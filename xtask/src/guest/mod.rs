//! Plugins written in languages other than Rust.
//!
//! Each language is one [`Guest`]: how to tell whether its toolchain is
//! installed, how to install it into the project (never into the system),
//! and how to build one plugin directory into a component. This module
//! finds the plugin directories of every language, rebuilds only those
//! whose inputs changed, and keeps going when a language's toolchain is
//! missing, so the Rust plugins and the other languages still build.

pub mod component;

mod c;
mod go;
mod js;
mod python;
mod zig;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::Workspace;
use crate::plugins::{EXAMPLES_OUT_DIR, TESTS_OUT_DIR, install};

/// One language's build recipe.
pub trait Guest {
    /// The directory name of the language under `plugins/`, `sdk/` and
    /// `tests/conformance/` (`python`).
    fn name(&self) -> &'static str;

    /// `Ok` with what identifies the installed toolchain (its version; part
    /// of every plugin's rebuild stamp), or `Err` with one sentence on how to
    /// install it.
    fn toolchain(&self, workspace: &Workspace) -> Result<String, String>;

    /// Installs the toolchain into the project (`.venv`, `sdk/js/node_modules`
    /// or `target/tools/`). Quick when it is already there.
    fn install(&self, workspace: &Workspace) -> Result<()>;

    /// Builds the plugin whose sources are in `src` into the component `out`.
    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()>;

    /// Plugin directories besides the usual ones (see [`plugins_of`]): the
    /// source directory relative to the workspace root, and the stem of its
    /// component in `target/test-plugins/`.
    fn extra_plugins(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }
}

/// Every language besides Rust, in build order (fastest first, so a slow
/// toolchain's failure is reported after the quick ones built).
pub fn languages() -> Vec<Box<dyn Guest>> {
    vec![
        Box::new(zig::Zig),
        Box::new(c::C),
        Box::new(go::Go),
        Box::new(js::Js),
        Box::new(python::Python),
    ]
}

/// One plugin of a language: its sources and its component.
#[derive(Debug, PartialEq)]
struct Plugin {
    src: PathBuf,
    out: PathBuf,
}

/// The plugin directories of `guest`: `plugins/<lang>/<name>/` (examples,
/// into `target/plugins/<name>.wasm`), `sdk/<lang>/template/` and
/// `tests/conformance/<lang>/` (into `target/test-plugins/template_<lang>`
/// and `conformance_<lang>`), and its [`Guest::extra_plugins`].
fn plugins_of(workspace: &Workspace, guest: &dyn Guest) -> Result<Vec<Plugin>> {
    let lang = guest.name();
    let examples = workspace.root.join("plugins").join(lang);
    let tests_out = workspace.target_dir.join(TESTS_OUT_DIR);
    let mut plugins = Vec::new();
    if examples.is_dir() {
        let mut names = Vec::new();
        for entry in fs::read_dir(&examples)
            .with_context(|| format!("failed to list {}", examples.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() && !skipped(&name) {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            plugins.push(Plugin {
                src: examples.join(&name),
                out: workspace
                    .target_dir
                    .join(EXAMPLES_OUT_DIR)
                    .join(format!("{name}.wasm")),
            });
        }
    }
    let mut tests = vec![
        (format!("sdk/{lang}/template"), format!("template_{lang}")),
        (
            format!("tests/conformance/{lang}"),
            format!("conformance_{lang}"),
        ),
    ];
    tests.extend(
        guest
            .extra_plugins()
            .into_iter()
            .map(|(src, stem)| (src.to_owned(), stem.to_owned())),
    );
    for (src, stem) in tests {
        let src = workspace.root.join(src);
        if src.is_dir() {
            plugins.push(Plugin {
                src,
                out: tests_out.join(format!("{stem}.wasm")),
            });
        }
    }
    Ok(plugins)
}

/// Directories that hold tools or build output, never plugin sources.
fn skipped(name: &str) -> bool {
    name.starts_with('.')
        || matches!(
            name,
            "node_modules" | "__pycache__" | "target" | "zig-cache" | "zig-out"
        )
}

/// The language of the plugin directory `src`, by its main file: the
/// file each language's template starts from.
fn language_of(src: &Path) -> Option<Box<dyn Guest>> {
    let has = |file: &str| src.join(file).is_file();
    let has_ext = |ext: &str| {
        fs::read_dir(src).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == ext))
        })
    };
    let name = if has("app.py") {
        "python"
    } else if has("index.js") {
        "js"
    } else if has("main.zig") {
        "zig"
    } else if has("go.mod") {
        "go"
    } else if has_ext("c") {
        "c"
    } else {
        return None;
    };
    languages().into_iter().find(|g| g.name() == name)
}

/// Builds the one plugin directory `src` (any language but Rust) into
/// the component `out` (an absolute path): `cargo xtask build-plugin`.
pub fn build_one(workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
    let Some(guest) = language_of(src) else {
        bail!(
            "{}: no app.py, index.js, main.zig, go.mod or .c file: not a plugin directory",
            src.display()
        );
    };
    if let Err(how) = guest.toolchain(workspace) {
        bail!("no {} toolchain: {how}", guest.name());
    }
    let built = build_path(workspace, out)?;
    guest.build(workspace, src, &built)?;
    install(
        &built,
        out.parent().context("output has no directory")?,
        out,
    )?;
    Ok(())
}

/// Where the component to be installed as `out` is built, its directory
/// made.
fn build_path(workspace: &Workspace, out: &Path) -> Result<PathBuf> {
    let dir = workspace.target_dir.join("guest-build");
    fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    Ok(dir.join(format!("{}.wasm", stem(out))))
}

/// What one run of [`build_all`] did, per language.
#[derive(Default)]
pub struct Report {
    /// Languages whose toolchain is missing, with how to get it.
    pub missing: BTreeMap<&'static str, String>,
}

/// Builds the plugins of every language whose toolchain is installed. A
/// plugin whose inputs (its directory, its language's SDK, the WIT
/// package, the toolchain) are those of its last build is not rebuilt.
pub fn build_all(workspace: &Workspace) -> Result<Report> {
    build_languages(workspace, &languages())
}

fn build_languages(workspace: &Workspace, guests: &[Box<dyn Guest>]) -> Result<Report> {
    let mut report = Report::default();
    let mut failures = Vec::new();
    for guest in guests {
        let plugins = plugins_of(workspace, guest.as_ref())?;
        if plugins.is_empty() {
            continue;
        }
        let toolchain = match guest.toolchain(workspace) {
            Ok(toolchain) => toolchain,
            Err(how) => {
                eprintln!(
                    "  {} plugins skipped: no {} toolchain ({how})",
                    plugins.len(),
                    guest.name()
                );
                report.missing.insert(guest.name(), how);
                continue;
            }
        };
        let sdk = workspace.root.join("sdk").join(guest.name());
        let wit = workspace.root.join(component::WIT_DIR);
        for plugin in plugins {
            let stamp = stamp(&[&plugin.src, &sdk, &wit], &toolchain)?;
            let stamp_file = stamp_path(workspace, &plugin.out);
            if plugin.out.is_file() && fs::read_to_string(&stamp_file).is_ok_and(|old| old == stamp)
            {
                continue;
            }
            let built = build_path(workspace, &plugin.out)?;
            eprintln!("  building {} ({})", plugin.src.display(), guest.name());
            match guest.build(workspace, &plugin.src, &built) {
                Ok(()) => {
                    let out_dir = plugin.out.parent().context("output has no directory")?;
                    let size = install(&built, out_dir, &plugin.out)?;
                    fs::create_dir_all(stamp_file.parent().context("stamp has no dir")?)?;
                    fs::write(&stamp_file, &stamp)
                        .with_context(|| format!("failed to write {}", stamp_file.display()))?;
                    eprintln!(
                        "  {} ({:.1} KiB)",
                        plugin.out.display(),
                        size as f64 / 1024.0
                    );
                }
                Err(error) => {
                    eprintln!("  FAILED {}: {error:#}", plugin.src.display());
                    failures.push(format!("{}: {error:#}", plugin.src.display()));
                }
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} plugins failed to build:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    Ok(report)
}

/// Installs every language's toolchain into the project.
pub fn install_all(workspace: &Workspace) -> Result<()> {
    for guest in languages() {
        guest
            .install(workspace)
            .with_context(|| format!("failed to install the {} toolchain", guest.name()))?;
        if let Err(how) = guest.toolchain(workspace) {
            bail!(
                "the {} toolchain is still missing after installing it: {how}",
                guest.name()
            );
        }
    }
    Ok(())
}

fn stem(out: &Path) -> String {
    out.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where the stamp of the last build of `out` is kept.
fn stamp_path(workspace: &Workspace, out: &Path) -> PathBuf {
    let kind = out
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    workspace
        .target_dir
        .join("guest-stamps")
        .join(kind)
        .join(stem(out))
}

/// A digest of every file below `dirs` (names and contents, in a fixed
/// order) and of the toolchain: a changed, added or removed input changes it.
fn stamp(dirs: &[&Path], toolchain: &str) -> Result<String> {
    let mut hash = Fnv::default();
    hash.write(toolchain.as_bytes());
    for dir in dirs {
        let mut files = Vec::new();
        list_files(dir, &mut files)?;
        files.sort();
        for file in files {
            hash.write(file.to_string_lossy().as_bytes());
            hash.write(&[0]);
            hash.write(
                &fs::read(&file).with_context(|| format!("failed to read {}", file.display()))?,
            );
        }
    }
    Ok(format!("{:016x}\n", hash.0))
}

fn list_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("failed to list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if skipped(&name.to_string_lossy()) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_files(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`,
/// and ample for telling a changed input from an unchanged one.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Field separator: `ab`+`c` and `a`+`bc` hash differently.
        self.0 = self.0.rotate_left(5) ^ bytes.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    /// A language whose build copies `app.txt` and counts its builds.
    struct Fake {
        installed: bool,
        builds: Rc<Cell<usize>>,
    }

    impl Guest for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn toolchain(&self, _: &Workspace) -> Result<String, String> {
            if self.installed {
                Ok("fake 1".into())
            } else {
                Err("run `cargo xtask toolchains`".into())
            }
        }
        fn install(&self, _: &Workspace) -> Result<()> {
            Ok(())
        }
        fn build(&self, _: &Workspace, src: &Path, out: &Path) -> Result<()> {
            self.builds.set(self.builds.get() + 1);
            fs::copy(src.join("app.txt"), out)?;
            Ok(())
        }
    }

    fn workspace(tag: &str) -> Workspace {
        let root = std::env::temp_dir().join(format!("xtask_guest_{tag}_{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("plugins/fake/fake_one")).unwrap();
        fs::write(root.join("plugins/fake/fake_one/app.txt"), "one").unwrap();
        fs::create_dir_all(root.join("tests/conformance/fake")).unwrap();
        fs::write(root.join("tests/conformance/fake/app.txt"), "c").unwrap();
        Workspace {
            target_dir: root.join("target"),
            root,
        }
    }

    #[test]
    fn a_missing_toolchain_is_reported_with_its_fix_and_builds_nothing() {
        let ws = workspace("missing");
        let builds = Rc::new(Cell::new(0));
        let fake: Vec<Box<dyn Guest>> = vec![Box::new(Fake {
            installed: false,
            builds: builds.clone(),
        })];
        let report = build_languages(&ws, &fake).unwrap();
        assert_eq!(report.missing["fake"], "run `cargo xtask toolchains`");
        assert_eq!(builds.get(), 0);
        fs::remove_dir_all(&ws.root).unwrap();
    }

    #[test]
    fn only_plugins_whose_inputs_changed_are_rebuilt() {
        let ws = workspace("incremental");
        let builds = Rc::new(Cell::new(0));
        let fake: Vec<Box<dyn Guest>> = vec![Box::new(Fake {
            installed: true,
            builds: builds.clone(),
        })];
        build_languages(&ws, &fake).unwrap();
        assert_eq!(builds.get(), 2);
        let example = ws.target_dir.join("plugins/fake_one.wasm");
        assert_eq!(fs::read_to_string(&example).unwrap(), "one");
        assert!(
            ws.target_dir
                .join("test-plugins/conformance_fake.wasm")
                .is_file()
        );
        build_languages(&ws, &fake).unwrap();
        assert_eq!(builds.get(), 2, "nothing changed, nothing rebuilt");
        fs::write(ws.root.join("plugins/fake/fake_one/app.txt"), "two").unwrap();
        build_languages(&ws, &fake).unwrap();
        assert_eq!(builds.get(), 3, "one plugin changed");
        assert_eq!(fs::read_to_string(&example).unwrap(), "two");
        // A change to the language's SDK rebuilds all of its plugins.
        fs::create_dir_all(ws.root.join("sdk/fake")).unwrap();
        fs::write(ws.root.join("sdk/fake/lib.txt"), "sdk").unwrap();
        build_languages(&ws, &fake).unwrap();
        assert_eq!(builds.get(), 5);
        fs::remove_dir_all(&ws.root).unwrap();
    }

    #[test]
    fn a_changed_input_changes_the_stamp() {
        let dir = std::env::temp_dir().join(format!("xtask_stamp_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("node_modules")).unwrap();
        fs::write(dir.join("app.py"), "a").unwrap();
        let first = stamp(&[&dir], "v1").unwrap();
        assert_eq!(first, stamp(&[&dir], "v1").unwrap());
        // Tool directories are not inputs.
        fs::write(dir.join("node_modules/x.js"), "x").unwrap();
        assert_eq!(first, stamp(&[&dir], "v1").unwrap());
        assert_ne!(first, stamp(&[&dir], "v2").unwrap());
        fs::write(dir.join("app.py"), "b").unwrap();
        let changed = stamp(&[&dir], "v1").unwrap();
        assert_ne!(first, changed);
        fs::write(dir.join("extra.py"), "").unwrap();
        assert_ne!(changed, stamp(&[&dir], "v1").unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }
}
