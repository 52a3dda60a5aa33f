//! The `wasm_exporter` binary: parses flags and wires the library together.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wasm_exporter::config::{self, parse_duration, whole_millis};
use wasm_exporter::connections::{self, Timeouts};
use wasm_exporter::describe;
use wasm_exporter::exposition::block;
use wasm_exporter::exposition::encode::Format;
use wasm_exporter::http::{self, Server, ServerConfig};
use wasm_exporter::lint;
use wasm_exporter::log::LogFormat;
use wasm_exporter::registry::Registry;
use wasm_exporter::reload::{self, Reloader, Source};
use wasm_exporter::runtime::cache;
use wasm_exporter::runtime::collect::{self, CollectInput};
use wasm_exporter::runtime::compiler::CompileWorker;
use wasm_exporter::runtime::engine::{self, Runtime, RuntimeOptions};
use wasm_exporter::runtime::grants::Grants;
use wasm_exporter::runtime::limits::{self, PluginLimits};
use wasm_exporter::runtime::load;
use wasm_exporter::runtime::outcome::{Outcome, root_message};
use wasm_exporter::runtime::sandbox::PluginContext;
use wasm_exporter::scaffold;
use wasm_exporter::web_config::WebConfig;

/// Prometheus exporter that hosts collectors written as WebAssembly components.
#[derive(Parser, Debug)]
#[command(
    name = "wasm_exporter",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs one scrape of one plugin and prints its exposition.
    Collect(CollectArgs),
    /// Prints the reference of the metrics a plugin declares (its
    /// `describe`), as Markdown or JSON.
    Describe(DescribeArgs),
    /// Checks a plugin file: that it is a component of the world this host
    /// serves, that a configuration grants what its imports need, and runs
    /// its describe and one collect, linting the output as
    /// `promtool check metrics` does. Exits non-zero on any problem.
    Check(CheckArgs),
    /// Makes a new plugin from the language's template, named after it; it
    /// builds and passes `check` as it is.
    New(NewArgs),
    /// Checks a configuration file: syntax, fields, secrets, and that every
    /// plugin it names loads and passes the smoke test.
    CheckConfig(CheckConfigArgs),
    /// Checks web configuration files (`--web.config.file`): fields, TLS
    /// settings, certificate and key files, bcrypt hashes.
    CheckWebConfig(CheckWebConfigArgs),
    /// The host's compiler process: a component on stdin, its compiled
    /// artifact on stdout (started by the host itself).
    #[command(hide = true)]
    CompileWorker(CompileWorkerArgs),
}

/// The argument that makes the compiler process's engine match the host's.
#[derive(Args, Debug)]
struct CompileWorkerArgs {
    #[arg(long = "plugins.max-instances")]
    max_instances: u32,
}

#[derive(Args, Debug)]
struct CheckWebConfigArgs {
    /// The web configuration files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    file: PluginFileArgs,
    /// A configuration file to check the plugin against: its entry for
    /// this file (by path, or `--plugin`) gives the grants, configuration
    /// and limits it runs with, and every capability its imports need
    /// must be granted there.
    #[arg(long = "config.file", value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// The plugin's name in `--config.file` (`TENANT/NAME` for a tenant's),
    /// when it is not found there by its path.
    #[arg(long = "plugin", value_name = "NAME", requires = "config_file")]
    plugin_name: Option<String>,
    /// Target handed to the plugin, as `/probe?target=` would.
    #[arg(long)]
    target: Option<String>,
    /// Series in one family past which a cardinality warning is given.
    #[arg(long = "lint.max-series-per-family", value_name = "N", default_value_t = lint::DEFAULT_MAX_SERIES_PER_FAMILY)]
    max_series_per_family: usize,
    /// A lint rule not to apply (repeatable), as findings name it: e.g.
    /// `camel_case` for a plugin that keeps another exporter's names.
    #[arg(long = "lint.skip", value_name = "RULE", value_parser = clap::builder::PossibleValuesParser::new(lint::RULES))]
    skip: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args, Debug)]
