//! The status page: what an operator opens at 3 a.m. Server-rendered HTML
//! with no external assets and no script, so it works offline and under a
//! strict Content-Security-Policy (its one stylesheet is inline and allowed
//! by its hash); readable on a phone.
//!
//! - `/`: the host, its plugins (state, reason, last scrape, charts of
//!   recent scrapes) and its tenants;
//! - `/status/plugins/NAME`: one plugin: its version, limits, grants,
//!   refusals, reason counts, last error, charts and `describe` reference;
//! - `/status/config`: the configuration in effect, secrets masked;
//! - `/status/tenants/NAME` (and `.../plugins/NAME`): a tenant, for the
//!   operator; `/tenants/NAME/` (and `plugins/NAME`): the same for the
//!   tenant itself, behind its credentials, with its own configuration.
//!
//! The charts are inline SVG drawn from each plugin's ring of its last
//! [`RECENT_SCRAPES`](crate::stats::RECENT_SCRAPES) scrapes.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use wasm_exporter_runtime::grants::Capability;
use wasm_exporter_runtime::outcome::FailureReason;

use crate::registry::{PluginMap, PluginState, RegisteredPlugin};
use crate::stats::Sample;
use crate::tenants::Tenant;

/// The page's one stylesheet, inline; the CSP allows it by its hash.
const STYLE: &str = "\
:root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--muted:#6e7781;--line:#d0d7de}\
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1em;max-width:72em}\
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}\
a{color:inherit}nav a{margin-right:1em}\
.scroll{overflow-x:auto}table{border-collapse:collapse;min-width:100%}\
th,td{border-bottom:1px solid var(--line);padding:.35em .6em;text-align:left;vertical-align:top}\
td.reason{overflow-wrap:anywhere;min-width:12em}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}time{white-space:nowrap}\
.up{color:var(--ok);font-weight:600}.down,.broken{color:var(--bad);font-weight:600}\
.pending,.muted{color:var(--muted)}\
code,pre{font:13px ui-monospace,monospace}pre{overflow-x:auto;border:1px solid var(--line);padding:.8em}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figcaption{color:var(--muted);font-size:.9em}\
svg.chart{display:block;width:100%;max-width:320px;height:auto}svg.spark{display:block;width:120px;height:24px}\
svg .line{fill:none;stroke:currentColor;stroke-width:1.5}svg .fail{fill:none;stroke:var(--bad);stroke-width:5;stroke-linecap:round}svg .axis{stroke:var(--line)}\
@media(max-width:40em){body{padding:.5em}.wide{display:none}}";

/// The `Content-Security-Policy` of every status page: nothing may load,
/// nothing may run, the inline stylesheet is allowed by its hash.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    })
}

/// What the index shows of the host.
pub struct Host<'a> {
    /// The metrics path (`--web.telemetry-path`).
    pub telemetry_path: &'a str,
    /// Whether the last configuration reload succeeded, and when the last
    /// successful one was; none without a configuration.
    pub reload: Option<(bool, SystemTime)>,
    /// Every tenant.
    pub tenants: Vec<std::sync::Arc<Tenant>>,
}

/// Where a page's links lead: the operator's pages or a tenant's own.
pub struct Links {
    /// The page listing the plugins.
    pub home: String,
    /// Prefix of each plugin's page.
    pub plugins: String,
    /// The metrics endpoint of these plugins.
    pub metrics: String,
    /// The configuration page, if this viewer may see it on its own page.
    pub config: Option<String>,
}

impl Links {
    /// Links of the operator's pages for the default registry.
    pub fn operator(telemetry_path: &str) -> Links {
        Links {
            home: "/".into(),
            plugins: "/status/plugins/".into(),
            metrics: telemetry_path.into(),
            config: Some("/status/config".into()),
        }
    }

    /// Links of tenant `name`'s pages: its own (`own`), or the operator's
    /// view of it.
    pub fn tenant(name: &str, own: bool) -> Links {
        let home = if own {
            format!("/tenants/{name}/")
        } else {
            format!("/status/tenants/{name}")
        };
        Links {
            plugins: format!("{}/plugins/", home.trim_end_matches('/')),
            home,
            metrics: format!("/tenants/{name}/metrics"),
            config: None,
        }
    }
}

