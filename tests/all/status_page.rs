//! The status page in a real browser: Debian's headless Chromium, driven
//! over the DevTools protocol. The page must load with no console error
//! under its Content-Security-Policy (a blocked stylesheet or script is a
//! console error), show each plugin in the state it is in after a hostile
//! one failed, draw its charts, and fit a phone's width. Screenshots are
//! kept in `target/tmp/status-page/`.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::common::{Host, TempDir, client, example_plugin, test_plugin};

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long the browser may take to start, answer a call or load a page:
/// generous, a busy machine is slow; a hang still ends the test.
const BROWSER_WAIT: Duration = Duration::from_secs(60);

/// Headless Chromium with a DevTools port, killed on drop.
struct Browser {
    child: Child,
    port: u16,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Browser {
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing: `cargo xtask test` installs Debian's chromium"
        );
        let profile = TempDir::new("chromium");
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                // The tests may run as root, where Chromium's sandbox
                // cannot start; the browser only loads the test's host.
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it took into the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(port) = text.lines().next().and_then(|l| l.parse().ok())
            {
                break port;
            }
            assert!(
                started.elapsed() < BROWSER_WAIT,
                "chromium wrote no DevToolsActivePort within {BROWSER_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        Browser {
            child,
            port,
            _profile: profile,
        }
    }

    /// A new tab.
    fn tab(&self) -> Tab {
        let target = client()
            .put(format!(
                "http://127.0.0.1:{}/json/new?about:blank",
                self.port
            ))
            .send()
            .and_then(|r| r.text())
            .expect("open a tab");
        let target: Value = serde_json::from_str(&target).expect("the tab, as JSON");
        let url = target["webSocketDebuggerUrl"]
            .as_str()
            .expect("the tab's DevTools address")
            .to_owned();
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(BROWSER_WAIT)).unwrap();
        let (socket, _) = tungstenite::client(url.as_str(), stream).expect("DevTools handshake");
        let mut tab = Tab {
            socket,
            next_id: 0,
            events: Vec::new(),
        };
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            tab.call(domain, json!({}));
        }
        tab
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab, and every event it has sent.
struct Tab {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Tab {
    /// Calls `method` and returns its result; events read meanwhile are
    /// kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(request.to_string()))
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        loop {
            let message = self.read(method);
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
        }
    }

