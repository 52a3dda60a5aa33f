//! The `wasm_exporter` binary: parses flags and wires the library together.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use wasm_exporter::collect::{self, CollectInput};
use wasm_exporter::encode::{self, Format};
use wasm_exporter::engine::{MAX_PLUGIN_MEMORY_BYTES, Runtime};
use wasm_exporter::http::{self, Server, ServerConfig};
use wasm_exporter::limits::{self, PluginLimits};
use wasm_exporter::load;
use wasm_exporter::log::LogFormat;
use wasm_exporter::registry::Registry;
use wasm_exporter::sandbox::PluginContext;

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
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Directory whose `*.wasm` files are served as plugins (name = file stem).
    #[arg(long = "plugins.dir", value_name = "DIR")]
    plugins_dir: Option<PathBuf>,
    /// Address to listen on (`host:port`, or `:port` for all interfaces).
    #[arg(long = "web.listen-address", default_value = ":9917")]
    listen_address: String,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    telemetry_path: String,
    /// Maximum number of scrapes served at once; 0 means no limit.
    #[arg(long = "web.max-requests", default_value_t = 40)]
    max_requests: usize,
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
}

impl LimitArgs {
    fn limits(&self) -> Result<PluginLimits> {
        if self.memory_bytes > MAX_PLUGIN_MEMORY_BYTES {
            bail!(
                "--plugin.memory-bytes {} is over the host's ceiling of {MAX_PLUGIN_MEMORY_BYTES}",
                self.memory_bytes
            );
        }
        Ok(PluginLimits {
            fuel: self.fuel,
            timeout_ms: self.timeout.as_millis().try_into().unwrap_or(u64::MAX),
            memory_bytes: self.memory_bytes,
            max_series: self.max_series,
            max_bytes: self.max_bytes,
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
    /// The plugin file.
    plugin: PathBuf,
    /// Target handed to the plugin, as `/probe?target=` would.
    #[arg(long)]
    target: Option<String>,
    /// Plugin configuration, as key=value (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    config: Vec<(String, String)>,
    /// Exposition format to print.
    #[arg(long, value_enum, default_value = "text")]
    format: PrintFormat,
    #[command(flatten)]
    limits: LimitArgs,
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

/// Parses `500ms`, `5s`, `1m`, `1.5s`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{s:?} has no unit (use ms, s or m)"))?;
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let limits = args.limits.limits()?;
    let Some(dir) = &args.plugins_dir else {
        bail!("no plugins to serve: give --plugins.dir DIR");
    };
    if !dir.is_dir() {
        bail!(
            "--plugins.dir {}: not a directory (or does not exist)",
            dir.display()
        );
    }
    let runtime = Runtime::new()?;
    let registry = Registry::default_registry().clone();
    for plugin in load::load_dir(&runtime, dir, &limits).await? {
        registry.register(plugin);
    }
    tracing::info!(plugins = registry.len(), dir = %dir.display(), "plugins loaded");
    let server = Server::new(
        registry,
        ServerConfig {
            telemetry_path: args.telemetry_path,
            max_requests: args.max_requests,
            timeout_offset: args.timeout_offset,
        },
    );
    let (listener, address) = http::bind(&args.listen_address).await?;
    server.set_ready(true);
    tracing::info!(address = %address, version = wasm_exporter::VERSION, "listening");
    let serving = tokio::spawn(server.serve(listener));
    shutdown_signal().await;
    tracing::info!("shutting down");
    serving.abort();
    drop(runtime);
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn collect_once(args: CollectArgs) -> Result<ExitCode> {
    let limits = args.limits.limits()?;
    let runtime = Runtime::new()?;
    let name = load::plugin_name(&args.plugin);
    let context = Arc::new(PluginContext::new(&name, args.config));
    let version = load::load(&runtime, &args.plugin, &context, &limits)
        .await
        .with_context(|| format!("plugin {name:?} did not load"))?;
    let input = CollectInput {
        target: args.target,
        params: Vec::new(),
    };
    let outcome = collect::collect(&version, &context, &limits, &input, limits.timeout()).await;
    match outcome.result {
        Ok(families) => {
            let format = match args.format {
                PrintFormat::Text => Format::Text,
                PrintFormat::Openmetrics => Format::OpenMetrics,
            };
            let mut sorted = families;
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            use std::io::Write as _;
            let out = encode::encode(&sorted, format);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5h").is_err());
    }
}

/// mimalloc: lifting a plugin's result and freeing it after the page is
/// sent allocates and frees every string of every series; glibc's malloc
/// spent a large share of a 10k-series scrape there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