/// The landing page: the host, its plugins and its tenants.
pub fn index(plugins: &PluginMap, host: &Host) -> String {
    let links = Links::operator(host.telemetry_path);
    let mut body = String::new();
    let path = escape(host.telemetry_path);
    let _ = write!(
        body,
        "<h1>wasm_exporter</h1>\n<p>Prometheus exporter hosting collectors written as WebAssembly components. Version {}.</p>\n\
<nav><a href=\"{path}\">Metrics</a><a href=\"/status/config\">Configuration</a><a href=\"/-/healthy\">Health</a><a href=\"/-/ready\">Readiness</a></nav>\n",
        escape(crate::VERSION)
    );
    match host.reload {
        Some((false, at)) => {
            let _ = writeln!(
                body,
                "<p class=\"down\">The last configuration reload failed; the configuration loaded {} serves.</p>",
                when(at)
            );
        }
        Some((true, at)) => {
            let _ = writeln!(body, "<p>Configuration loaded {}.</p>", when(at));
        }
        None => {}
    }
    plugin_table(&mut body, plugins, &links);
    if !host.tenants.is_empty() {
        body.push_str("<h2>Tenants</h2>\n<div class=\"scroll\"><table><tr><th>tenant</th><th>plugins</th><th>up</th><th>down</th><th>last scrape</th><th>scrapes</th></tr>\n");
        for tenant in &host.tenants {
            let snapshot = tenant.registry.snapshot();
            let (up, down) = up_down(&snapshot);
            let (duration, _, _) = tenant.stats.last_cost();
            let (scrapes, _, _) = tenant.stats.counts();
            let name = escape(&tenant.name);
            let _ = writeln!(
                body,
                "<tr><td><a href=\"/status/tenants/{name}\">{name}</a></td><td class=\"num\">{}</td><td class=\"num\">{up}</td><td class=\"num{}\">{down}</td><td class=\"num\">{}</td><td class=\"num\">{scrapes}</td></tr>",
                snapshot.len(),
                if down > 0 { " down" } else { "" },
                if scrapes == 0 {
                    "–".to_owned()
                } else {
                    millis(duration)
                },
            );
        }
        body.push_str("</table></div>\n");
    }
    page("wasm_exporter", &body)
}

/// A tenant's page: its budget, its last scrape and its plugins; with
/// `config`, its section of the configuration (secrets masked).
pub fn tenant(tenant: &Tenant, links: &Links, config: Option<&str>) -> String {
    let name = escape(&tenant.name);
    let budget = tenant.budget();
    let (instances, memory_share) = tenant.share_size();
    let (duration, cost, budget_spent) = tenant.stats.last_cost();
    let (scrapes, auth_rejections, limit_rejections) = tenant.stats.counts();
    let mut body = format!(
        "<h1>Tenant {name}</h1>\n<nav><a href=\"{}\">Metrics</a></nav>\n<h2>Budget per scrape</h2>\n<div class=\"scroll\"><table><tr><th></th><th>last scrape</th><th>budget</th></tr>\n",
        escape(&links.metrics)
    );
    let rows = [
        ("fuel", cost.fuel.to_string(), budget.fuel.to_string()),
        (
            "memory",
            bytes(cost.memory_bytes),
            bytes(budget.memory_bytes),
        ),
        ("series", cost.series.to_string(), budget.series.to_string()),
        ("duration", millis(duration), "–".into()),
    ];
    for (what, last, limit) in rows {
        let _ = writeln!(
            body,
            "<tr><th>{what}</th><td class=\"num\">{last}</td><td class=\"num\">{limit}</td></tr>"
        );
    }
    let _ = writeln!(
        body,
        "</table></div>\n<dl><dt>instances</dt><dd>{instances} of the pool</dd><dt>memory share</dt><dd>{}</dd><dt>scrapes in flight</dt><dd>at most {}</dd><dt>metric prefix</dt><dd>{}</dd><dt>scrapes</dt><dd>{scrapes}</dd><dt>series budget spent</dt><dd>{budget_spent}</dd><dt>turned away (in flight)</dt><dd>{limit_rejections}</dd><dt>refused credentials</dt><dd>{auth_rejections}</dd></dl>",
        bytes(memory_share),
        tenant.max_in_flight,
        tenant
            .metric_prefix()
            .map(|p| format!("<code>{}</code>", escape(p)))
            .unwrap_or_else(|| "none".into()),
    );
    plugin_table(&mut body, &tenant.registry.snapshot(), links);
    if let Some(config) = config {
        let _ = writeln!(
            body,
            "<h2>Configuration in effect</h2>\n<pre>{}</pre>",
            escape(config)
        );
    }
    page(&format!("{} · wasm_exporter", tenant.name), &body)
}

