//! The `http_probe` plugin against Debian's blackbox exporter: both probe
//! the same loopback targets (nginx, a TLS nginx, a scripted server) and
//! must agree on every series they both expose, by name, type, help,
//! labels and, where it does not depend on timing, value.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{Exposition, Host, TempDir, example_plugin, get};
use crate::systems::{self, Daemon, Families};

/// Series of the blackbox exporter's `http` prober the plugin does not
/// produce: both need the verified chains or the leaf's distinguished
/// names as Go formats them.
const ONLY_THEIRS: [&str; 2] = [
    "probe_ssl_last_chain_expiry_timestamp_seconds",
    "probe_ssl_last_chain_info",
];

/// Series whose values are timings, compared by presence only.
const TIMINGS: [&str; 3] = [
    "probe_duration_seconds",
    "probe_dns_lookup_time_seconds",
    "probe_http_duration_seconds",
];

/// The scrape timeout both exporters get in the timeout case: each probes
/// for it less its 0.5 s offset.
const SCRAPE_TIMEOUT_SECONDS: &str = "5";

/// How long a scripted server runs at most, should a test hang.
const SERVER_LIFETIME: Duration = Duration::from_secs(120);

/// A loopback HTTP/1.1 server on a thread, answering each request with
/// what `answer(path)` returns, or holding the connection open without a
/// word when it returns `None`. Stopped on drop.
struct Scripted {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Scripted {
    fn start(answer: fn(&str) -> Option<String>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            let until = Instant::now() + SERVER_LIFETIME;
            while !stopped.load(Ordering::Relaxed) && Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(silent) = serve(stream, answer) {
                            held.push(silent);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("scripted server: {e}"),
                }
            }
        });
        Scripted {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head and answers it; hands the stream back when the
/// answer is silence.
fn serve(stream: TcpStream, answer: fn(&str) -> Option<String>) -> Option<TcpStream> {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut stream = reader.into_inner();
    match answer(&path) {
        Some(response) => {
            let _ = stream.write_all(response.as_bytes());
            None
        }
        None => Some(stream),
    }
}

/// `/loop` redirects to itself, `/chunked` sends a chunked body with a
/// `Last-Modified`, `/silent` never answers.
fn script(path: &str) -> Option<String> {
    match path {
        "/loop" => {
            Some("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n".into())
        }
        "/chunked" => Some(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\
             Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n\
             5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                .into(),
        ),
        "/silent" => None,
        _ => Some("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()),
    }
}

/// Certificates made by the openssl CLI: a self-signed RSA one, and an
/// ECDSA leaf for 127.0.0.1 issued by a test CA that outlives it.
struct Certificates {
    dir: TempDir,
}

impl Certificates {
    fn make() -> Certificates {
        let openssl = systems::installed("/usr/bin/openssl", "openssl");
        let dir = TempDir::new("certs");
        let run = |args: &[&str]| {
            let out = Command::new(&openssl)
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            "30",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=wasm_exporter test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.path().join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "20",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ]);
        let chain = [
            std::fs::read_to_string(dir.path().join("leaf.pem")).unwrap(),
            std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(dir.path().join("chain.pem"), chain).unwrap();
        Certificates { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A certificate's notAfter as Unix seconds, from `openssl x509
    /// -enddate` (read by `date`).
    fn not_after(&self, name: &str) -> f64 {
        let out = Command::new("/usr/bin/openssl")
            .args(["x509", "-noout", "-enddate", "-in", &self.path(name)])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let date = text.trim().strip_prefix("notAfter=").expect("notAfter=");
        let out = Command::new("date")
            .args(["-u", "-d", date, "+%s"])
            .output()
            .unwrap();
        assert!(out.status.success(), "date -d {date:?}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

/// nginx with two TLS listeners answering `tls` at `/`: `self_port` with
/// the self-signed certificate, `port` with the leaf and its CA.
struct TlsNginx {
    daemon: Daemon,
    self_port: u16,
}

impl TlsNginx {
    fn start(certs: &Certificates) -> TlsNginx {
        let dir = systems::Scratch::new("nginx_tls");
        let (port, self_port) = (systems::free_port(), systems::free_port());
        let server = |port: u16, cert: &str, key: &str| {
            format!(
                "    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {};
        ssl_certificate_key {};
        location = / {{ return 200 \"tls\\n\"; }}
    }}
",
                certs.path(cert),
                certs.path(key)
            )
        };
        let servers =
            server(port, "chain.pem", "leaf.key") + &server(self_port, "self.pem", "self.key");
        let daemon = systems::nginx_with("nginx-tls", dir, port, &servers);
        TlsNginx { daemon, self_port }
    }
}

/// The host serving `http_probe` for 127.0.0.0/8, and the blackbox
/// exporter, with the same modules: the defaults (`http_2xx` for the
/// exporter), `no_follow`, `insecure` and `ca`.
struct Probers {
    host: Host,
    blackbox: Daemon,
    _config: TempDir,
}

impl Probers {
    fn start(ca_file: Option<&str>) -> Probers {
        let dir = TempDir::new("http_probe");
        let plugin = dir.add("http_probe", &example_plugin("http_probe"));
        let host = Host::start_config(
            dir,
            &format!(
                "plugins:
  - name: http_probe
    path: {}
    targets: [127.0.0.0/8]
    limits: {{ timeout: 10s }}
    grants: {{ probe_target: true{} }}
    config:
      no_follow.follow_redirects: false
      insecure.insecure_skip_verify: true
{}",
                plugin.display(),
                ca_file.map_or(String::new(), |f| format!(", files: [{f}]")),
                ca_file.map_or(String::new(), |f| format!("      ca.ca_file: {f}\n")),
            ),
            &[],
        );
        let config = TempDir::new("blackbox_config");
        let file = config.path().join("blackbox.yml");
        std::fs::write(
            &file,
            format!(
                "modules:
  http_2xx:
    prober: http
  no_follow:
    prober: http
    http:
      follow_redirects: false
  insecure:
    prober: http
    http:
      tls_config:
        insecure_skip_verify: true
{}",
                ca_file.map_or(String::new(), |f| format!(
                    "  ca:\n    prober: http\n    http:\n      tls_config:\n        ca_file: {f}\n"
                )),
            ),
        )
        .unwrap();
        let blackbox = systems::exporter(
            "blackbox-exporter",
            &[&format!("--config.file={}", file.display())],
        );
        Probers {
            host,
            blackbox,
            _config: config,
        }
    }

    /// The plugin's exposition for `target` (its `probe_` families).
    fn ours(&self, target: &str, module: Option<&str>, headers: &[(&str, &str)]) -> Families {
        let mut path = format!("/probe?plugin=http_probe&target={}", encode(target));
        if let Some(module) = module {
            path.push_str(&format!("&module={module}"));
        }
        let response = self.host.get_with(&path, headers);
        assert_eq!(response.status, 200, "GET {path}: {}", response.body);
        let page = Exposition::parse(&response.body);
        assert_eq!(
            page.up("http_probe"),
            Some(1.0),
            "the plugin failed on {target}: {:?}",
            self.host.log()
        );
        Families::parse(&response.body).with_prefix("probe_")
    }

    /// The blackbox exporter's exposition for `target`.
    fn theirs(&self, target: &str, module: &str, headers: &[(&str, &str)]) -> Families {
        let url = self
            .blackbox
            .url(&format!("/probe?module={module}&target={}", encode(target)));
        let response = get(&url, headers);
        assert_eq!(response.status, 200, "GET {url}: {}", response.body);
        Families::parse(&response.body)
    }

    /// Both expositions for `target`, probed at the same time, after
    /// checking that they agree.
    fn agree(
        &self,
        target: &str,
        module: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (Families, Families) {
        let (ours, theirs) = std::thread::scope(|s| {
            let ours = s.spawn(|| self.ours(target, module, headers));
            let theirs = self.theirs(target, module.unwrap_or("http_2xx"), headers);
            (ours.join().unwrap(), theirs)
        });
        check_agreement(target, &ours, &theirs);
        (ours, theirs)
    }
}

/// A query parameter value, percent-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The same families (but for [`ONLY_THEIRS`]) with the same type, help
/// (but for the host's `probe_duration_seconds`), labels, and values but
/// for timings.
fn check_agreement(target: &str, ours: &Families, theirs: &Families) {
    let names = |f: &Families| f.0.keys().cloned().collect::<BTreeSet<_>>();
    let missing: Vec<String> = names(theirs)
        .difference(&names(ours))
        .filter(|n| !ONLY_THEIRS.contains(&n.as_str()))
        .cloned()
        .collect();
    assert!(missing.is_empty(), "{target}: the plugin lacks {missing:?}");
    let tolerance = |name: &str| {
        if TIMINGS.contains(&name) {
            f64::INFINITY
        } else {
            0.0
        }
    };
    if let Err(mismatches) = systems::compare(ours, theirs, &[], tolerance) {
        panic!("{target}: {mismatches:#?}\nours: {ours:#?}\ntheirs: {theirs:#?}");
    }
    for (name, family) in &ours.0 {
        if name != "probe_duration_seconds" {
            assert_eq!(family.help, theirs.0[name].help, "{target}: help of {name}");
        }
    }
}

fn value(families: &Families, name: &str) -> f64 {
    families
        .value(name, &[])
        .unwrap_or_else(|| panic!("no {name} in {families:#?}"))
}

/// nginx's pages: a file (with Last-Modified), the `return` at `/`, a
/// missing file (404), a directory without its slash (301, then its
/// index), and a closed port; then the same redirect not followed.
#[test]
fn http_probes_agree_with_the_blackbox_exporter() {
    let nginx = systems::nginx();
    let html = nginx.dir.path().join("html");
    std::fs::write(html.join("page.html"), "<p>a page of some length</p>\n").unwrap();
    std::fs::create_dir_all(html.join("dir")).unwrap();
    std::fs::write(html.join("dir/index.html"), "index\n").unwrap();
    let probers = Probers::start(None);
    let closed = systems::free_port();

    let (ours, _) = probers.agree(&nginx.url("/files/page.html"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 1.0);
    assert_eq!(value(&ours, "probe_http_status_code"), 200.0);
    assert_eq!(value(&ours, "probe_http_content_length"), 29.0);
    assert_eq!(value(&ours, "probe_http_uncompressed_body_length"), 29.0);
    assert_eq!(value(&ours, "probe_http_version"), 1.1);
    assert!(
        ours.0
            .contains_key("probe_http_last_modified_timestamp_seconds")
    );

    // A `host:port` target means http://host:port/.
    let (ours, _) = probers.agree(&nginx.address(), None, &[]);
    assert_eq!(value(&ours, "probe_http_content_length"), 3.0);

    let (ours, _) = probers.agree(&nginx.url("/files/missing.html"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 0.0);
    assert_eq!(value(&ours, "probe_http_status_code"), 404.0);

    let (ours, _) = probers.agree(&nginx.url("/files/dir"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 1.0);
    assert_eq!(value(&ours, "probe_http_redirects"), 1.0);
    assert_eq!(value(&ours, "probe_http_content_length"), 6.0);

    let (ours, _) = probers.agree(&nginx.url("/files/dir"), Some("no_follow"), &[]);
    assert_eq!(value(&ours, "probe_success"), 0.0);
    assert_eq!(value(&ours, "probe_http_status_code"), 301.0);
    assert_eq!(value(&ours, "probe_http_redirects"), 1.0);

    let (ours, _) = probers.agree(&format!("http://127.0.0.1:{closed}/"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 0.0);
    assert_eq!(value(&ours, "probe_http_status_code"), 0.0);
}

/// A server that accepts and never answers: both give up at the scrape
/// timeout less their offset, and report a failed probe. The plugin
/// returns that itself (it is up) before the host's deadline.
#[test]
fn a_silent_server_times_both_out() {
    let server = Scripted::start(script);
    let probers = Probers::start(None);
    let timeout = [(
        "X-Prometheus-Scrape-Timeout-Seconds",
        SCRAPE_TIMEOUT_SECONDS,
    )];
    let (ours, theirs) = probers.agree(&server.url("/silent"), None, &timeout);
    for side in [&ours, &theirs] {
        assert_eq!(value(side, "probe_success"), 0.0);
        assert_eq!(value(side, "probe_http_status_code"), 0.0);
    }
    // 5 s less the 0.5 s offset, less the plugin's margin of a tenth.
    let took = value(&ours, "probe_duration_seconds");
    assert!((4.0..4.5).contains(&took), "the probe took {took} s");
    assert!(
        ours.value("probe_http_duration_seconds", &[("phase", "connect")])
            .is_some_and(|c| c > 0.0),
        "the connection was made: {ours:#?}"
    );
}

/// A redirect loop stops after 10 redirects (the 11th is counted and
/// returned), and a chunked body has no content length, as in Go.
#[test]
fn redirect_loops_and_chunked_bodies_agree() {
    let server = Scripted::start(script);
    let probers = Probers::start(None);

    let (ours, _) = probers.agree(&server.url("/loop"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 0.0);
    assert_eq!(value(&ours, "probe_http_status_code"), 302.0);
    assert_eq!(value(&ours, "probe_http_redirects"), 11.0);

    let (ours, _) = probers.agree(&server.url("/chunked"), None, &[]);
    assert_eq!(value(&ours, "probe_success"), 1.0);
    assert_eq!(value(&ours, "probe_http_content_length"), -1.0);
    assert_eq!(value(&ours, "probe_http_uncompressed_body_length"), 11.0);
    assert_eq!(
        value(&ours, "probe_http_last_modified_timestamp_seconds"),
        784_111_777.0
    );
}

/// HTTPS: the earliest notAfter of the presented chain is the leaf's (it
/// expires before its CA), the self-signed certificate's own otherwise,
/// as `openssl x509 -enddate` says; the chain verifies against the CA
/// file granted to the plugin, and fails against the built-in roots.
#[test]
fn https_probes_report_the_certificate_expiry() {
    let certs = Certificates::make();
    let nginx = TlsNginx::start(&certs);
    let probers = Probers::start(Some(&certs.path("ca.pem")));
    let chain = format!("https://127.0.0.1:{}/", nginx.daemon.port);
    let self_signed = format!("https://127.0.0.1:{}/", nginx.self_port);

    let (ours, theirs) = probers.agree(&self_signed, Some("insecure"), &[]);
    assert_eq!(value(&ours, "probe_success"), 1.0);
    assert_eq!(value(&ours, "probe_http_ssl"), 1.0);
    assert_eq!(
        value(&ours, "probe_ssl_earliest_cert_expiry"),
        certs.not_after("self.pem")
    );
    let version = |f: &Families| {
        f.0["probe_tls_version_info"]
            .samples
            .keys()
            .map(|(_, labels)| labels.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(version(&ours), version(&theirs));

    let (ours, _) = probers.agree(&chain, Some("ca"), &[]);
    assert_eq!(value(&ours, "probe_success"), 1.0);
    let leaf = certs.not_after("leaf.pem");
    assert!(leaf < certs.not_after("ca.pem"));
    assert_eq!(value(&ours, "probe_ssl_earliest_cert_expiry"), leaf);

    let (ours, _) = probers.agree(&chain, None, &[]);
    assert_eq!(
        value(&ours, "probe_success"),
        0.0,
        "verified without the CA"
    );
    assert!(!ours.0.contains_key("probe_ssl_earliest_cert_expiry"));
}

/// A target outside the `targets` rule is refused with 400 before the
/// plugin runs, and an unknown module fails the plugin with a reason.
#[test]
fn refused_targets_and_bad_modules() {
    let probers = Probers::start(None);
    let collects = |host: &Host| {
        host.scrape()
            .value("wasm_exporter_plugin_collects_total{plugin=\"http_probe\"}")
            .unwrap()
    };
    let before = collects(&probers.host);
    let refused = probers.host.get_with(
        "/probe?plugin=http_probe&target=http%3A%2F%2Fnot-granted.invalid%2F",
        &[],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("not allowed"), "{}", refused.body);
    // The second scrape's own call is the only one in between.
    assert_eq!(collects(&probers.host), before + 1.0);

    let page = Exposition::parse(
        &probers
            .host
            .get_ok("/probe?plugin=http_probe&target=127.0.0.1%3A1&module=nope"),
    );
    assert_eq!(page.up("http_probe"), Some(0.0));
    assert_eq!(page.value("probe_success"), Some(0.0));
    // The landing page shows the reason of the last failure.
    let landing = probers.host.get_ok("/");
    assert!(
        landing.contains("module &quot;nope&quot; is not configured"),
        "{landing}"
    );
}
