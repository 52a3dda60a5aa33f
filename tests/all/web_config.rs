//! `--web.config.file`, exporter-toolkit's web configuration: TLS, mutual
//! TLS with allowed SANs, bcrypt basic auth and security headers, checked
//! with real clients (curl, and Prometheus 2.42 with `tls_config` and
//! `basic_auth`) against certificates the test makes with openssl.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Host, TempDir, binary, example_plugin, run, text};
use crate::prometheus::Prometheus;

/// bcrypt("scrape-secret") at cost 10, exporter-toolkit's usual cost.
const HASH: &str = "$2b$10$CeRplz6kYjcHXVoldXV2vuB3HLAJMqcO9jEefOh06RPMtfQel.PJO";
const USER: &str = "prometheus";
const PASSWORD: &str = "scrape-secret";

/// Certificates made with openssl: a CA, a server certificate for
/// 127.0.0.1 and client certificates, each with the SANs asked for.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let pki = Pki {
            dir: dir.to_owned(),
        };
        pki.ca("ca");
        pki.issue("ca", "server", "IP:127.0.0.1,DNS:localhost");
        pki.issue("ca", "client", "DNS:prometheus.example");
        pki
    }

    fn openssl(&self, args: &[&str]) {
        let output = run(Command::new("openssl").args(args).current_dir(&self.dir));
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            text(&output)
        );
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A self-signed CA `NAME.crt` with its key `NAME.key` (EC P-256).
    fn ca(&self, name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ]);
    }

    /// `NAME.crt` and `NAME.key`, signed by the CA `ca`, with `sans`.
    fn issue(&self, ca: &str, name: &str, sans: &str) {
        self.openssl(&[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ]);
        std::fs::write(
            self.dir.join(format!("{name}.ext")),
            format!("subjectAltName={sans}\n"),
        )
        .unwrap();
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ]);
    }
}