/// One plugin's page.
pub fn plugin(plugin: &RegisteredPlugin, links: &Links) -> String {
    let name = escape(&plugin.name);
    let (class, state, detail) = state(plugin);
    let mut body = format!(
        "<nav><a href=\"{}\">All plugins</a><a href=\"{}?collect[]={name}\">Its metrics</a></nav>\n<h1>{name} <span class=\"{class}\">{state}</span></h1>\n",
        escape(&links.home),
        escape(&links.metrics),
    );
    if !detail.is_empty() {
        let _ = writeln!(body, "<p class=\"{class}\">{}</p>", escape(&detail));
    }
    body.push_str("<dl>");
    let mut item = |term: &str, value: String| {
        let _ = write!(body, "<dt>{term}</dt><dd>{value}</dd>");
    };
    item(
        "file",
        format!(
            "<code>{}</code>",
            escape(&plugin.path.display().to_string())
        ),
    );
    match plugin.version() {
        Some(v) => {
            item("sha256", format!("<code>{}</code>", escape(&v.sha256)));
            item("WIT version", escape(&v.wit_version));
            item("size", bytes(v.size_bytes));
            item("compiled in", millis(v.compile_time));
        }
        None => item("version", "none loaded".into()),
    }
    item("loaded", when(plugin.loaded_at));
    if let Some(e) = plugin.stats.last_reload_error() {
        item(
            "newer file",
            format!("<span class=\"down\">not loaded: {}</span>", escape(&e)),
        );
    }
    let (reloads_ok, reloads_failed) = plugin.stats.reloads();
    item(
        "reloads",
        format!("{reloads_ok} loaded, {reloads_failed} failed"),
    );
    item("collect calls", plugin.stats.collects().to_string());
    match plugin.stats.last_failure() {
        Some(f) => item(
            "last error",
            format!(
                "<span class=\"down\">{}: {}</span> {}",
                f.reason.map(FailureReason::as_str).unwrap_or(""),
                escape(&f.message),
                when(f.at)
            ),
        ),
        None => item("last error", "none".into()),
    }
    let limits = &plugin.limits;
    item(
        "limits",
        format!(
            "timeout {} ms, fuel {}, memory {}, {} series, {} of output",
            limits.timeout_ms,
            limits.fuel,
            bytes(limits.memory_bytes),
            limits.max_series,
            bytes(limits.max_bytes)
        ),
    );
    body.push_str("</dl>\n<h2>Granted capabilities</h2>\n");
    let grants = plugin.context.grants.summary();
    if grants.is_empty() {
        body.push_str("<p>Nothing: the plugin can reach nothing outside itself.</p>\n");
    } else {
        body.push_str("<ul>");
        for g in &grants {
            let _ = write!(body, "<li><code>{}</code></li>", escape(g));
        }
        body.push_str("</ul>\n");
    }
    let denied: Vec<String> = Capability::ALL
        .iter()
        .filter_map(|c| {
            let n = plugin.context.denials.get(*c);
            (n > 0).then(|| format!("{} {n}", c.as_str()))
        })
        .collect();
    if !denied.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"down\">Refused: {}.</p>",
            escape(&denied.join(", "))
        );
    }
    body.push_str("<h2>Recent scrapes</h2>\n");
    let recent = plugin.stats.recent();
    if recent.is_empty() {
        body.push_str("<p class=\"muted\">Not scraped yet.</p>\n");
    } else {
        body.push_str("<div class=\"charts\">");
        let charts: [(&str, Measure); 3] = [
            ("duration (ms)", |s| s.duration.as_secs_f64() * 1e3),
            ("series", |s| s.series as f64),
            ("fuel", |s| s.fuel as f64),
        ];
        for (title, value) in charts {
            let _ = write!(
                body,
                "<figure>{}<figcaption>{title}: {}</figcaption></figure>",
                chart(&recent, value, 320, 80, "chart", title),
                range(&recent, value)
            );
        }
        body.push_str("</div>\n");
    }
    body.push_str("<h2>Failures by reason</h2>\n<div class=\"scroll\"><table><tr><th>reason</th><th>count</th></tr>");
    for reason in FailureReason::ALL {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            reason.as_str(),
            plugin.stats.failures(reason)
        );
    }
    body.push_str("</table></div>\n<h2>Metrics it describes</h2>\n");
    let descriptors = plugin
        .version()
        .map(|v| v.descriptors.as_slice())
        .unwrap_or_default();
    if descriptors.is_empty() {
        body.push_str("<p class=\"muted\">The plugin describes no metric families.</p>\n");
    } else {
        body.push_str("<div class=\"scroll\"><table><tr><th>metric</th><th>type</th><th>unit</th><th>labels</th><th>help</th></tr>");
        let mut sorted: Vec<_> = descriptors.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for d in sorted {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.name),
                d.type_.as_str(),
                escape(d.unit.as_deref().unwrap_or("")),
                escape(&d.label_names.join(", ")),
                escape(&d.help)
            );
        }
        body.push_str("</table></div>\n");
    }
    page(&format!("{} · wasm_exporter", plugin.name), &body)
}