struct NewArgs {
    /// The plugin's language.
    #[arg(long, value_enum)]
    lang: NewLang,
    /// The plugin's name: it prefixes its metrics (lowercase, digits, `_`).
    name: String,
    /// The directory to create (default: NAME in the current directory).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The SDKs a Rust or Go plugin depends on by path (default: `sdk/` of
    /// the wasm_exporter checkout the current directory is in).
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum NewLang {
    Rust,
    Python,
    Js,
    C,
    Zig,
    Go,
}

#[derive(Args, Debug)]
struct CheckConfigArgs {
    /// The configuration file.
    file: PathBuf,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Directory whose `*.wasm` files are served as plugins (name = file stem).
    #[arg(
        long = "plugins.dir",
        value_name = "DIR",
        conflicts_with = "config_file"
    )]
    plugins_dir: Option<PathBuf>,
    /// Configuration file (YAML): plugins, their limits and configuration.
    #[arg(long = "config.file", value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Directory of the compile cache (compiled plugins kept across restarts).
    #[arg(long = "cache.dir", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not cache compiled plugins on disk.
    #[arg(long = "cache.disable")]
    cache_disable: bool,
    /// Do not watch plugin files and the configuration for changes
    /// (SIGHUP and POST /-/reload still reload).
    #[arg(long = "watch.disable")]
    watch_disable: bool,
    /// Quiet period after a file change before reloading.
    #[arg(long = "watch.debounce", default_value = "100ms", value_parser = parse_duration)]
    watch_debounce: Duration,
    /// How long a plugin file that changed moments ago and does not load is
    /// given to finish being written before it counts as a failed reload.
    #[arg(long = "watch.settle", default_value = "1s", value_parser = parse_duration)]
    watch_settle: Duration,
    /// Address to listen on (`host:port`, or `:port` for all interfaces).
    #[arg(long = "web.listen-address", default_value = ":9917")]
    listen_address: String,
    /// exporter-toolkit web configuration file (TLS, mutual TLS, basic
    /// auth, response headers); read again when it or a file it names
    /// changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    web_config_file: Option<PathBuf>,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    telemetry_path: String,
    /// Maximum number of scrapes served at once; 0 means no limit.
    #[arg(long = "web.max-requests", default_value_t = 40)]
    max_requests: usize,
    /// Connections open at once; past it the oldest idle one is closed for
    /// a new one (0 means no limit).
    #[arg(long = "web.max-connections", default_value_t = connections::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Time a client has to send a request's headers once it started.
    #[arg(long = "web.read-header-timeout", default_value = "10s", value_parser = parse_duration)]
    read_header_timeout: Duration,
    /// Time an idle keep-alive connection is kept open.
    #[arg(long = "web.idle-timeout", default_value = "2m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Time from a request's headers to the last byte of its response
    /// (must exceed the longest scrape).
    #[arg(long = "web.write-timeout", default_value = "2m", value_parser = parse_duration)]
    write_timeout: Duration,
    /// Plugin instances alive at once across all concurrent scrapes (the
    /// instance pool); a plugin past it waits for a free one.
    #[arg(long = "plugins.max-instances", default_value_t = limits::DEFAULT_MAX_INSTANCES)]
    max_instances: u32,
    /// Host memory all running plugins may hold at once (linear memory and
    /// results not yet sent), in bytes; a plugin past it waits.
    #[arg(long = "plugins.memory-budget-bytes", default_value_t = limits::DEFAULT_MEMORY_BUDGET_BYTES)]
    memory_budget_bytes: u64,
    /// Unused instance-pool slots kept warm for the plugin that used them
    /// last: fewer than the plugins served makes their calls slower, each
    /// costs up to --plugins.keep-resident-bytes of RAM.
    #[arg(long = "plugins.warm-slots", default_value_t = limits::DEFAULT_WARM_SLOTS)]
    warm_slots: u32,
    /// Linear memory each instance-pool slot keeps resident between calls
    /// and resets in place, in bytes.
    #[arg(long = "plugins.keep-resident-bytes", default_value_t = limits::DEFAULT_KEEP_RESIDENT_BYTES)]
    keep_resident_bytes: usize,
    /// Subtracted from Prometheus' scrape timeout header (e.g. 500ms, 1s).
    #[arg(long = "scrape.timeout-offset", default_value = "500ms", value_parser = parse_duration)]
    timeout_offset: Duration,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args, Debug)]
