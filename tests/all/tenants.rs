//! Tenants: each at `/tenants/NAME/metrics` behind its own credentials,
//! seeing only its own plugins; unknown tenants answered as wrong
//! credentials; tenants added and removed by reloading; a tenant past its
//! scrapes in flight answered 503.

use std::process::Command;
use std::time::Duration;

use crate::common::{
    Exposition, Host, Response, TempDir, example_plugin, get, run, test_plugin, text,
};

/// SHA-256 of `token-a` (`printf %s token-a | sha256sum`).
const TOKEN_A_SHA256: &str = "a70bf50e531ce1a817561f2f5d5b6645d4e806becf58ccc5e8cf6b8045a090a8";
/// bcrypt("pass-b") at cost 4.
const PASS_B_HASH: &str = "$2b$04$xMyZ.VMCfu/tm8ZgzNIEMO9zcAhd.jbwjN20YOFCx6OWT.XRYwemG";

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Tenant `a` (a bearer token) and `b` (a basic-auth user), each with a
/// plugin called `queue` (configured apart) and one of its own, beside the
/// default registry's `latency`; `extra` is appended (more tenants).
fn config(extra: &str) -> String {
    format!(
        "plugins:
  - {{ name: latency, path: demo_latency.wasm }}
tenants:
  a:
    auth: {{ bearer_token_sha256: [{TOKEN_A_SHA256}] }}
    plugins:
      - {{ name: queue, path: demo_queue.wasm }}
      - {{ name: settings, path: demo_config.wasm, config: {{ greeting: from-a }} }}
  b:
    auth:
      basic_auth_users: {{ bob: \"{PASS_B_HASH}\" }}
    plugins:
      - {{ name: queue, path: demo_queue.wasm }}
      - {{ name: conf, path: conformance_rust.wasm }}
{extra}"
    )
}

fn plugins_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    for name in ["demo_latency", "demo_queue", "demo_config"] {
        dir.add(name, &example_plugin(name));
    }
    dir.add("conformance_rust", &test_plugin("conformance_rust"));
    dir
}

fn get_as(host: &Host, path: &str, authorization: Option<&str>) -> Response {
    match authorization {
        Some(value) => get(&host.url(path), &[("Authorization", value)]),
        None => get(&host.url(path), &[]),
    }
}

/// A response as a client sees it, apart from its date.
fn shown(response: &Response) -> String {
    let mut headers: Vec<String> = response
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| format!("{name}: {value:?}"))
        .collect();
    headers.sort();
    format!(
        "{}\n{}\n{}",
        response.status,
        headers.join("\n"),
        response.body
    )
}