/// The configuration in effect, secrets already masked.
pub fn config(text: &str) -> String {
    page(
        "configuration · wasm_exporter",
        &format!(
            "<nav><a href=\"/\">Status</a></nav>\n<h1>Configuration in effect</h1>\n<p>Secrets are shown as <code>&lt;secret&gt;</code>.</p>\n<pre>{}</pre>\n",
            escape(text)
        ),
    )
}

/// The table of a registry's plugins.
fn plugin_table(body: &mut String, plugins: &PluginMap, links: &Links) {
    let (up, down) = up_down(plugins);
    let _ = writeln!(
        body,
        "<h2>Plugins <span class=\"muted\">{} · {up} up · {down} down</span></h2>",
        plugins.len()
    );
    if plugins.is_empty() {
        body.push_str("<p class=\"muted\">No plugins.</p>\n");
        return;
    }
    body.push_str("<div class=\"scroll\"><table><tr><th>plugin</th><th>state</th><th>reason</th><th>last scrape</th><th>duration</th><th>series</th><th class=\"wide\">recent durations</th><th class=\"wide\">sha256</th></tr>\n");
    for (name, plugin) in plugins.iter() {
        let (class, state, detail) = state(plugin);
        let last = plugin.stats.last();
        let (at, duration, series) = match &last {
            Some(l) => (ago(l.at), millis(l.duration), l.series.to_string()),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let recent = plugin.stats.recent();
        let sha = plugin
            .version()
            .map(|v| v.sha256[..12].to_owned())
            .unwrap_or_default();
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{}{}\">{}</a></td><td class=\"{class}\">{state}</td><td class=\"reason\">{}</td><td>{at}</td><td class=\"num\">{duration}</td><td class=\"num\">{series}</td><td class=\"wide\">{}</td><td class=\"wide\"><code>{sha}</code></td></tr>",
            escape(&links.plugins),
            escape(name),
            escape(name),
            escape(&detail),
            chart(
                &recent,
                |s| s.duration.as_secs_f64() * 1e3,
                120,
                24,
                "spark",
                "recent scrape durations"
            ),
        );
    }
    body.push_str("</table></div>\n");
}

/// A plugin's state: its CSS class, its word, and why.
fn state(plugin: &RegisteredPlugin) -> (&'static str, &'static str, String) {
    let last = plugin.stats.last();
    let (class, state, detail) = match (&plugin.state, &last) {
        (PluginState::Broken(e), _) => ("broken", "broken", e.clone()),
        (_, None) => ("pending", "not scraped yet", String::new()),
        (_, Some(l)) => match l.reason {
            None => ("up", "up", String::new()),
            Some(r) => ("down", "down", format!("{r}: {}", l.message)),
        },
    };
    // Only a plugin with a serving version has a newer file that did not
    // load; a broken one shows its load error as such.
    let detail = match (plugin.version(), plugin.stats.last_reload_error()) {
        (Some(_), Some(e)) if detail.is_empty() => format!("newer file not loaded: {e}"),
        (Some(_), Some(e)) => format!("{detail} (newer file not loaded: {e})"),
        _ => detail,
    };
    (class, state, detail)
}

