//! What `--web.config.file` costs a scrape: basic auth (bcrypt, cached),
//! TLS and mutual TLS, alone and together, against plain HTTP; and what a
//! tenant's credentials cost (a bearer token's SHA-256, or bcrypt basic
//! auth, cached), on its endpoint `/tenants/NAME/metrics`.
//!
//! `cargo xtask bench -- --bench web_auth` (or `cargo bench -p
//! wasm_exporter --bench web_auth` after `cargo xtask plugins`). Needs
//! `openssl` and `curl` (`cargo xtask test` installs both).
//!
//! For each setting a host serves the `demo_queue` plugin, and curl (a
//! real client, with OpenSSL) scrapes `/metrics` in one run of many
//! requests: once over one kept-alive connection (what Prometheus does:
//! the handshake is paid once), once with a new connection per request
//! (`Connection: close`: every request pays the TCP and TLS handshakes).
//! The figures are curl's own `time_total` per request, median and p99,
//! and the ratio of each median to plain HTTP's in the same run. The
//! bcrypt hash has exporter-toolkit's usual cost (10).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

mod common;

const KEEP_ALIVE_REQUESTS: usize = 400;
const NEW_CONNECTION_REQUESTS: usize = 150;
const USER: &str = "prometheus";
const PASSWORD: &str = "bench-secret";
const TOKEN: &str = "bench-token";

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
fn make_pki(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    openssl(
        dir,
        &[
            &["req", "-x509", "-new", "-nodes"][..],
            &ec,
            &[
                "-days", "2", "-subj", "/CN=ca", "-keyout", "ca.key", "-out", "ca.crt",
            ],
        ]
        .concat(),
    );
    for (name, san) in [("server", "IP:127.0.0.1"), ("client", "DNS:prometheus")] {
        openssl(
            dir,
            &[
                &["req", "-new", "-nodes"][..],
                &ec,
                &[
                    "-subj",
                    &format!("/CN={name}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("subjectAltName={san}\n"),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

struct Setting {
    name: &'static str,
    tls: bool,
    mutual: bool,
    basic: bool,
    /// On a tenant's endpoint, with its credentials (basic auth if
    /// `basic`, else a bearer token) instead of the web configuration's.
    tenant: bool,
}

struct Row {
    name: &'static str,
    kept: (Duration, Duration),
    fresh: (Duration, Duration),
}

/// curl's `time_total` of each of `requests` GETs of `url`, in one run.
fn curl_times(url: &str, requests: usize, args: &[String], new_connections: bool) -> Vec<Duration> {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--fail", "-w", "%{time_total}\\n"])
        .args(args);
    if new_connections {
        command.args(["-H", "Connection: close"]);
    }
    for _ in 0..requests {
        command.args([url, "-o", "/dev/null"]);
    }
    let output = command.output().expect("curl (apt-get install curl)");
    assert!(
        output.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut times: Vec<Duration> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| Duration::from_secs_f64(l.trim().parse().unwrap()))
        .collect();
    assert_eq!(times.len(), requests);
    times.sort();
    times
}

fn measure(setting: &Setting, pki: &Path, hash: &str) -> Row {
    let dir = common::temp_dir(&format!("web_auth_{}", setting.name));
    common::install(&dir, "demo_queue", &common::plugin("plugins", "demo_queue"));
    let mut web = String::new();
    if setting.tls {
        web += &format!(
            "tls_server_config:\n  cert_file: {0}/server.crt\n  key_file: {0}/server.key\n",
            pki.display()
        );
        if setting.mutual {
            web += &format!(
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}/ca.crt\n",
                pki.display()
            );
        }
    }
    if setting.basic && !setting.tenant {
        web += &format!("basic_auth_users:\n  {USER}: {hash}\n");
    }
    let web_file = dir.join("web.yml");
    std::fs::write(&web_file, &web).unwrap();
    let config_file = dir.join("config.yml");
    let digest = hex::encode(Sha256::digest(TOKEN.as_bytes()));
    let credentials = match setting.basic {
        true => format!("basic_auth_users: {{ {USER}: \"{hash}\" }}"),
        false => format!("bearer_token_sha256: [{digest}]"),
    };
    std::fs::write(
        &config_file,
        format!(
            "tenants:\n  t:\n    auth: {{ {credentials} }}\n    plugins: [ {{ path: demo_queue.wasm }} ]\n"
        ),
    )
    .unwrap();
    let registry = match setting.tenant {
        true => ["--config.file", config_file.to_str().unwrap()],
        false => ["--plugins.dir", dir.to_str().unwrap()],
    };
    let host = common::start_host(&[
        registry[0],
        registry[1],
        "--web.config.file",
        web_file.to_str().unwrap(),
        "--cache.disable",
    ]);
    let mut url = host.url(match setting.tenant {
        true => "/tenants/t/metrics",
        false => "/metrics",
    });
    let mut args: Vec<String> = Vec::new();
    if setting.tls {
        url = url.replacen("http://", "https://", 1);
        args.extend(["--cacert".into(), format!("{}/ca.crt", pki.display())]);
        if setting.mutual {
            args.extend([
                "--cert".into(),
                format!("{}/client.crt", pki.display()),
                "--key".into(),
                format!("{}/client.key", pki.display()),
            ]);
        }
    }
    if setting.basic {
        args.extend(["-u".into(), format!("{USER}:{PASSWORD}")]);
    } else if setting.tenant {
        args.extend(["-H".into(), format!("Authorization: Bearer {TOKEN}")]);
    }
    // Warm-up: the plugin's first scrape and the first bcrypt check.
    curl_times(&url, 5, &args, false);
    let kept = curl_times(&url, KEEP_ALIVE_REQUESTS, &args, false);
    let fresh = curl_times(&url, NEW_CONNECTION_REQUESTS, &args, true);
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    let figures = |times: &[Duration]| {
        (
            common::percentile(times, 0.5),
            common::percentile(times, 0.99),
        )
    };
    Row {
        name: setting.name,
        kept: figures(&kept),
        fresh: figures(&fresh),
    }
}

fn main() {
    let pki = common::temp_dir("web_auth_pki");
    make_pki(&pki);
    let hash = bcrypt::hash(PASSWORD, 10).unwrap();
    let settings = [
        ("plain HTTP", false, false, false, false),
        ("basic auth", false, false, true, false),
        ("TLS", true, false, false, false),
        ("TLS + basic auth", true, false, true, false),
        ("mutual TLS", true, true, false, false),
        ("mutual TLS + basic auth", true, true, true, false),
        ("tenant, bearer token", false, false, false, true),
        ("tenant, basic auth", false, false, true, true),
    ];
    let rows: Vec<Row> = settings
        .into_iter()
        .map(|(name, tls, mutual, basic, tenant)| {
            let row = measure(
                &Setting {
                    name,
                    tls,
                    mutual,
                    basic,
                    tenant,
                },
                &pki,
                &hash,
            );
            eprintln!("{name} done");
            row
        })
        .collect();
    let _ = std::fs::remove_dir_all(&pki);
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    let base = &rows[0];
    println!(
        "| setting | kept-alive p50 (ms) | p99 (ms) | × plain | new connection p50 (ms) | p99 (ms) | × plain |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {:.2} | {} | {} | {:.2} |",
            row.name,
            ms(row.kept.0),
            ms(row.kept.1),
            row.kept.0.as_secs_f64() / base.kept.0.as_secs_f64(),
            ms(row.fresh.0),
            ms(row.fresh.1),
            row.fresh.0.as_secs_f64() / base.fresh.0.as_secs_f64(),
        );
    }
}