#[test]
fn each_tenant_sees_only_its_plugins_behind_its_own_credentials() {
    let dir = plugins_dir("tenants_matrix");
    let host = Host::start_config(dir, &config(""), &[]);
    let a = "Bearer token-a".to_owned();
    let b = basic("bob", "pass-b");
    let wrong_password = basic("bob", "pass-a");
    let credentials = [
        ("a", Some(a.as_str())),
        ("b", Some(b.as_str())),
        ("none", None),
        ("wrong token", Some("Bearer token-b")),
        ("wrong password", Some(wrong_password.as_str())),
    ];
    let refused = get_as(&host, "/tenants/a/metrics", None);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, "Unauthorized\n");
    for endpoint in ["a", "b", "nobody"] {
        for (who, authorization) in credentials {
            for kind in ["metrics", "probe?target=x"] {
                let path = format!("/tenants/{endpoint}/{kind}");
                let response = get_as(&host, &path, authorization);
                if who == endpoint && kind == "metrics" {
                    assert_eq!(response.status, 200, "{who} on {path}: {}", response.body);
                } else if who == endpoint {
                    // Its own probe endpoint: in, whatever the probe says.
                    assert_ne!(response.status, 401, "{who} on {path}");
                } else {
                    // Wrong tenant, unknown tenant, wrong or no
                    // credentials: one answer.
                    assert_eq!(shown(&response), shown(&refused), "{who} on {path}");
                }
            }
        }
    }

    // a's page: its two plugins, their health, nothing of b, the default
    // registry or the host.
    let page = get_as(&host, "/tenants/a/metrics", Some(&a));
    let scrape = Exposition::parse(&page.body);
    assert_eq!(scrape.up("queue"), Some(1.0));
    assert_eq!(scrape.up("settings"), Some(1.0));
    assert_eq!(scrape.up("latency"), None, "{}", page.body);
    assert!(page.body.contains("greeting=\"from-a\"") || page.body.contains("from-a"));
    for foreign in [
        "process_",
        "wasm_exporter_build_info",
        "wasm_exporter_config_",
    ] {
        assert!(
            !page.body.lines().any(|l| l.starts_with(foreign)),
            "{foreign} on a tenant's page:\n{}",
            page.body
        );
    }
    let page_b = get_as(&host, "/tenants/b/metrics", Some(&b)).body;
    let scrape_b = Exposition::parse(&page_b);
    assert_eq!(scrape_b.up("queue"), Some(1.0));
    assert_eq!(scrape_b.up("settings"), None, "{page_b}");
    // The default registry: its own plugin only.
    let default = host.scrape();
    assert_eq!(default.up("latency"), Some(1.0));
    assert_eq!(default.up("queue"), None);
    assert_eq!(default.up("settings"), None);
    let landing = host.get_ok("/");
    assert!(!landing.contains("settings"), "{landing}");

    // The startup summary counts every registry's plugins.
    host.wait_for_log(&["msg=ready", "plugins=5", "failed=0", "tenants=2"]);
    // What a tenant's plugin logs carries the tenant.
    host.wait_for_log(&["conformance collect", "plugin=conf", "tenant=b"]);
    // The operator's page counts each tenant's scrapes and refusals.
    let default = host.scrape();
    let tenant_series = |series: &str| {
        default
            .value(series)
            .unwrap_or_else(|| panic!("no {series}"))
    };
    assert!(tenant_series(r#"wasm_exporter_tenant_scrapes_total{tenant="a"}"#) >= 1.0);
    assert!(
        tenant_series(r#"wasm_exporter_tenant_rejections_total{tenant="a",reason="auth"}"#) >= 4.0
    );
    assert_eq!(
        tenant_series(r#"wasm_exporter_tenant_rejections_total{tenant="b",reason="limit"}"#),
        0.0
    );
}

#[test]
fn tenants_come_and_go_with_the_configuration() {
    let dir = plugins_dir("tenants_reload");
    let host = Host::start_config(dir, &config(""), &[]);
    let b = basic("bob", "pass-b");
    assert_eq!(get_as(&host, "/tenants/b/metrics", Some(&b)).status, 200);
    let refused = get_as(&host, "/tenants/c/metrics", Some("Bearer token-c"));
    assert_eq!(refused.status, 401);

    // c added, b removed, a unchanged.
    // `printf %s token-c | sha256sum`
    let token_c = "4618883cd3012ea499d728009f5cdd1d39a460cc3457b4cca2dd24aab8a3c922";
    let changed = config("").replace("  b:\n", "  gone:\n").replace(
        "tenants:\n",
        &format!(
            "tenants:\n  c:\n    auth: {{ bearer_token_sha256: [{token_c}] }}\n    plugins:\n      - {{ name: queue, path: demo_queue.wasm }}\n"
        ),
    );
    std::fs::write(host.dir().join("config.yml"), changed).unwrap();
    let reload = crate::common::client()
        .post(host.url("/-/reload"))
        .send()
        .unwrap();
    assert_eq!(reload.status(), 200);
    let c = get_as(&host, "/tenants/c/metrics", Some("Bearer token-c"));
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(Exposition::parse(&c.body).up("queue"), Some(1.0));
    let gone = get_as(&host, "/tenants/b/metrics", Some(&b));
    assert_eq!(shown(&gone), shown(&refused));
    assert_eq!(
        get_as(&host, "/tenants/a/metrics", Some("Bearer token-a")).status,
        200
    );
}

#[test]
fn a_tenant_past_its_scrapes_in_flight_gets_503_with_retry_after() {
    let dir = TempDir::new("tenants_in_flight");
    dir.add("sleeper", &test_plugin("sleeper"));
    let config = format!(
        "tenants:
  slow:
    max_in_flight: 1
    auth: {{ bearer_token_sha256: [{TOKEN_A_SHA256}] }}
    plugins:
      - {{ path: sleeper.wasm, limits: {{ timeout: 20s }} }}
"
    );
    let host = Host::start_config(dir, &config, &[]);
    let url = host.url("/tenants/slow/metrics");
    // Two overlapping scrapes (each holds for up to the plugin's 20 s):
    // one of them is turned away at once.
    let first = {
        let url = url.clone();
        std::thread::spawn(move || get(&url, &[("Authorization", "Bearer token-a")]))
    };
    std::thread::sleep(Duration::from_millis(200));
    let second = get(&url, &[("Authorization", "Bearer token-a")]);
    let first = first.join().unwrap();
    let (turned_away, served) = if second.status == 503 {
        (second, first)
    } else {
        (first, second)
    };
    assert_eq!(turned_away.status, 503, "{}", turned_away.body);
    assert_eq!(
        turned_away
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(
        host.scrape()
            .value(r#"wasm_exporter_tenant_rejections_total{tenant="slow",reason="limit"}"#),
        Some(1.0)
    );
}

#[test]
fn tenant_configuration_errors_name_the_tenant_and_the_field() {
    let dir = plugins_dir("tenants_errors");
    for (tenant, expected) in [
        ("  a:\n    plugins: []\n", "tenants.a.auth: no credentials"),
        (
            "  a:\n    auth: { bearer_token_sha256: [token-in-clear] }\n",
            "tenants.a.auth.bearer_token_sha256[0]: not a SHA-256 digest",
        ),
        (
            "  A:\n    auth: { bearer_token_sha256: [] }\n",
            "tenants.A: \"A\" is not a valid tenant name",
        ),
        (
            &format!(
                "  a:\n    auth: {{ bearer_token_sha256: [{TOKEN_A_SHA256}] }}\n    \
                 grants_ceiling: {{ tcp: [\"127.0.0.1:6379\"] }}\n    plugins:\n      \
                 - {{ path: demo_queue.wasm, grants: {{ tcp: [\"10.0.0.1:6379\"] }} }}\n"
            ),
            "tenants.a.plugins[0].grants.tcp: \"10.0.0.1:6379\" is not in tenants.a.grants_ceiling.tcp",
        ),
        (
            &format!(
                "  a:\n    auth: {{ bearer_token_sha256: [{TOKEN_A_SHA256}] }}\n    \
                 plugins:\n      - {{ path: demo_queue.wasm, grants: {{ env: [HOME] }} }}\n"
            ),
            "tenants.a.plugins[0].grants.env: \"HOME\" is not in tenants.a.grants_ceiling.env",
        ),
    ] {
        let file = dir.path().join("config.yml");
        std::fs::write(&file, format!("tenants:\n{tenant}")).unwrap();
        let output = run(Command::new(crate::common::binary())
            .arg("check-config")
            .arg(&file));
        let report = text(&output);
        assert!(!output.status.success(), "{tenant}: {report}");
        assert!(report.contains(expected), "{tenant}:\n{report}");
    }
    // A valid file: every tenant's plugins checked, named by tenant.
    let file = dir.path().join("config.yml");
    std::fs::write(&file, config("")).unwrap();
    let output = run(Command::new(crate::common::binary())
        .arg("check-config")
        .arg(&file));
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    for plugin in ["latency", "a/queue", "a/settings", "b/queue", "b/conf"] {
        assert!(
            report.contains(&format!("plugin {plugin}: OK")),
            "{plugin}:\n{report}"
        );
    }
    assert!(report.contains("SUCCESS: 5 plugins found"), "{report}");
}

/// The tenant `team` of the budget test: a prefix, a series budget of 25
/// and a fuel budget shared by five plugins; `a`, `b` and `c` return 10
/// series each, `d_loop` loops, `e_label` sets a `tenant` label.
const BUDGET_CONFIG: &str = "tenants:
  team:
    auth: { bearer_token_sha256: [TOKEN] }
    metric_prefix: team_
    budget: { series_per_scrape: 25, fuel_per_scrape: 400000000 }
    plugins:
      - { name: a, path: bench_series.wasm, config: { prefix: a, series: 10, labels: 1 } }
      - { name: b, path: bench_series.wasm, config: { prefix: b, series: 10, labels: 1 } }
      - { name: c, path: bench_series.wasm, config: { prefix: c, series: 10, labels: 1 } }
      - { name: d_loop, path: loop.wasm, limits: { timeout: 60s } }
      - { name: e_label, path: bench_series.wasm, config: { prefix: e, series: 1, labels: 1, first_label: tenant } }
";

#[test]
fn a_tenants_scrape_stays_within_its_budget_under_its_prefix() {
    let dir = TempDir::new("tenants_budget");
    dir.add("bench_series", &test_plugin("bench_series"));
    dir.add("loop", &test_plugin("loop"));
    let host = Host::start_config(dir, &BUDGET_CONFIG.replace("TOKEN", TOKEN_A_SHA256), &[]);
    let page = get_as(&host, "/tenants/team/metrics", Some("Bearer token-a"));
    assert_eq!(page.status, 200, "{}", page.body);
    let scrape = Exposition::parse(&page.body);
    // Every plugin family under the prefix; the host's health series keep
    // their names.
    assert_eq!(scrape.lines_of("team_a_0{").len(), 10, "{}", page.body);
    assert_eq!(scrape.lines_of("team_b_0{").len(), 10, "{}", page.body);
    for line in page.body.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("team_") || line.starts_with("wasm_exporter_plugin"),
            "{line}"
        );
    }
    // a and b fit the 25 series; c does not, in name order.
    assert_eq!(scrape.up("a"), Some(1.0));
    assert_eq!(scrape.up("b"), Some(1.0));
    assert_eq!(scrape.up("c"), Some(0.0));
    assert_eq!(scrape.failures("c", "too_large"), 1.0);
    assert!(scrape.lines_of("team_c_").is_empty(), "{}", page.body);
    // The loop had a fifth of the fuel left by nobody's own limit.
    assert_eq!(scrape.failures("d_loop", "fuel"), 1.0);
    let loop_fuel = scrape
        .value(r#"wasm_exporter_plugin_fuel_consumed{plugin="d_loop"}"#)
        .expect("fuel of d_loop");
    assert!(
        (80_000_000.0..100_000_000.0).contains(&loop_fuel),
        "{loop_fuel}"
    );
    // A plugin cannot label its series as another tenant's.
    assert_eq!(scrape.failures("e_label", "invalid_output"), 1.0);

    // The operator sees what the scrape took against the budget.
    let operator = host.scrape();
    let value = |series: &str| {
        operator
            .value(&format!("{series}{{tenant=\"team\"}}"))
            .unwrap_or_else(|| panic!("no {series}"))
    };
    assert_eq!(value("wasm_exporter_tenant_series_budget"), 25.0);
    assert_eq!(value("wasm_exporter_tenant_last_scrape_series"), 20.0);
    assert_eq!(
        value("wasm_exporter_tenant_series_budget_exceeded_total"),
        1.0
    );
    assert_eq!(value("wasm_exporter_tenant_fuel_budget"), 400_000_000.0);
    let fuel = value("wasm_exporter_tenant_last_scrape_fuel_consumed");
    assert!((loop_fuel..=400_000_000.0).contains(&fuel), "{fuel}");
    assert!(value("wasm_exporter_tenant_memory_budget_bytes") > 0.0);
    assert!(value("wasm_exporter_tenant_last_scrape_memory_peak_bytes") > 0.0);
    // One tenant and the default registry: half the pool each.
    let pool = f64::from(wasm_exporter_runtime::limits::DEFAULT_MAX_INSTANCES);
    assert_eq!(value("wasm_exporter_tenant_instances_budget"), pool / 2.0);
    assert_eq!(value("wasm_exporter_tenant_instances_in_use"), 0.0);
}

/// Scrapes `path` as tenant `authorization` `n` times one after another;
/// the longest, after checking each is served with every plugin up.
fn slowest_of(host: &Host, path: &str, authorization: &str, n: usize) -> Duration {
    (0..n)
        .map(|_| {
            let started = std::time::Instant::now();
            let response = get_as(host, path, Some(authorization));
            let took = started.elapsed();
            assert_eq!(response.status, 200, "{}", response.body);
            let scrape = Exposition::parse(&response.body);
            for plugin in ["one", "two"] {
                assert_eq!(scrape.up(plugin), Some(1.0), "{}", response.body);
            }
            took
        })
        .max()
        .expect("n > 0")
}

#[test]
fn a_tenants_slow_plugins_do_not_slow_another_tenant() {
    let dir = TempDir::new("tenants_fairness");
    dir.add("sleeper", &test_plugin("sleeper"));
    dir.add("bench_series", &test_plugin("bench_series"));
    // `slow` runs eight plugins that sleep to their deadline, four scrapes
    // at a time (which share each plugin's call): eight instances wanted
    // of a pool of six. `steady` has a plugin that sleeps 300 ms and one
    // that answers at once.
    let config = format!(
        "tenants:
  slow:
    max_in_flight: 4
    auth: {{ bearer_token_sha256: [{TOKEN_A_SHA256}] }}
    plugins:
{slow}
  steady:
    auth:
      basic_auth_users: {{ bob: \"{PASS_B_HASH}\" }}
    plugins:
      - {{ name: one, path: sleeper.wasm, config: {{ sleep_ms: 300 }} }}
      - {{ name: two, path: bench_series.wasm, config: {{ series: 10 }} }}
",
        slow = (0..8)
            .map(|i| format!(
                "      - {{ name: s{i}, path: sleeper.wasm, limits: {{ timeout: 3s }} }}\n"
            ))
            .collect::<String>()
    );
    let host = Host::start_config(dir, &config, &["--plugins.max-instances", "6"]);
    let steady = basic("bob", "pass-b");
    let path = "/tenants/steady/metrics";
    const SCRAPES: usize = 10;
    let alone = slowest_of(&host, path, &steady, SCRAPES);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let url = host.url("/tenants/slow/metrics");
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut served = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = get(&url, &[("Authorization", "Bearer token-a")]);
                    served += usize::from(r.status == 200);
                }
                served
            })
        })
        .collect();
    // The slow tenant holds its whole share before the measure starts.
    let held = || {
        host.scrape()
            .value(r#"wasm_exporter_tenant_instances_in_use{tenant="slow"}"#)
            .unwrap_or(0.0)
    };
    let share = host
        .scrape()
        .value(r#"wasm_exporter_tenant_instances_budget{tenant="slow"}"#)
        .expect("the slow tenant's share");
    let started = std::time::Instant::now();
    while held() < share {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the slow tenant never held its share"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let loaded = slowest_of(&host, path, &steady, SCRAPES);
    let held_during = held();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let slow_served: usize = load.into_iter().map(|t| t.join().unwrap()).sum();

    assert_eq!(
        share, 2.0,
        "six instances: two each for slow, steady and the default"
    );
    assert!(held_during <= share, "{held_during} instances held by slow");
    assert!(slow_served > 0, "the slow tenant was served too");
    assert!(
        loaded.as_secs_f64() <= 1.5 * alone.as_secs_f64(),
        "steady's slowest scrape: {loaded:?} beside the slow tenant, {alone:?} alone"
    );
}

#[test]
fn prometheus_scrapes_tenants_with_their_own_credentials() {
    use crate::prometheus::Prometheus;
    let dir = plugins_dir("tenants_prometheus");
    let host = Host::start_config(dir, &config(""), &[]);
    let address = host
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let job = |name: &str, path: &str, credentials: &str| {
        format!(
            "  - job_name: {name}
    metrics_path: {path}
{credentials}
    static_configs: [{{targets: ['{address}']}}]
"
        )
    };
    let prometheus = Prometheus::start(
        &[
            job(
                "a",
                "/tenants/a/metrics",
                "    authorization: { credentials: token-a }",
            ),
            job(
                "b",
                "/tenants/b/metrics",
                "    basic_auth: { username: bob, password: pass-b }",
            ),
            job(
                "a_with_b",
                "/tenants/a/metrics",
                "    basic_auth: { username: bob, password: pass-b }",
            ),
        ]
        .concat(),
    );
    let up = prometheus.eventually("every job scraped", Duration::from_secs(30), || {
        let up = prometheus.by_job("up")?;
        if up.len() == 3 {
            Ok(up)
        } else {
            Err(format!("up: {up:?}"))
        }
    });
    assert_eq!(up["a"], 1.0, "{up:?}");
    assert_eq!(up["b"], 1.0, "{up:?}");
    assert_eq!(
        up["a_with_b"], 0.0,
        "b's credentials on a's endpoint: {up:?}"
    );
    // Each job holds its tenant's plugins, and none of the other's.
    let plugins = |job: &str| -> Result<Vec<String>, String> {
        let mut names: Vec<String> = prometheus
            .query(&format!("wasm_exporter_plugin_up{{job=\"{job}\"}} == 1"))?
            .into_iter()
            .filter_map(|(labels, _)| labels.get("plugin").cloned())
            .collect();
        names.sort();
        Ok(names)
    };
    let a = prometheus.eventually("a's plugins", Duration::from_secs(30), || {
        plugins("a").and_then(|p| {
            if p.len() == 2 {
                Ok(p)
            } else {
                Err(format!("{p:?}"))
            }
        })
    });
    assert_eq!(a, ["queue", "settings"]);
    let b = prometheus.eventually("b's plugins", Duration::from_secs(30), || {
        plugins("b").and_then(|p| {
            if p.len() == 2 {
                Ok(p)
            } else {
                Err(format!("{p:?}"))
            }
        })
    });
    assert_eq!(b, ["conf", "queue"]);
}

#[test]
fn the_log_is_one_event_per_line_and_holds_no_credential() {
    for format in ["logfmt", "json"] {
        let host = Host::start_config(
            plugins_dir("tenant_logs"),
            &config(""),
            &["--log.level", "debug", "--log.format", format],
        );
        // Right and wrong credentials of both kinds, on every tenant page.
        let wrong_token = "token-wrong-7731";
        let wrong_password = "pass-wrong-7731";
        for path in [
            "/tenants/a/metrics",
            "/tenants/a/",
            "/tenants/b/metrics",
            "/tenants/b/",
        ] {
            for authorization in [
                "Bearer token-a".to_owned(),
                format!("Bearer {wrong_token}"),
                basic("bob", "pass-b"),
                basic("bob", wrong_password),
            ] {
                get_as(&host, path, Some(&authorization));
            }
        }
        host.scrape();
        // A reload logs the plugins again.
        let reloaded = crate::common::client()
            .post(host.url("/-/reload"))
            .send()
            .unwrap();
        assert_eq!(reloaded.status(), 200);
        let latency = match format {
            "json" => "\"plugin\":\"latency\"",
            _ => "plugin=latency",
        };
        host.wait_for_log(&[latency, "loaded"]);
        let lines = host.log();
        assert!(lines.len() > 10, "{format}: {lines:?}");
        for line in &lines {
            for credential in [
                "token-a",
                wrong_token,
                "pass-b",
                wrong_password,
                TOKEN_A_SHA256,
                PASS_B_HASH,
            ] {
                assert!(
                    !line.contains(credential),
                    "{format}: the log holds a credential: {line}"
                );
            }
            // One event per line, in the format asked for.
            match format {
                "json" => {
                    let event: serde_json::Value = serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("not one JSON event ({e}): {line}"));
                    assert!(event.get("level").is_some(), "{line}");
                }
                _ => assert!(
                    line.starts_with("ts=") && line.contains(" level="),
                    "not one logfmt event: {line}"
                ),
            }
        }
    }
}
