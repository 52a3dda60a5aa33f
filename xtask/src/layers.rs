//! `cargo xtask layers`: checks that the host's layers hold, so they cannot
//! erode one import at a time.
//!
//! 1. The exposition core's default dependency tree (`cargo tree -e
//!    normal`) holds no wasm engine, async runtime or HTTP crate: it must
//!    stay usable on its own, and its fuzz targets must build without
//!    wasmtime.
//! 2. Inside each host crate, modules import each other without a loop:
//!    the `crate::` references between a crate's modules form no cycle, so
//!    a shared type sits below both of its users.
//!
//! (That the crates themselves depend only downwards is enforced by cargo:
//! a crate cannot use one it does not list.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The exposition core's package.
const CORE: &str = "wasm-exporter-exposition";

/// Crates the core must never depend on, by name prefix: the wasm engine
/// (and its compiler), the async runtime and the HTTP stack.
const FORBIDDEN_IN_CORE: [&str; 4] = ["wasmtime", "cranelift", "tokio", "hyper"];

/// The host crates' source directories, relative to the workspace root.
pub const HOST_SOURCES: [&str; 3] = ["host/exposition/src", "host/runtime/src", "host/server/src"];

/// Runs both checks; the error names what broke a layer.
pub fn check(workspace: &Workspace) -> Result<()> {
    check_core_dependencies(workspace)?;
    for dir in HOST_SOURCES {
        check_module_cycles(&workspace.root.join(dir))?;
    }
    eprintln!(
        "layers: {CORE} depends on no {}; no module import loop in {}",
        FORBIDDEN_IN_CORE.join("/"),
        HOST_SOURCES.join(", ")
    );
    Ok(())
}

fn check_core_dependencies(workspace: &Workspace) -> Result<()> {
    let mut cargo = workspace.cargo();
    cargo.args([
        "tree",
        "--package",
        CORE,
        "--edges",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let output = cargo.output().context("failed to run `cargo tree`")?;
    if !output.status.success() {
        bail!(
            "`cargo tree -p {CORE}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tree = String::from_utf8(output.stdout).context("`cargo tree` printed invalid UTF-8")?;
    let found = forbidden_crates(&tree);
    if !found.is_empty() {
        bail!(
            "{CORE} must not depend on {} (found in its default dependency tree: {}); \
             keep wasm, async and HTTP code in the runtime or the server",
            FORBIDDEN_IN_CORE.join(", "),
            found.join(", ")
        );
    }
    Ok(())
}

/// The crates of a `cargo tree --format {p}` listing whose names start with
/// a forbidden prefix.
fn forbidden_crates(tree: &str) -> Vec<String> {
    let names: BTreeSet<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_IN_CORE.iter().any(|p| name.starts_with(p)))
        .collect();
    names.into_iter().map(str::to_owned).collect()
}

fn check_module_cycles(src: &Path) -> Result<()> {
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        // The crate roots declare the modules; they are not one of them.
        if path.extension().is_some_and(|e| e == "rs") && !matches!(stem, "lib" | "main") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            sources.insert(stem.to_owned(), text);
        }
    }
    let graph = module_graph(&sources);
    if let Some(cycle) = find_cycle(&graph) {
        bail!(
            "{}: modules import each other in a loop: {}; move what they share \
             into a module below both",
            src.display(),
            cycle.join(" -> ")
        );
    }
    Ok(())
}

/// Which of the crate's modules each module refers to (`crate::m`), in
/// code outside its unit tests and comments.
fn module_graph(sources: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    sources
        .iter()
        .map(|(module, text)| {
            let uses = crate_references(text)
                .into_iter()
                .filter(|m| m != module && sources.contains_key(m))
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// The first path segment after every `crate::` in `text`, ignoring
/// comments and everything from the first `#[cfg(test)]` on.
fn crate_references(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .take_while(|line| line.trim() != "#[cfg(test)]")
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `wasm_exporter_runtime::...` or `$crate::` are other paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                found.insert(identifier(item.trim()).to_owned());
            }
        } else {
            found.insert(identifier(rest).to_owned());
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn identifier(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The index of the `}` closing a group whose `{` was just consumed.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

/// The items of a `{a, b::{c, d}, e}` group, split at its top-level commas.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
}

/// A cycle of the graph, as the modules along it (the first repeated at
/// the end), if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|n| n.to_string()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(m, t)| ((*m).to_owned(), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn references_are_read_from_paths_groups_and_code_only() {
        let text = "\
//! See [`crate::docs_only`].
use crate::a::Thing;
use crate::{b, c::{D, E}, d};
use wasm_exporter_runtime::crate_like;
fn f() { crate::e::call(); }
#[cfg(test)]
mod tests { use crate::tests_only; }
";
        let found: Vec<String> = crate_references(text).into_iter().collect();
        assert_eq!(found, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_loop_between_modules_is_found_and_named() {
        let looped = sources(&[
            ("collect", "use crate::load::PluginVersion;"),
            ("load", "use crate::validate;"),
            ("validate", "use crate::collect::Failure;"),
            ("model", ""),
        ]);
        let cycle = find_cycle(&module_graph(&looped)).expect("a cycle");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4, "{cycle:?}");
        let layered = sources(&[
            ("collect", "use crate::{load, outcome};"),
            ("load", "use crate::outcome;"),
            ("outcome", ""),
        ]);
        assert_eq!(find_cycle(&module_graph(&layered)), None);
    }

    #[test]
    fn forbidden_crates_are_picked_out_of_a_tree() {
        let tree = "wasm-exporter-exposition v0.1.0 (/x)\nbytes v1.0.0\n\
                    wasmtime-environ v48.0.8\ntokio v1.0.0\nhyperlocal v0.1.0\n";
        assert_eq!(
            forbidden_crates(tree),
            ["hyperlocal", "tokio", "wasmtime-environ"]
        );
        assert!(forbidden_crates("bytes v1.0.0\nitoa v1.0.0\n").is_empty());
    }

    #[test]
    fn the_host_crates_have_no_module_loop() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask is below the workspace root");
        for dir in HOST_SOURCES {
            check_module_cycles(&root.join(dir)).unwrap();
        }
    }
}
