//! Project tasks: `cargo xtask <command>`.
//!
//! Builds the guest plugins for `wasm32-wasip2` and runs the host, its tests
//! and its benchmarks against them, so that one command does what otherwise
//! takes three. Every command it runs is printed first.

mod apt;
mod guest;
mod layers;
mod peers;
mod plugins;
mod python;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [args...]

commands:
  plugins          build every plugin of every language (plugins/<lang>/*,
                   sdk/<lang>/template, tests/conformance/<lang>,
                   tests/plugins/*) into target/plugins/ and
                   target/test-plugins/, skipping unchanged ones; a language
                   whose toolchain is missing is skipped with a note
  build-plugin DIR OUT
                   build the one plugin directory DIR (any language; a Rust
                   one is a cargo package of its own, as `wasm_exporter new`
                   makes it) into the component OUT
  toolchains       install the Python, JavaScript, Go, C and Zig plugin
                   toolchains into the project (.venv, sdk/js/node_modules,
                   target/tools/)
  run [ARGS...]    install the plugin toolchains, build the plugins and the
                   host, then run the host with
                   plugins/example.yml (copied to target/plugins/) and ARGS
  test [ARGS...]   check the layers (below), install the Debian packages the
                   tests run (prometheus, redis-server, nginx, Debian's
                   redis, nginx, node and blackbox exporters, Go with
                   client_golang) if missing,
                   prepare .venv (Python reference parser), install the
                   plugin toolchains, build the plugins, then
                   `cargo test --release ARGS`
  layers           check that the exposition core depends on no wasm, async
                   or HTTP crate, and that no host crate has a module loop
  bench [ARGS...]  build the plugins, then `cargo bench -p wasm_exporter ARGS`
                   (scrape, swap, pool and capabilities unless ARGS choose
                   benchmarks)
  bench-peers      install Go, client_golang and .venv if missing, build the
                   plugins, the Go peer and the host, then run the peer
                   benchmark (`cargo bench -p wasm_exporter --bench peers`)
  bench-exporters  install Redis, nginx and Debian's redis, nginx, node and
                   blackbox exporters if missing, build the plugins and the
                   host, then compare the host serving the redis, nginx,
                   node and http_probe plugins with those four exporters
                   (`cargo bench -p wasm_exporter --bench exporters`)
  soak [-- OPTS]   soak and load test against the real binary (default 60 s,
                   50 plugins, 20 scrapes/s; --duration SECS for longer)";

/// The configuration `cargo xtask run` serves, and its name beside the
/// built plugins.
const EXAMPLE_CONFIG: &str = "plugins/example.yml";
const EXAMPLE_CONFIG_NAME: &str = "example.yml";

/// The host package: the server, with the `wasm_exporter` binary.
const HOST_PACKAGE: &str = "wasm_exporter";

/// The host's crates, from the bottom layer up.
const HOST_CRATES: [&str; 3] = [
    "wasm-exporter-exposition",
    "wasm-exporter-runtime",
    HOST_PACKAGE,
];

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let result = match command.as_deref().and_then(OsStr::to_str) {
        Some("plugins") if rest.is_empty() => build_plugins().map(|_| ()),
        Some("build-plugin") if rest.len() == 2 => build_plugin(&rest[0], &rest[1]),
        Some("toolchains") if rest.is_empty() => {
            Workspace::locate().and_then(|w| guest::install_all(&w))
        }
        Some("run") => run(&rest),
        Some("test") => test(&rest),
        Some("layers") if rest.is_empty() => Workspace::locate().and_then(|w| layers::check(&w)),
        Some("bench") => bench(&rest),
        Some("bench-peers") if rest.is_empty() => peers::bench_peers(),
        Some("bench-exporters") if rest.is_empty() => bench_exporters(),
        Some("soak") => soak(&rest),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn build_plugin(dir: &OsStr, out: &OsStr) -> Result<()> {
    let workspace = Workspace::locate()?;
    // Children run in the workspace root: paths as given are the caller's.
    let dir = std::path::absolute(dir)?;
    let out = std::path::absolute(out)?;
    let (dir, out) = (dir.as_path(), out.as_path());
    if dir.join("Cargo.toml").is_file() {
        plugins::build_package(&workspace, dir, out)
    } else {
        guest::build_one(&workspace, dir, out)
    }
}

fn build_plugins() -> Result<Workspace> {
    let workspace = Workspace::locate()?;
    plugins::build(&workspace)?;
    Ok(workspace)
}

fn run(host_args: &[OsString]) -> Result<()> {
    // The example configuration serves a plugin of every language.
    let workspace = Workspace::locate()?;
    guest::install_all(&workspace)?;
    let workspace = build_plugins()?;
    workspace.run(
        workspace
            .cargo()
            .args(["build", "--release", "-p", HOST_PACKAGE]),
    )?;
    let binary = workspace
        .target_dir
        .join("release")
        .join(format!("{HOST_PACKAGE}{}", std::env::consts::EXE_SUFFIX));
    // The example configuration sits next to the plugins it names.
    let config = workspace
        .target_dir
        .join(plugins::EXAMPLES_OUT_DIR)
        .join(EXAMPLE_CONFIG_NAME);
    let source = workspace.root.join(EXAMPLE_CONFIG);
    std::fs::copy(&source, &config).with_context(|| {
        format!(
            "failed to copy {} to {}",
            source.display(),
            config.display()
        )
    })?;
    let host_args = after_separator(host_args);
    let mut host = Command::new(&binary);
    host.current_dir(&workspace.root)
        .arg("--config.file")
        .arg(&config)
        .args(host_args);
    print_command(&host);
    exec(host)
}

/// `cargo xtask run -- FLAGS`: the leading `--` is the build tool's, not
/// the host's.
fn after_separator(args: &[OsString]) -> &[OsString] {
    match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    }
}

fn test(cargo_args: &[OsString]) -> Result<()> {
    let workspace = Workspace::locate()?;
    layers::check(&workspace)?;
    apt::ensure_test_packages(&workspace)?;
    // Debian's Go and client_golang: the client_golang port test.
    peers::ensure_go(&workspace)?;
    let venv = python::ensure_venv(&workspace)?;
    guest::install_all(&workspace)?;
    plugins::build(&workspace)?;
    let mut cargo = workspace.cargo();
    cargo.args(["test", "--release"]);
    // Every test: the host's three crates, the build tool, the SDK's and
    // the example plugins' native tests, unless told otherwise.
    let selects_packages = cargo_args.iter().take_while(|arg| *arg != "--").any(|arg| {
        let arg = arg.to_string_lossy();
        arg == "-p" || arg.starts_with("--package") || arg == "--workspace"
    });
    if !selects_packages {
        for package in HOST_CRATES.iter().chain(&["xtask", "wasm-exporter-sdk"]) {
            cargo.args(["-p", package]);
        }
        // The example plugins' own unit tests (their parsers), natively.
        for package in plugins::example_packages(&workspace)? {
            cargo.args(["-p", &package]);
        }
    }
    cargo.args(cargo_args);
    python::activate(&mut cargo, &venv)?;
    workspace.run(&mut cargo)
}

/// The four real plugins against the Debian exporters they replace
/// (`host/server/benches/exporters.rs`).
fn bench_exporters() -> Result<()> {
    let workspace = Workspace::locate()?;
    apt::ensure_test_packages(&workspace)?;
    plugins::build(&workspace)?;
    workspace.bench_release_host("exporters")
}

/// The soak test: `cargo bench --bench soak`, options after `--`.
fn soak(args: &[OsString]) -> Result<()> {
    let workspace = build_plugins()?;
    let mut cargo = workspace.cargo();
    cargo.args(["bench", "-p", HOST_PACKAGE, "--bench", "soak"]);
    let options: Vec<&OsString> = args.iter().filter(|a| *a != "--").collect();
    if !options.is_empty() {
        cargo.arg("--").args(options);
    }
    workspace.run(&mut cargo)
}

fn bench(cargo_args: &[OsString]) -> Result<()> {
    // `cargo xtask bench -- --bench scaling -- --plugins 100`: the first
    // `--` separates this command's arguments, the next the benchmark's.
    let cargo_args = match cargo_args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => cargo_args,
    };
    let workspace = build_plugins()?;
    let mut cargo = workspace.cargo();
    cargo.args(["bench", "-p", HOST_PACKAGE]);
    // Only the criterion benchmarks by default: the peer benchmark starts
    // other exporters and has its own command.
    let selects_benches = cargo_args
        .iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.to_string_lossy().starts_with("--bench") || arg == "--all-targets");
    if !selects_benches {
        cargo.args([
            "--bench",
            "scrape",
            "--bench",
            "swap",
            "--bench",
            "pool",
            "--bench",
            "capabilities",
        ]);
    }
    workspace.run(cargo.args(cargo_args))
}

impl Workspace {
    /// Builds the release host, then runs `cargo bench -p wasm_exporter
    /// --bench <bench>` (a benchmark that starts the real binary).
    pub fn bench_release_host(&self, bench: &str) -> Result<()> {
        self.run(
            self.cargo()
                .args(["build", "--release", "-p", HOST_PACKAGE]),
        )?;
        self.run(
            self.cargo()
                .args(["bench", "-p", HOST_PACKAGE, "--bench", bench]),
        )
    }
}

/// Where the workspace and its build output live.
pub struct Workspace {
    /// The directory of the root `Cargo.toml`.
    pub root: PathBuf,
    /// Cargo's target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
    pub target_dir: PathBuf,
}

impl Workspace {
    pub fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask must live one level below the workspace root")?
            .to_path_buf();
        // Children run in `root`, where cargo resolves a relative target dir.
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Ok(Workspace { root, target_dir })
    }

    /// A `cargo` command run from the workspace root, with the cargo that
    /// runs this task.
    pub fn cargo(&self) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(&self.root);
        command
    }

    /// Prints and runs a command, failing unless it exits successfully.
    pub fn run(&self, command: &mut Command) -> Result<()> {
        print_command(command);
        let status = command
            .status()
            .with_context(|| format!("failed to start `{}`", display(command)))?;
        if !status.success() {
            bail!("`{}` failed ({status})", display(command));
        }
        Ok(())
    }
}

fn print_command(command: &Command) {
    eprintln!("+ {}", display(command));
}

fn display(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces this process with `command`, so signals reach the host directly.
#[cfg(unix)]
fn exec(mut command: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Err(error).with_context(|| format!("failed to run `{}`", display(&command)))
}

#[cfg(not(unix))]
fn exec(mut command: Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("failed to run `{}`", display(&command)))?;
    std::process::exit(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::after_separator;

    #[test]
    fn run_passes_the_flags_after_the_separator() {
        let args: Vec<OsString> = ["--", "--log.level", "debug"].map(Into::into).to_vec();
        assert_eq!(after_separator(&args), &args[1..]);
        let bare: Vec<OsString> = ["--log.level", "debug"].map(Into::into).to_vec();
        assert_eq!(after_separator(&bare), &bare[..]);
        assert!(after_separator(&[]).is_empty());
    }
}
