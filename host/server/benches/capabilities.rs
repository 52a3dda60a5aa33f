//! What the capability layer costs: a granted file read (an ordinary file,
//! and a `/proc` file, whose reads stay on the plugin's thread) and a
//! granted loopback HTTP GET done by a plugin (the `reach_out` test plugin, through
//! `std::fs` and the SDK's HTTP client over `wasi:http`), against the same
//! done natively. A plugin's whole `collect` is measured, so a collect that
//! does nothing (`baseline`) is measured too: the capability's cost is the
//! difference.
//!
//! `cargo xtask bench -- --bench capabilities` (or `cargo bench -p
//! wasm_exporter --bench capabilities` after `cargo xtask plugins`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

use wasm_exporter::exposition::block::write_all;
use wasm_exporter::exposition::encode::Format;
use wasm_exporter::runtime::collect::{self, CollectInput};
use wasm_exporter::runtime::engine::Runtime;
use wasm_exporter::runtime::grants::{FileGrant, Grants, UrlPrefix};
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::load::{self, PluginVersion};
use wasm_exporter::runtime::sandbox::PluginContext;

/// The response body the loopback server sends.
const BODY: &[u8] = b"ok\n";

/// An HTTP/1.1 server on loopback answering every request with
/// [`BODY`] and closing the connection.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                BODY.len()
            );
            let _ = stream.write_all(BODY);
        }
    });
    format!("http://{address}/")
}

/// The same GET, natively: a new connection, the request, the whole
/// response.
fn native_get(address: &str) -> usize {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    assert!(response.ends_with(BODY));
    response.len()
}

struct Plugin {
    version: Arc<PluginVersion>,
    context: Arc<PluginContext>,
}

fn load(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    config: &[(&str, &str)],
    grants: Grants,
) -> Plugin {
    let config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let context = Arc::new(PluginContext::with_grants("reach_out", config, grants));
    let version = rt
        .block_on(load::load(
            runtime,
            &common::plugin("test-plugins", "reach_out"),
            &context,
            &PluginLimits::default(),
        ))
        .map(Arc::new)
        .unwrap();
    Plugin { version, context }
}

/// One collect, which must report every attempt as having worked.
fn collect(rt: &tokio::runtime::Runtime, plugin: &Plugin, attempts: usize) {
    let outcome = rt.block_on(collect::collect(
        &plugin.version,
        &plugin.context,
        &PluginLimits::default(),
        &CollectInput::default(),
        Duration::from_secs(5),
    ));
    let families = outcome.result.expect("collect succeeds");
    let text = String::from_utf8(write_all(&families, Format::Text)).unwrap();
    let worked = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.ends_with(" 1"))
        .count();
    assert_eq!(worked, attempts, "every attempt works: {text}");
}

fn bench_capabilities(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new().unwrap();
    // A small file in a directory of its own, as a plugin would read a
    // /proc file.
    let dir = std::env::temp_dir().join(format!("wasm_exporter_bench_caps_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("loadavg");
    std::fs::write(&file, "0.52 0.58 0.59 1/1234 56789\n").unwrap();
    let file = file.to_str().unwrap().to_owned();
    let url = serve();
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let baseline = load(&rt, &runtime, &[], Grants::default());
    let reader = load(
        &rt,
        &runtime,
        &[("files", &file)],
        Grants {
            files: vec![FileGrant::new(&file, None).unwrap()],
            ..Grants::default()
        },
    );
    let proc_reader = load(
        &rt,
        &runtime,
        &[("files", "/proc/loadavg")],
        Grants {
            files: vec![FileGrant::new("/proc/loadavg", None).unwrap()],
            ..Grants::default()
        },
    );
    let getter = load(
        &rt,
        &runtime,
        &[("http", &url)],
        Grants {
            http: vec![UrlPrefix::parse(&url).unwrap()],
            ..Grants::default()
        },
    );

    let mut group = c.benchmark_group("capability");
    group.bench_function("baseline/plugin", |b| b.iter(|| collect(&rt, &baseline, 0)));
    group.bench_function("file_read/plugin", |b| b.iter(|| collect(&rt, &reader, 1)));
    group.bench_function("file_read/native", |b| {
        b.iter(|| std::fs::read(&file).unwrap().len())
    });
    group.bench_function("proc_read/plugin", |b| {
        b.iter(|| collect(&rt, &proc_reader, 1))
    });
    group.bench_function("proc_read/native", |b| {
        b.iter(|| std::fs::read("/proc/loadavg").unwrap().len())
    });
    group.bench_function("http_get/plugin", |b| b.iter(|| collect(&rt, &getter, 1)));
    group.bench_function("http_get/native", |b| b.iter(|| native_get(&address)));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(2));
    targets = bench_capabilities
}
criterion_main!(benches);

/// The same allocator as the `wasm_exporter` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