/// What curl got: its exit code, the status, the response head and body.
#[derive(Debug)]
struct Answer {
    exit: i32,
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The head without the `Date` header, which changes every second.
    fn head_without_date(&self) -> String {
        self.head
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `curl URL` with extra arguments, bounded in time.
fn curl(url: &str, args: &[&str]) -> Answer {
    let scratch = TempDir::new("curl");
    let head = scratch.path().join("head");
    let body = scratch.path().join("body");
    let output = run(Command::new("curl")
        .args(["-sS", "--max-time", "10", "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&head)
        .args(["-w", "%{http_code}"])
        .args(args)
        .arg(url));
    Answer {
        exit: output.status.code().unwrap_or(-1),
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        head: std::fs::read_to_string(&head).unwrap_or_default(),
        body: std::fs::read_to_string(&body).unwrap_or_default(),
    }
}

/// A host serving `demo_queue` with the web configuration `web` (YAML,
/// written beside the PKI), once `/-/ready` answers 200 through `ready_args`.
fn host_with(pki_dir: &TempDir, web: &str, ready_args: &[&str]) -> (Host, PathBuf) {
    let web_file = pki_dir.path().join("web.yml");
    std::fs::write(&web_file, web).unwrap();
    let dir = TempDir::new("web_config_host");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let host = Host::spawn_config(
        dir,
        "plugins:\n  - path: demo_queue.wasm\n",
        &["--web.config.file", web_file.to_str().unwrap()],
    );
    let url = https(&host, "/-/ready");
    let start = Instant::now();
    loop {
        let answer = curl(&url, ready_args);
        if answer.status == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not ready over TLS: {answer:?}\n{}",
            host.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (host, web_file)
}

fn https(host: &Host, path: &str) -> String {
    host.url(path).replacen("http://", "https://", 1)
}

fn tls_web(pki: &Pki, extra: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{extra}",
        pki.path("server.crt"),
        pki.path("server.key")
    )
}

#[test]
fn tls_with_basic_auth_answers_only_the_right_password_and_adds_headers() {
    let scratch = TempDir::new("web_tls_auth");
    let pki = Pki::new(scratch.path());
    let ca = pki.path("ca.crt");
    let credentials = format!("{USER}:{PASSWORD}");
    let web = tls_web(
        &pki,
        &format!(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    \
             X-Content-Type-Options: nosniff\n    \
             Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n  {USER}: {HASH}\n"
        ),
    );
    let (host, _) = host_with(&scratch, &web, &["--cacert", &ca, "-u", &credentials]);

    let ok = curl(
        &https(&host, "/metrics"),
        &["--cacert", &ca, "-u", &credentials],
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(
        ok.body
            .contains("wasm_exporter_plugin_up{plugin=\"demo_queue\"} 1")
    );
    let head = ok.head.to_ascii_lowercase();
    for header in [
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "strict-transport-security: max-age=31536000",
    ] {
        assert!(head.contains(header), "no {header} in\n{}", ok.head);
    }

    // A wrong password, an unknown user and no credentials get the same
    // answer, byte for byte apart from the date; on every path.
    let wrong = curl(
        &https(&host, "/metrics"),
        &["--cacert", &ca, "-u", &format!("{USER}:wrong")],
    );
    let unknown = curl(
        &https(&host, "/metrics"),
        &["--cacert", &ca, "-u", &format!("mallory:{PASSWORD}")],
    );
    let none = curl(&https(&host, "/metrics"), &["--cacert", &ca]);
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(
        wrong
            .head
            .to_ascii_lowercase()
            .contains("www-authenticate: basic")
    );
    assert!(
        wrong
            .head
            .to_ascii_lowercase()
            .contains("x-frame-options: deny")
    );
    assert_eq!(wrong.body, "Unauthorized\n");
    for other in [&unknown, &none] {
        assert_eq!(other.status, wrong.status);
        assert_eq!(other.head_without_date(), wrong.head_without_date());
        assert_eq!(other.body, wrong.body);
    }
    for path in ["/", "/-/healthy", "/probe?target=x"] {
        let answer = curl(&https(&host, path), &["--cacert", &ca]);
        assert_eq!(answer.status, 401, "{path}: {answer:?}");
    }

    // Plain HTTP to the TLS port gets no HTTP answer; a client that does
    // not trust the CA stops at the handshake.
    let plain = curl(&host.url("/metrics"), &["-u", &credentials]);
    assert_ne!(plain.status, 200, "{plain:?}");
    let untrusted = curl(&https(&host, "/metrics"), &["-u", &credentials]);
    assert_eq!(
        untrusted.exit, 60,
        "curl's certificate error: {untrusted:?}"
    );
}

#[test]
fn mutual_tls_admits_only_a_verified_certificate_with_an_allowed_san() {
    let scratch = TempDir::new("web_mtls");
    let pki = Pki::new(scratch.path());
    pki.issue("ca", "stranger", "DNS:stranger.example");
    pki.ca("other_ca");
    pki.issue("other_ca", "forged", "DNS:prometheus.example");
    let ca = pki.path("ca.crt");
    let web = tls_web(
        &pki,
        &format!(
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\n  \
             client_allowed_sans: [prometheus.example]\n"
        ),
    );
    let client = |name: &str| -> Vec<String> {
        vec![
            "--cacert".into(),
            ca.clone(),
            "--cert".into(),
            pki.path(&format!("{name}.crt")),
            "--key".into(),
            pki.path(&format!("{name}.key")),
        ]
    };
    let allowed = client("client");
    let allowed_args: Vec<&str> = allowed.iter().map(String::as_str).collect();
    let (host, _) = host_with(&scratch, &web, &allowed_args);

    let ok = curl(&https(&host, "/metrics"), &allowed_args);
    assert_eq!(ok.status, 200, "{ok:?}");
    for (who, args) in [
        ("no certificate", vec!["--cacert".to_owned(), ca.clone()]),
        ("a certificate without an allowed SAN", client("stranger")),
        ("a certificate from another CA", client("forged")),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let answer = curl(&https(&host, "/metrics"), &args);
        assert_ne!(answer.status, 200, "{who} got in: {answer:?}");
        assert!(answer.body.is_empty(), "{who}: {answer:?}");
    }
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_one_is_not() {
    let scratch = TempDir::new("web_renew");
    let pki = Pki::new(scratch.path());
    let web = tls_web(&pki, "");
    let old_ca = pki.path("ca.crt");
    let (host, _) = host_with(&scratch, &web, &["--cacert", &old_ca]);

    // Renewed by another CA, written in place as cert-manager or certbot
    // would.
    pki.ca("new_ca");
    pki.issue("new_ca", "renewed", "IP:127.0.0.1");
    std::fs::copy(pki.path("renewed.key"), pki.path("server.key")).unwrap();
    std::fs::copy(pki.path("renewed.crt"), pki.path("server.crt")).unwrap();
    let new_ca = pki.path("new_ca.crt");
    let start = Instant::now();
    while curl(&https(&host, "/metrics"), &["--cacert", &new_ca]).status != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the renewed certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let old = curl(&https(&host, "/metrics"), &["--cacert", &old_ca]);
    assert_eq!(old.exit, 60, "the old certificate is still served: {old:?}");

    // A key that does not parse: the renewed certificate stays in use.
    std::fs::write(pki.path("server.key"), "not a key\n").unwrap();
    let still = curl(&https(&host, "/metrics"), &["--cacert", &new_ca]);
    assert_eq!(still.status, 200, "{still:?}");
    host.wait_for_log(&["web configuration not reloaded", "not a PEM private key"]);
}

/// The kind of file exporter-toolkit's documentation shows, with the
/// options of the exporter-toolkit in Prometheus 2.42 (which predates
/// `client_allowed_sans`, tested above).
fn toolkit_web_config(pki: &Pki) -> String {
    format!(
        "tls_server_config:
  cert_file: {cert}
  key_file: {key}
  client_auth_type: \"RequireAndVerifyClientCert\"
  client_ca_file: {ca}
  min_version: \"TLS12\"
  max_version: \"TLS13\"
  cipher_suites:
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  prefer_server_cipher_suites: true
  curve_preferences:
    - X25519
    - CurveP256
http_server_config:
  http2: true
  headers:
    Content-Security-Policy: \"default-src 'self'\"
    X-Frame-Options: sameorigin
    X-Content-Type-Options: nosniff
    X-XSS-Protection: \"1; mode=block\"
    Strict-Transport-Security: max-age=31536000; includeSubDomains
basic_auth_users:
  {USER}: {HASH}
",
        cert = pki.path("server.crt"),
        key = pki.path("server.key"),
        ca = pki.path("ca.crt"),
    )
}

#[test]
fn prometheus_scrapes_over_mutual_tls_with_basic_auth_through_idle_and_slow_clients() {
    let scratch = TempDir::new("web_prometheus");
    let pki = Pki::new(scratch.path());
    let web = toolkit_web_config(&pki);
    // The file is one exporter-toolkit itself accepts.
    let web_file = scratch.path().join("toolkit.yml");
    std::fs::write(&web_file, &web).unwrap();
    let checked = run(Command::new("promtool")
        .arg("check")
        .arg("web-config")
        .arg(&web_file));
    assert!(checked.status.success(), "promtool: {}", text(&checked));

    let credentials = format!("{USER}:{PASSWORD}");
    let ready_args = [
        "--cacert",
        &pki.path("ca.crt"),
        "--cert",
        &pki.path("client.crt"),
        "--key",
        &pki.path("client.key"),
        "-u",
        &credentials,
    ];
    let (host, _) = host_with(&scratch, &web, &ready_args);
    let address = host
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let prometheus = Prometheus::start(&format!(
        "  - job_name: tls
    scheme: https
    basic_auth: {{username: {USER}, password: {PASSWORD}}}
    tls_config:
      ca_file: {ca}
      cert_file: {cert}
      key_file: {key}
    static_configs: [{{targets: ['{address}']}}]
",
        ca = pki.path("ca.crt"),
        cert = pki.path("client.crt"),
        key = pki.path("client.key"),
    ));
    let up = |prometheus: &Prometheus| -> Result<(), String> {
        let values = prometheus.by_job("up")?;
        match values.get("tls") {
            Some(v) if *v == 1.0 => Ok(()),
            other => Err(format!("up{{job=\"tls\"}} is {other:?}")),
        }
    };
    prometheus.eventually(
        "Prometheus scrapes over TLS",
        Duration::from_secs(30),
        || up(&prometheus),
    );

    // 1,000 connections that never start a handshake and one that stops
    // halfway through its ClientHello, held by another process.
    let mut abuser = Command::new("python3")
        .arg("-c")
        .arg(ABUSER)
        .arg(&address)
        .arg("1000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut opened = String::new();
    {
        use std::io::BufRead;
        let stdout = abuser.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut opened)
            .unwrap();
    }
    let held: usize = opened
        .strip_prefix("opened ")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{opened:?}"));
    // More than the host's 512 connections: the idle ones are evicted.
    assert!(held > 512, "only {held} connections opened");
    // Prometheus keeps scraping: ten more successful scrapes (1 s
    // interval) while the connections are held.
    let count = |prometheus: &Prometheus| -> Result<f64, String> {
        let samples = prometheus.query("count_over_time(up{job=\"tls\"}[1h])")?;
        Ok(samples.first().map_or(0.0, |(_, v)| *v))
    };
    let before = count(&prometheus).unwrap_or(0.0);
    prometheus.eventually("ten scrapes while held", Duration::from_secs(60), || {
        let now = count(&prometheus)?;
        up(&prometheus)?;
        if now >= before + 10.0 {
            Ok(())
        } else {
            Err(format!("{now} scrapes, {before} before"))
        }
    });
    let failed = prometheus
        .query("count_over_time((up{job=\"tls\"} == 0)[1h:1s])")
        .unwrap();
    assert!(failed.is_empty(), "failed scrapes: {failed:?}");
    drop(abuser.stdin.take());
    let _ = abuser.wait();
}

/// Opens N idle connections and one slow TLS handshake to argv[1]; prints
/// `opened K` and holds them until stdin closes.
const ABUSER: &str = r#"
import resource, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for _ in range(min(int(sys.argv[2]), hard - 64)):
    held.append(socket.create_connection((host, int(port)), timeout=5))
slow = socket.create_connection((host, int(port)), timeout=5)
# The first bytes of a TLS 1.2 ClientHello record, and nothing more.
slow.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
held.append(slow)
print("opened", len(held), flush=True)
sys.stdin.read()
"#;

#[test]
fn a_web_configuration_that_does_not_load_stops_the_start_with_its_field() {
    let scratch = TempDir::new("web_bad");
    let dir = TempDir::new("web_bad_plugins");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    for (web, expected) in [
        (
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS10\n",
            "tls_server_config.min_version: TLS10 is not supported",
        ),
        (
            "tls_server_config:\n  min_versoin: TLS12\n",
            "unknown field `min_versoin`",
        ),
        (
            "basic_auth_users:\n  alice: secret\n",
            "basic_auth_users.alice: not a bcrypt hash",
        ),
    ] {
        let file = scratch.path().join("web.yml");
        std::fs::write(&file, web).unwrap();
        let output = run(Command::new(binary())
            .arg("--plugins.dir")
            .arg(dir.path())
            .args(["--web.listen-address", "127.0.0.1:0", "--cache.disable"])
            .arg("--web.config.file")
            .arg(&file));
        let stderr = text(&output);
        assert!(!output.status.success(), "{web}: started");
        assert!(stderr.contains(expected), "{web}: {stderr}");
        assert!(stderr.contains("web.yml"), "{web}: {stderr}");
        // `check-web-config` says the same, without starting anything.
        let checked = run(Command::new(binary()).arg("check-web-config").arg(&file));
        assert!(
            !checked.status.success(),
            "{web}: check-web-config passed it"
        );
        assert!(text(&checked).contains(expected), "{}", text(&checked));
    }
}

#[test]
fn check_web_config_passes_a_good_file() {
    let scratch = TempDir::new("web_check");
    let pki = Pki::new(scratch.path());
    let file = scratch.path().join("web.yml");
    std::fs::write(&file, toolkit_web_config(&pki)).unwrap();
    let checked = run(Command::new(binary()).arg("check-web-config").arg(&file));
    let report = text(&checked);
    assert!(checked.status.success(), "{report}");
    assert!(
        report.contains("SUCCESS (TLS: on, basic auth: on, headers: 5)"),
        "{report}"
    );
}