    fn read(&mut self, waiting_for: &str) -> Value {
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value.get("method").is_some() {
                        self.events.push(value.clone());
                    }
                    return value;
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    panic!("no answer to {waiting_for} within {BROWSER_WAIT:?}")
                }
                Err(e) => panic!("reading DevTools for {waiting_for}: {e}"),
            }
        }
    }

    /// Loads `url` and waits for its load event.
    fn open(&mut self, url: &str) {
        self.events.clear();
        let result = self.call("Page.navigate", json!({ "url": url }));
        assert!(result.get("errorText").is_none(), "loading {url}: {result}");
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            self.read("Page.loadEventFired");
        }
        // Settle: one round trip makes sure the console events of the
        // load have been read.
        self.eval("1");
    }

    /// Evaluates `expression` in the page; returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// The console errors, exceptions and CSP violations since the last
    /// page load.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"]["text"].to_string())
                }
                "Runtime.exceptionThrown" => Some(e["params"].to_string()),
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Saves a PNG of the page as it is.
    fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64_decode(shot["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `printf %s t | sha256sum`
const TOKEN_T_SHA256: &str = "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8";

#[test]
fn the_status_page_renders_every_plugins_state_and_charts_under_its_csp() {
    let dir = TempDir::new("status_page");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    dir.add("demo_latency", &example_plugin("demo_latency"));
    dir.add("loop", &test_plugin("loop"));
    dir.write("broken", b"this is not a component");
    let config = format!(
        "plugins:
  - path: demo_queue.wasm
    config: {{ password: hunter2 }}
  - path: demo_latency.wasm
  - path: loop.wasm
    limits: {{ fuel: 10000000, timeout: 60s }}
  - path: broken.wasm
tenants:
  t:
    auth: {{ bearer_token_sha256: [{TOKEN_T_SHA256}] }}
    plugins: [ {{ path: demo_queue.wasm }} ]
"
    );
    let host = Host::start_config(dir, &config, &[]);
    const SCRAPES: usize = 4;
    for _ in 0..SCRAPES {
        host.scrape();
        host.get_with("/tenants/t/metrics", &[("authorization", "Bearer t")]);
    }

    // The headers a browser enforces.
    let index = host.get_with("/", &[]);
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    // The tenant's pages take its credentials, the operator's do not.
    assert_eq!(host.get_with("/tenants/t/", &[]).status, 401);
    assert_eq!(
        host.get_with("/tenants/t/", &[("authorization", "Bearer wrong")])
            .status,
        401
    );

    let browser = Browser::start();
    let mut tab = browser.tab();
    let shots = artifacts();

    // The index, on a desktop.
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    );
    tab.open(&host.url("/"));
    assert_eq!(tab.errors(), Vec::<String>::new(), "console errors on /");
    let rows = tab.eval(
        "Object.fromEntries([...document.querySelectorAll('tr')].slice(1)
            .filter(r => r.cells.length > 3)
            .map(r => [r.cells[0].innerText, [r.cells[1].innerText, r.cells[2].innerText]]))",
    );
    assert_eq!(rows["demo_queue"][0], "up", "{rows}");
    assert_eq!(rows["demo_latency"][0], "up", "{rows}");
    assert_eq!(rows["loop"][0], "down", "{rows}");
    assert!(rows["loop"][1].as_str().unwrap().contains("fuel"), "{rows}");
    assert_eq!(rows["broken"][0], "broken", "{rows}");
    // The stylesheet applied (the CSP let it through): a state is coloured
    // and a chart's line is not filled.
    let style = tab.eval(
        "[getComputedStyle(document.querySelector('td.down')).color,
          getComputedStyle(document.querySelector('svg.spark polyline')).fill]",
    );
    assert_eq!(style, json!(["rgb(207, 34, 46)", "none"]), "styles applied");
    // One sparkline per plugin, drawn with a point per scrape.
    let sparks = tab.eval(
        "[...document.querySelectorAll('svg.spark')].map(s => {
            const r = s.getBoundingClientRect();
            const line = s.querySelector('polyline');
            return [r.width, r.height, line ? line.points.numberOfItems : 0];
        })",
    );
    let sparks = sparks.as_array().unwrap();
    assert_eq!(sparks.len(), 4, "{sparks:?}");
    for spark in sparks {
        assert!(spark[0].as_f64() > Some(0.0) && spark[1].as_f64() > Some(0.0));
        assert_eq!(spark[2], SCRAPES, "a point per scrape: {sparks:?}");
    }
    // The tenant's row: one plugin, up.
    assert_eq!(rows["t"], json!(["1", "1"]), "{rows}");
    // The page came gzipped (the browser asks for it).
    let sizes = tab.eval(
        "const n = performance.getEntriesByType('navigation')[0];
         [n.encodedBodySize, n.decodedBodySize]",
    );
    assert!(
        sizes[0].as_f64() < sizes[1].as_f64(),
        "not compressed: {sizes}"
    );
    tab.screenshot(&shots.join("index-desktop.png"));

    // The same page on a phone: nothing wider than the screen.
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true }),
    );
    tab.open(&host.url("/"));
    assert_eq!(tab.errors(), Vec::<String>::new());
    let widths = tab.eval("[document.documentElement.scrollWidth, window.innerWidth]");
    assert!(
        widths[0].as_f64() <= widths[1].as_f64(),
        "the page is wider than a phone: {widths}"
    );
    tab.screenshot(&shots.join("index-phone.png"));

    // A hostile plugin's page: its error, its charts with the failures
    // marked, its reason counts.
    tab.open(&host.url("/status/plugins/loop"));
    assert_eq!(tab.errors(), Vec::<String>::new());
    let text = tab.eval("document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("last error") && text.contains("ran out of fuel"),
        "{text}"
    );
    let charts = tab.eval(
        "[...document.querySelectorAll('svg.chart')].map(s =>
            [s.querySelector('polyline').points.numberOfItems,
             (s.querySelector('path.fail')?.getAttribute('d') ?? '').split('M').length - 1])",
    );
    assert_eq!(
        charts,
        json!([[SCRAPES, SCRAPES], [SCRAPES, SCRAPES], [SCRAPES, SCRAPES]]),
        "{charts}"
    );
    tab.screenshot(&shots.join("plugin-loop.png"));

    // A plugin's reference is its `describe`.
    tab.open(&host.url("/status/plugins/demo_latency"));
    let text = tab.eval("document.body.innerText");
    assert!(
        text.as_str().unwrap().contains("histogram"),
        "the describe reference: {text}"
    );

    // The configuration in effect: secrets masked.
    tab.open(&host.url("/status/config"));
    assert_eq!(tab.errors(), Vec::<String>::new());
    let text = tab.eval("document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("<secret>") && text.contains("loop.wasm"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains(TOKEN_T_SHA256),
        "{text}"
    );

    // The tenant's own page, with its credentials.
    tab.call(
        "Network.setExtraHTTPHeaders",
        json!({ "headers": { "Authorization": "Bearer t" } }),
    );
    tab.open(&host.url("/tenants/t/"));
    assert_eq!(tab.errors(), Vec::<String>::new());
    let text = tab.eval("document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Tenant t") && text.contains("demo_queue"),
        "{text}"
    );
    assert!(
        !text.contains("loop"),
        "a tenant sees only its plugins: {text}"
    );
    assert!(!text.contains(TOKEN_T_SHA256), "{text}");
    tab.open(&host.url("/tenants/t/plugins/demo_queue"));
    assert_eq!(tab.errors(), Vec::<String>::new());
    tab.screenshot(&shots.join("tenant-plugin.png"));

    // The error collector sees a CSP violation: an injected stylesheet is
    // refused and reported.
    tab.open(&host.url("/"));
    tab.eval(
        "document.head.appendChild(Object.assign(document.createElement('style'),
            { textContent: 'body { color: red }' })); 1",
    );
    let started = Instant::now();
    while !tab
        .errors()
        .iter()
        .any(|e| e.contains("Content Security Policy"))
        && started.elapsed() < BROWSER_WAIT
    {
        tab.eval("1");
        std::thread::sleep(Duration::from_millis(50));
    }
    let errors = tab.errors();
    assert!(
        errors.iter().any(|e| e.contains("Content Security Policy")),
        "a refused stylesheet is a console error: {errors:?}"
    );
}