struct LimitArgs {
    /// Default wall-clock limit of one plugin's collect (e.g. 5s, 800ms).
    #[arg(long = "plugin.timeout", default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Default fuel budget of one plugin's collect.
    #[arg(long = "plugin.fuel", default_value_t = limits::DEFAULT_FUEL)]
    fuel: u64,
    /// Default linear memory cap of one plugin, in bytes.
    #[arg(long = "plugin.memory-bytes", default_value_t = limits::DEFAULT_MEMORY_BYTES)]
    memory_bytes: u64,
    /// Default cap on samples one plugin may return per scrape.
    #[arg(long = "plugin.max-series", default_value_t = limits::DEFAULT_MAX_SERIES)]
    max_series: u64,
    /// Default cap on exposition bytes one plugin may return per scrape.
    #[arg(long = "plugin.max-bytes", default_value_t = limits::DEFAULT_MAX_BYTES)]
    max_bytes: u64,
    /// Default cap on the labels of one series.
    #[arg(long = "plugin.max-labels-per-series", default_value_t = limits::DEFAULT_MAX_LABELS_PER_SERIES)]
    max_labels_per_series: u64,
    /// Default cap on the buckets of one histogram data point.
    #[arg(long = "plugin.max-buckets", default_value_t = limits::DEFAULT_MAX_BUCKETS)]
    max_buckets: u64,
    /// Default cap on the quantiles of one summary data point.
    #[arg(long = "plugin.max-quantiles", default_value_t = limits::DEFAULT_MAX_QUANTILES)]
    max_quantiles: u64,
    /// Default cap on the states of one state-set data point.
    #[arg(long = "plugin.max-states", default_value_t = limits::DEFAULT_MAX_STATES)]
    max_states: u64,
}

impl LimitArgs {
    fn limits(&self) -> Result<PluginLimits> {
        let memory_bytes = limits::check_memory_bytes(self.memory_bytes)
            .map_err(|e| anyhow::anyhow!("--plugin.memory-bytes {e}"))?;
        Ok(PluginLimits {
            fuel: self.fuel,
            timeout_ms: whole_millis(self.timeout),
            memory_bytes,
            max_series: self.max_series,
            max_bytes: self.max_bytes,
            max_labels_per_series: self.max_labels_per_series,
            max_buckets: self.max_buckets,
            max_quantiles: self.max_quantiles,
            max_states: self.max_states,
            reserved_label: None,
        })
    }
}

#[derive(Args, Debug)]
struct LogArgs {
    /// Only log messages with the given severity or above (debug, info, warn, error).
    #[arg(
        id = "log.level",
        long = "log.level",
        default_value = "info",
        global = true
    )]
    level: String,
    /// Output format of log messages.
    #[arg(
        id = "log.format",
        long = "log.format",
        value_enum,
        default_value = "logfmt",
        global = true
    )]
    format: LogFormat,
}