fn up_down(plugins: &PluginMap) -> (usize, usize) {
    let up = plugins
        .values()
        .filter(|p| matches!(state(p).0, "up" | "pending"))
        .count();
    (up, plugins.len() - up)
}

/// What a chart plots of each sample.
type Measure = fn(&Sample) -> f64;

/// An inline SVG line chart of `value` over `samples`, failed scrapes
/// marked with a dot. Drawn with presentation attributes and classes only
/// (no `style` attribute), so the CSP needs nothing for it.
fn chart(
    samples: &[Sample],
    value: Measure,
    width: u32,
    height: u32,
    class: &str,
    title: &str,
) -> String {
    let mut svg = format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>"
    );
    if samples.is_empty() {
        svg.push_str("</svg>");
        return svg;
    }
    let values: Vec<f64> = samples.iter().map(value).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let (w, h) = (f64::from(width), f64::from(height));
    let pad = 2.0;
    let x = |i: usize| {
        if values.len() == 1 {
            w / 2.0
        } else {
            pad + (w - 2.0 * pad) * i as f64 / (values.len() - 1) as f64
        }
    };
    let y = |v: f64| {
        if max > 0.0 {
            h - pad - (h - 2.0 * pad) * v / max
        } else {
            h - pad
        }
    };
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"0\" y1=\"{0:.1}\" x2=\"{width}\" y2=\"{0:.1}\"/>",
        h - pad
    );
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = write!(
        svg,
        "<polyline class=\"line\" points=\"{}\"/>",
        points.join(" ")
    );
    // Failed scrapes: one path of zero-length strokes, each drawn as a dot
    // by its round cap (a tenth of the size of a circle element apiece).
    let failed: Vec<String> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.up)
        .map(|(i, _)| format!("M{:.1} {:.1}h0", x(i), y(values[i])))
        .collect();
    if !failed.is_empty() {
        let _ = write!(svg, "<path class=\"fail\" d=\"{}\"/>", failed.concat());
    }
    svg.push_str("</svg>");
    svg
}

/// "last L, min A, max B over N scrapes".
fn range(samples: &[Sample], value: Measure) -> String {
    let values: Vec<f64> = samples.iter().map(value).collect();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let last = values.last().copied().unwrap_or(0.0);
    format!(
        "last {}, min {}, max {} over {} scrapes",
        short(last),
        short(min),
        short(max),
        values.len()
    )
}

fn short(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// `at` as a UTC time in a `<time>` element, with how long ago it was.
fn when(at: SystemTime) -> String {
    let (iso, ago) = time_and_age(at);
    let shown = iso.replace('T', " ").replace('Z', " UTC");
    format!("<time datetime=\"{iso}\">{shown}</time> ({ago} ago)")
}

/// How long ago `at` was, in a `<time>` element titled with the time.
fn ago(at: SystemTime) -> String {
    let (iso, ago) = time_and_age(at);
    format!("<time datetime=\"{iso}\" title=\"{iso}\">{ago} ago</time>")
}

fn time_and_age(at: SystemTime) -> (String, String) {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let ago = SystemTime::now()
        .duration_since(at)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let ago = match ago {
        0..60 => format!("{ago} s"),
        60..3600 => format!("{} min", ago / 60),
        3600..86400 => format!("{} h", ago / 3600),
        _ => format!("{} d", ago / 86400),
    };
    (iso8601(secs), ago)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rest = secs % 86400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A whole page around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// `s` safe in HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_796_083_199), "2026-11-30T23:59:59Z");
    }

    #[test]
    fn the_csp_allows_exactly_the_inline_style() {
        let csp = content_security_policy();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(csp.contains(&format!("style-src 'sha256-{hash}'")));
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("unsafe"));
    }

    #[test]
    fn a_chart_has_a_point_per_sample_and_marks_failures() {
        let sample = |ms: u64, up: bool| Sample {
            at: UNIX_EPOCH,
            duration: Duration::from_millis(ms),
            series: 1,
            fuel: 1,
            up,
        };
        let samples = [sample(1, true), sample(4, false), sample(2, true)];
        let svg = chart(
            &samples,
            |s| s.duration.as_secs_f64(),
            100,
            20,
            "spark",
            "t",
        );
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 3);
        assert_eq!(svg.matches("h0").count(), 1, "one failure marked: {svg}");
        assert!(!svg.contains("style="));
    }
}