#[derive(Args, Debug)]
struct CollectArgs {
    #[command(flatten)]
    file: PluginFileArgs,
    /// Target handed to the plugin, as `/probe?target=` would.
    #[arg(long)]
    target: Option<String>,
    /// Exposition format to print.
    #[arg(long, value_enum, default_value = "text")]
    format: PrintFormat,
    /// Also print what the call cost (series, fuel, fuel per series, peak
    /// memory, duration) to stderr.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// One plugin file run on its own (`collect`, `describe`): the file, its
/// configuration and the compile cache.
#[derive(Args, Debug)]
struct PluginFileArgs {
    /// The plugin file.
    plugin: PathBuf,
    /// Plugin configuration, as key=value (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    config: Vec<(String, String)>,
    /// Directory of the compile cache, shared with the server's: a large
    /// plugin (Python, JavaScript) compiles once, not on every run.
    #[arg(long = "cache.dir", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Do not cache the compiled plugin on disk.
    #[arg(long = "cache.disable")]
    cache_disable: bool,
}

#[derive(Args, Debug)]
struct DescribeArgs {
    #[command(flatten)]
    file: PluginFileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: DescribeFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DescribeFormat {
    Markdown,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PrintFormat {
    Text,
    Openmetrics,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::CompileWorker(args)) = &cli.command {
        // No log and no async runtime: stdout carries the artifact.
        return match engine::compile_worker_main(args.max_instances) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}", root_message(&e));
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = wasm_exporter::log::init(&cli.log.level, cli.log.format) {
        eprintln!("wasm_exporter: {e:#}");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the async runtime");
    let result = match cli.command {
        Some(Command::Collect(args)) => runtime.block_on(collect_once(args)),
        Some(Command::Describe(args)) => runtime.block_on(describe_plugin(args)),
        Some(Command::Check(args)) => runtime.block_on(check_plugin(args)),
        Some(Command::New(args)) => new_plugin(args),
        Some(Command::CheckConfig(args)) => runtime.block_on(check_config(args)),
        Some(Command::CheckWebConfig(args)) => Ok(check_web_config(&args)),
        Some(Command::CompileWorker(_)) => unreachable!("handled above"),
        None => runtime.block_on(serve(cli.serve)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "exiting");
            eprintln!("wasm_exporter: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The server compiles plugins in a child process of its own binary, so
/// that the compiler's memory is returned when it exits (runtime's
/// `compiler` module). Without a path to the binary it compiles in
/// process.
fn compile_worker(max_instances: u32) -> Option<CompileWorker> {
    match std::env::current_exe() {
        Ok(program) => Some(CompileWorker {
            program,
            args: vec![
                "compile-worker".into(),
                "--plugins.max-instances".into(),
                max_instances.to_string().into(),
            ],
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot find the host's binary; compiling in process");
            None
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let limits = args.limits.limits()?;
    raise_open_files_limit();
    let source = match (&args.config_file, &args.plugins_dir) {
        (Some(file), _) => Source::ConfigFile(file.clone()),
        (None, Some(dir)) => {
            if !dir.is_dir() {
                bail!(
                    "--plugins.dir {}: not a directory (or does not exist)",
                    dir.display()
                );
            }
            Source::PluginsDir(dir.clone())
        }
        (None, None) => bail!("no plugins to serve: give --plugins.dir DIR or --config.file FILE"),
    };
    let cache_dir =
        (!args.cache_disable).then(|| args.cache_dir.clone().unwrap_or_else(cache::default_dir));
    let runtime = Runtime::with_options(RuntimeOptions {
        cache_dir,
        max_instances: args.max_instances,
        memory_budget_bytes: args.memory_budget_bytes,
        threads: 0,
        warm_slots: args.warm_slots,
        keep_resident_bytes: args.keep_resident_bytes,
        compile_worker: compile_worker(args.max_instances),
        release_memory: Some(release_memory),
    })?;
    let registry = Registry::default_registry().clone();
    let reloader = Reloader::new(
        runtime.clone(),
        registry.clone(),
        source,
        limits,
        args.watch_settle,
    );
    // A configuration that does not load at start is fatal, as in
    // Prometheus; it is checked before the port opens.
    reloader.check().map_err(anyhow::Error::new)?;
    let web = args
        .web_config_file
        .as_deref()
        .map(WebConfig::open)
        .transpose()?;
    let server = Server::new(
        registry.clone(),
        Some(reloader.clone()),
        ServerConfig {
            telemetry_path: args.telemetry_path,
            max_requests: args.max_requests,
            timeout_offset: args.timeout_offset,
            max_connections: args.max_connections,
            timeouts: Timeouts {
                read_header: args.read_header_timeout,
                idle: args.idle_timeout,
                write: args.write_timeout,
            },
        },
        web,
    );
    // Install the SIGHUP handler before the port opens: a SIGHUP that
    // arrived before it would terminate the process. One that arrives
    // while the plugins load is handled once they are.
    use tokio::signal::unix::{SignalKind, signal};
    let hangup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    // The port opens before any plugin loads: `/-/healthy` answers at once,
    // `/-/ready` (and the plugins' series) once they are loaded.
    let (listener, address) = http::bind(&args.listen_address).await?;
    tracing::info!(address = %address, version = wasm_exporter::VERSION, "listening");
    let serving = tokio::spawn(server.clone().serve(listener));
    let report = reloader.reload().await.map_err(anyhow::Error::new)?;
    if !report.settling.is_empty() {
        // Files modified a moment ago that do not load yet: give them time.
        tokio::time::sleep(args.watch_settle).await;
        reloader.reload().await.map_err(anyhow::Error::new)?;
    }
    let _watching = if args.watch_disable {
        None
    } else {
        Some(
            reloader
                .watch(args.watch_debounce)
                .await
                .context("cannot watch for file changes")?,
        )
    };
    server.set_ready(true);
    // The startup summary: every registry's plugins, those that did not
    // load, the tenants, and what loading cost.
    let tenants = reloader.tenants().all();
    let (mut plugins, mut failed) = (0, 0);
    for registry in std::iter::once(&registry).chain(tenants.iter().map(|t| &t.registry)) {
        for plugin in registry.snapshot().values() {
            plugins += 1;
            failed += usize::from(plugin.version().is_none());
        }
    }
    tracing::info!(
        plugins,
        failed,
        tenants = tenants.len(),
        compiled = runtime.compilations(),
        from_cache = runtime.cache_hits(),
        "ready"
    );
    let hangups = tokio::spawn(reload_on_sighup(reloader, hangup));
    shutdown_signal().await;
    tracing::info!("shutting down");
    serving.abort();
    hangups.abort();
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft limit on open files to the hard limit, as Prometheus
/// does: each scrape connection and each plugin file takes one, and the
/// usual soft limit of 1,024 is low for a host serving many scrapers.
fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::debug!(from = ?limit.current, to = ?limit.maximum, "raised the open files limit")
            }
            Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
        }
    }
}

async fn reload_on_sighup(reloader: Arc<Reloader>, mut hangup: tokio::signal::unix::Signal) {
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading");
        if let Ok(report) = reloader.reload().await {
            reload::log_report(&report);
        }
    }
}

/// `check-web-config`: each file as `--web.config.file` would read it, as
/// `promtool check web-config` reports.
fn check_web_config(args: &CheckWebConfigArgs) -> ExitCode {
    let mut failed = false;
    for file in &args.files {
        match wasm_exporter::web_config::load(file) {
            Ok(settings) => println!(
                "{} SUCCESS (TLS: {}, basic auth: {}, headers: {})",
                file.display(),
                if settings.tls.is_some() { "on" } else { "off" },
                if settings.basic_auth.is_some() {
                    "on"
                } else {
                    "off"
                },
                settings.headers.len()
            ),
            Err(e) => {
                println!("{} FAILED: {e}", file.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn check_plugin(args: CheckArgs) -> Result<ExitCode> {
    let CheckArgs {
        mut file,
        config_file,
        plugin_name,
        target,
        max_series_per_family,
        skip,
        limits,
    } = args;
    let mut limits = limits.limits()?;
    println!("Checking {}", file.plugin.display());
    // The configuration's entry for the plugin: its grants, configuration
    // and limits.
    let mut grants = None;
    if let Some(config_file) = &config_file {
        let resolved = match config::load(config_file, &limits) {
            Ok(r) => r,
            Err(e) => {
                println!("  FAILED: {e}");
                return Ok(ExitCode::FAILURE);
            }
        };
        let Some(spec) = find_spec(&resolved, &file.plugin, plugin_name.as_deref()) else {
            println!(
                "  FAILED: {}: no plugin {} (add it, or name it with --plugin)",
                config_file.display(),
                match &plugin_name {
                    Some(name) => format!("named {name:?}"),
                    None => format!("with path {}", file.plugin.display()),
                }
            );
            return Ok(ExitCode::FAILURE);
        };
        limits = spec.limits.clone();
        let mut config = spec.config.clone();
        for (k, v) in file.config.drain(..) {
            config.retain(|(key, _)| *key != k);
            config.push((k, v));
        }
        file.config = config;
        grants = Some(spec.grants.clone());
    }
    let (_, context, version) =
        match load_alone(file, &limits, grants.clone().unwrap_or_default()).await {
            Ok(loaded) => loaded,
            Err(e) => {
                println!("  FAILED: {e:#}");
                return Ok(ExitCode::FAILURE);
            }
        };
    let (mut problems, mut warnings) = (0, 0);
    println!(
        "  component: OK (WIT {}, {} bytes, compiled in {} ms)",
        version.wit_version,
        version.size_bytes,
        version.compile_time.as_millis()
    );
    // What its imports need granted.
    let needed: Vec<(&String, &str)> = version
        .imports
        .iter()
        .filter_map(|i| load::grant_needed(i).map(|g| (i, g)))
        .collect();
    if needed.is_empty() {
        println!("  capabilities: none needed");
    }
    for (import, grant) in needed {
        match &grants {
            None => {
                println!("  capabilities: imports {import}: needs {grant} in its configuration")
            }
            Some(g) if load::granted_for(g, import) => {
                println!("  capabilities: imports {import}: granted")
            }
            // Not a problem by itself: a toolchain may import what the
            // plugin never calls (componentize-py imports sockets and
            // files), and a call is refused, not fatal. The collect below
            // runs with these grants: a plugin that needs one fails there.
            Some(_) => {
                warnings += 1;
                println!(
                    "  WARNING capabilities: imports {import}, which needs {grant}: not granted by {} (its calls will be refused)",
                    config_file.as_deref().unwrap_or(Path::new("")).display()
                );
            }
        }
    }
    println!("  describe: {} families", version.descriptors.len());
    let input = CollectInput {
        target,
        ..CollectInput::default()
    };
    let outcome = collect::collect(&version, &context, &limits, &input, limits.timeout()).await;
    let families = match outcome.result {
        Ok(families) => {
            println!(
                "  collect: OK, {} series, {} fuel, {} µs",
                outcome.series,
                outcome.fuel_consumed,
                outcome.duration.as_micros()
            );
            families
        }
        Err(failure) => {
            println!("  FAILED: collect: {}: {}", failure.reason, failure.message);
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut findings = lint::lint(&families, max_series_per_family);
    findings.extend(lint::compare(&version.descriptors, &families));
    findings.retain(|f| !skip.iter().any(|rule| rule == f.rule));
    for f in &findings {
        let level = match f.severity {
            lint::Severity::Problem => {
                problems += 1;
                "PROBLEM"
            }
            lint::Severity::Warning => {
                warnings += 1;
                "WARNING"
            }
        };
        println!("  {level} {}: {} [{}]", f.family, f.message, f.rule);
    }
    if problems > 0 {
        println!("  FAILED: {problems} problems, {warnings} warnings");
        Ok(ExitCode::FAILURE)
    } else {
        println!(
            "  SUCCESS: {} families, {warnings} warnings",
            families.len()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// The entry of `resolved` for the plugin `file`: the one named `name`
/// (`tenant/plugin` for a tenant's), or else the one whose path is the
/// same file.
fn find_spec<'a>(
    resolved: &'a config::ResolvedConfig,
    file: &Path,
    name: Option<&str>,
) -> Option<&'a config::PluginSpec> {
    let mut all = resolved.all_plugins();
    match name {
        Some(name) => all.find(|(n, _)| n == name).map(|(_, spec)| spec),
        None => {
            let wanted = std::fs::canonicalize(file).ok()?;
            all.find(|(_, spec)| std::fs::canonicalize(&spec.path).ok().as_ref() == Some(&wanted))
                .map(|(_, spec)| spec)
        }
    }
}

fn new_plugin(args: NewArgs) -> Result<ExitCode> {
    let lang = match args.lang {
        NewLang::Rust => scaffold::Lang::Rust,
        NewLang::Python => scaffold::Lang::Python,
        NewLang::Js => scaffold::Lang::Js,
        NewLang::C => scaffold::Lang::C,
        NewLang::Zig => scaffold::Lang::Zig,
        NewLang::Go => scaffold::Lang::Go,
    };
    let dir = std::path::absolute(args.dir.unwrap_or_else(|| PathBuf::from(&args.name)))?;
    let sdk = match args.sdk {
        Some(sdk) => Some(std::path::absolute(&sdk)?),
        None => scaffold::find_sdk(&std::env::current_dir()?),
    };
    match scaffold::create(lang, &args.name, &dir, sdk.as_deref()) {
        Ok(next) => {
            print!("{next}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn check_config(args: CheckConfigArgs) -> Result<ExitCode> {
    let limits = args.limits.limits()?;
    println!("Checking {}", args.file.display());
    let resolved = match config::load(&args.file, &limits) {
        Ok(r) => r,
        Err(e) => {
            println!("  FAILED: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let runtime = Runtime::new()?;
    let mut failed = 0;
    let plugins: Vec<(String, &config::PluginSpec)> = resolved.all_plugins().collect();
    for (name, spec) in &plugins {
        let context = Arc::new(PluginContext::with_grants(
            &spec.name,
            spec.config.clone(),
            spec.grants.clone(),
        ));
        let loaded = match load::load(&runtime, &spec.path, &context, &spec.limits)
            .await
            .map(Arc::new)
        {
            Ok(v) => reload::smoke_test(&v, &context, &spec.limits)
                .await
                .map(|()| v),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(v) => {
                // What it imports to reach outside, and is not granted.
                let ungranted: Vec<String> = v
                    .imports
                    .iter()
                    .filter(|i| !load::granted_for(&spec.grants, i))
                    .filter_map(|i| load::grant_needed(i).map(|g| format!("{i} (needs {g})")))
                    .collect();
                if ungranted.is_empty() {
                    println!(
                        "  plugin {name}: OK ({}, {} families described)",
                        spec.path.display(),
                        v.descriptors.len()
                    );
                } else {
                    failed += 1;
                    println!(
                        "  plugin {name}: FAILED: it imports {}, which the configuration does not grant",
                        ungranted.join(", ")
                    );
                }
            }
            Err(e) => {
                failed += 1;
                println!("  plugin {name}: FAILED: {e}");
            }
        }
    }
    if failed > 0 {
        println!(
            "  FAILED: {failed} of {} plugins do not load or are not granted what they import",
            plugins.len()
        );
        Ok(ExitCode::FAILURE)
    } else {
        println!("  SUCCESS: {} plugins found", plugins.len());
        Ok(ExitCode::SUCCESS)
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// One plugin file loaded on its own, for the subcommands that run one:
/// its name, context and loaded version.
async fn load_alone(
    file: PluginFileArgs,
    limits: &PluginLimits,
    grants: Grants,
) -> Result<(String, Arc<PluginContext>, Arc<load::PluginVersion>)> {
    let PluginFileArgs {
        plugin,
        config,
        cache_dir,
        cache_disable,
    } = file;
    let cache_dir = (!cache_disable).then(|| cache_dir.unwrap_or_else(cache::default_dir));
    let runtime = Runtime::with_options(RuntimeOptions {
        cache_dir,
        ..RuntimeOptions::default()
    })?;
    let name = load::plugin_name(&plugin);
    let context = Arc::new(PluginContext::with_grants(&name, config, grants));
    let version = load::load(&runtime, &plugin, &context, limits)
        .await
        .map(Arc::new)
        .with_context(|| format!("plugin {name:?} did not load"))?;
    Ok((name, context, version))
}

async fn describe_plugin(args: DescribeArgs) -> Result<ExitCode> {
    let limits = PluginLimits::default();
    let (name, _, version) = load_alone(args.file, &limits, Grants::default()).await?;
    let out = match args.format {
        DescribeFormat::Markdown => describe::markdown(&name, &version.descriptors),
        DescribeFormat::Json => describe::json(&name, &version.descriptors),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

async fn collect_once(args: CollectArgs) -> Result<ExitCode> {
    let limits = args.limits.limits()?;
    let (name, context, version) = load_alone(args.file, &limits, Grants::default()).await?;
    let input = CollectInput {
        target: args.target,
        ..CollectInput::default()
    };
    let outcome = collect::collect(&version, &context, &limits, &input, limits.timeout()).await;
    if args.stats {
        eprintln!("{}", cost_line(&outcome));
    }
    match outcome.result {
        Ok(families) => {
            let format = match args.format {
                PrintFormat::Text => Format::Text,
                PrintFormat::Openmetrics => Format::OpenMetrics,
            };
            let mut sorted = families;
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            use std::io::Write as _;
            let out = block::write_all(&sorted, format);
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout.write_all(&out).and_then(|_| stdout.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                bail!("cannot write to stdout: {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!(
                "wasm_exporter: plugin {name:?} failed ({}): {}",
                failure.reason, failure.message
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// What one `collect` cost, on one logfmt line.
fn cost_line(outcome: &Outcome) -> String {
    let per_series = outcome
        .fuel_consumed
        .checked_div(outcome.series)
        .unwrap_or(outcome.fuel_consumed);
    format!(
        "series={} fuel={} fuel_per_series={per_series} memory_peak_bytes={} duration_us={}",
        outcome.series,
        outcome.fuel_consumed,
        outcome.memory_peak_bytes,
        outcome.duration.as_micros()
    )
}

/// mimalloc: lifting a plugin's result and freeing it after the page is
/// sent allocates and frees every string of every series; glibc's malloc
/// spent a large share of a 10k-series scrape there. Built without
/// transparent huge pages (`no_thp`): with them, every 2 MiB region the
/// allocator touched stayed resident whole, and the host started from its
/// compile cache held 45 MiB instead of 17.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns the memory mimalloc keeps from freed allocations to the system
/// at once, instead of after its purge delay: called after each plugin
/// load, whose file, artifact and cache-entry buffers are megabytes freed
/// together.
#[allow(unsafe_code)]
fn release_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any
    // thread at any time; it only frees memory mimalloc owns and no longer
    // hands out.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
