//! The probe's settings, read from the plugin's `config:` map: the subset
//! of the blackbox exporter's `http` module this plugin implements, with
//! the same names and defaults. A key `M.key` sets `key` for the module
//! `M` only, selected with `/probe?...&module=M`; the plain keys are the
//! defaults of every module.

use std::collections::BTreeSet;

/// Redirects followed at most, as Go's client and the blackbox exporter.
pub const MAX_REDIRECTS: u32 = 10;

/// Default `body_size_limit`. The body is counted and discarded, so this
/// bounds the time and fuel a huge response may take, not memory: over
/// TLS a byte costs about 100 units of fuel with ChaCha20-Poly1305 (about
/// 460 with AES-GCM), so the host's default budget of 10^9 covers this.
pub const DEFAULT_BODY_SIZE_LIMIT_BYTES: u64 = 4 * 1024 * 1024;

/// The most a `ca_file` may hold.
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// Which address family to connect over when a name has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpProtocol {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// One accepted range of status codes (`200`, or `2xx` as 200-299).
pub type StatusRange = (u16, u16);

/// A probe's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Accepted status codes; 2xx by default.
    pub valid_status_codes: Vec<StatusRange>,
    /// Accepted protocols (`HTTP/1.1`); any when empty.
    pub valid_http_versions: Vec<String>,
    /// The request method.
    pub method: String,
    /// Extra request headers (`headers.NAME` keys).
    pub headers: Vec<(String, String)>,
    /// A request body.
    pub body: Option<String>,
    /// Whether redirects are followed.
    pub follow_redirects: bool,
    /// Fail when the final response came over TLS.
    pub fail_if_ssl: bool,
    /// Fail when the final response did not come over TLS.
    pub fail_if_not_ssl: bool,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// PEM file of the CAs to trust instead of the built-in roots.
    pub ca_file: Option<String>,
    /// The name to verify the certificate against (and send as SNI).
    pub server_name: Option<String>,
    /// The address family tried first.
    pub preferred_ip_protocol: IpProtocol,
    /// Whether the other family may be used when the preferred one has no
    /// address.
    pub ip_protocol_fallback: bool,
    /// Body bytes read at most; a longer body fails the probe.
    pub body_size_limit: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            valid_status_codes: Vec::new(),
            valid_http_versions: Vec::new(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            follow_redirects: true,
            fail_if_ssl: false,
            fail_if_not_ssl: false,
            insecure_skip_verify: false,
            ca_file: None,
            server_name: None,
            preferred_ip_protocol: IpProtocol::V6,
            ip_protocol_fallback: true,
            body_size_limit: DEFAULT_BODY_SIZE_LIMIT_BYTES,
        }
    }
}

/// Every key a module may set, besides `headers.NAME`.
const KEYS: [&str; 13] = [
    "valid_status_codes",
    "valid_http_versions",
    "method",
    "body",
    "follow_redirects",
    "fail_if_ssl",
    "fail_if_not_ssl",
    "insecure_skip_verify",
    "ca_file",
    "server_name",
    "preferred_ip_protocol",
    "ip_protocol_fallback",
    "body_size_limit",
];

const HEADER_PREFIX: &str = "headers.";

/// Whether `key` is a setting of a module (not prefixed by a module name).
fn is_setting(key: &str) -> bool {
    KEYS.contains(&key)
        || key
            .strip_prefix(HEADER_PREFIX)
            .is_some_and(|h| !h.is_empty())
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Settings {
    /// The settings of `module` (the defaults when `None`) from the
    /// plugin's configuration. Unknown keys and modules are errors, so a
    /// typo does not silently probe with defaults.
    pub fn from_config(
        config: &[(String, String)],
        module: Option<&str>,
    ) -> Result<Settings, String> {
        let mut modules = BTreeSet::new();
        for (key, _) in config {
            if is_setting(key) {
                continue;
            }
            match key.split_once('.') {
                Some((m, rest)) if is_setting(rest) && is_token(m) => {
                    modules.insert(m);
                }
                _ => {
                    return Err(format!(
                        "config key {key:?} is unknown; the keys are {} and headers.NAME, \
                         optionally prefixed by a module name (MODULE.key)",
                        KEYS.join(", ")
                    ));
                }
            }
        }
        if let Some(m) = module
            && !modules.contains(m)
        {
            let known: Vec<&str> = modules.iter().copied().collect();
            return Err(format!(
                "module {m:?} is not configured (configured modules: {}); set its keys as {m}.KEY",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        let mut settings = Settings::default();
        // Module keys after the plain ones, so that they win.
        let plain = config.iter().filter(|(k, _)| is_setting(k));
        let scoped = config.iter().filter_map(|(k, v)| {
            let m = module?;
            k.strip_prefix(m)?.strip_prefix('.').map(|k| (k, v))
        });
        for (key, value) in plain.map(|(k, v)| (k.as_str(), v)).chain(scoped) {
            settings
                .set(key, value)
                .map_err(|e| format!("config key {key:?}: {e}"))?;
        }
        if settings.fail_if_ssl && settings.fail_if_not_ssl {
            return Err("fail_if_ssl and fail_if_not_ssl cannot both be true".into());
        }
        Ok(settings)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        if let Some(name) = key.strip_prefix(HEADER_PREFIX) {
            if !is_token(name) {
                return Err(format!("{name:?} is not a header name"));
            }
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err("a header value cannot hold a line break".into());
            }
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.headers.push((name.to_owned(), value.to_owned()));
            return Ok(());
        }
        match key {
            "valid_status_codes" => self.valid_status_codes = parse_status_codes(value)?,
            "valid_http_versions" => {
                self.valid_http_versions = list(value)
                    .map(|v| match v {
                        "HTTP/1.0" | "HTTP/1.1" => Ok(v.to_owned()),
                        other => Err(format!("{other:?} is not HTTP/1.0 or HTTP/1.1")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "method" => {
                if !is_token(value) {
                    return Err(format!("{value:?} is not an HTTP method"));
                }
                self.method = value.to_owned();
            }
            "body" => self.body = Some(value.to_owned()),
            "follow_redirects" => self.follow_redirects = boolean(value)?,
            "fail_if_ssl" => self.fail_if_ssl = boolean(value)?,
            "fail_if_not_ssl" => self.fail_if_not_ssl = boolean(value)?,
            "insecure_skip_verify" => self.insecure_skip_verify = boolean(value)?,
            "ca_file" => self.ca_file = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "server_name" => self.server_name = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "preferred_ip_protocol" => {
                self.preferred_ip_protocol = match value {
                    "ip4" => IpProtocol::V4,
                    "ip6" | "" => IpProtocol::V6,
                    other => return Err(format!("{other:?} is not ip4 or ip6")),
                }
            }
            "ip_protocol_fallback" => self.ip_protocol_fallback = boolean(value)?,
            "body_size_limit" => self.body_size_limit = parse_size(value)?,
            other => return Err(format!("{other:?} is not a setting")),
        }
        Ok(())
    }

    /// Whether `status` is accepted.
    pub fn status_is_valid(&self, status: u16) -> bool {
        if self.valid_status_codes.is_empty() {
            return (200..300).contains(&status);
        }
        self.valid_status_codes
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

fn boolean(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// `200, 301, 4xx` → ranges.
fn parse_status_codes(value: &str) -> Result<Vec<StatusRange>, String> {
    list(value)
        .map(|code| {
            if let Some(class) = code.strip_suffix("xx").or_else(|| code.strip_suffix("XX")) {
                match class.parse::<u16>() {
                    Ok(c @ 1..=5) if class.len() == 1 => Ok((c * 100, c * 100 + 99)),
                    _ => Err(format!("{code:?} is not a status class (1xx to 5xx)")),
                }
            } else {
                match code.parse::<u16>() {
                    Ok(c @ 100..=999) => Ok((c, c)),
                    _ => Err(format!("{code:?} is not a status code")),
                }
            }
        })
        .collect()
}

/// `1048576`, `512KB`, `10MB`, `1GiB`: bytes, units base 2 as the
/// blackbox exporter reads them.
fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "KIB" => 1 << 10,
        "MB" | "MIB" => 1 << 20,
        "GB" | "GIB" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (B, KB, MB, GB)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{value:?} is not a positive size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_blackbox_exporters() {
        let s = Settings::from_config(&[], None).unwrap();
        assert_eq!(s, Settings::default());
        assert!(s.status_is_valid(200) && s.status_is_valid(299));
        assert!(!s.status_is_valid(301) && !s.status_is_valid(404));
        assert_eq!(s.method, "GET");
        assert!(s.follow_redirects);
    }

    #[test]
    fn every_key_is_read() {
        let s = Settings::from_config(
            &config(&[
                ("valid_status_codes", "200, 4xx"),
                ("valid_http_versions", "HTTP/1.1"),
                ("method", "POST"),
                ("body", "{}"),
                ("follow_redirects", "false"),
                ("fail_if_not_ssl", "true"),
                ("insecure_skip_verify", "true"),
                ("ca_file", "/etc/ca.pem"),
                ("server_name", "example.com"),
                ("preferred_ip_protocol", "ip4"),
                ("ip_protocol_fallback", "false"),
                ("body_size_limit", "2MB"),
                ("headers.X-Probe", "1"),
            ]),
            None,
        )
        .unwrap();
        assert!(s.status_is_valid(200) && s.status_is_valid(404) && !s.status_is_valid(201));
        assert_eq!(s.valid_http_versions, ["HTTP/1.1"]);
        assert_eq!((s.method.as_str(), s.body.as_deref()), ("POST", Some("{}")));
        assert!(!s.follow_redirects && s.fail_if_not_ssl && s.insecure_skip_verify);
        assert_eq!(s.ca_file.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(s.server_name.as_deref(), Some("example.com"));
        assert_eq!(s.preferred_ip_protocol, IpProtocol::V4);
        assert!(!s.ip_protocol_fallback);
        assert_eq!(s.body_size_limit, 2 << 20);
        assert_eq!(s.headers, [("X-Probe".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn a_module_overrides_the_plain_keys() {
        let c = config(&[
            ("method", "HEAD"),
            ("headers.X-A", "plain"),
            ("post.method", "POST"),
            ("post.headers.x-a", "module"),
            ("tls.fail_if_not_ssl", "true"),
        ]);
        let plain = Settings::from_config(&c, None).unwrap();
        assert_eq!(plain.method, "HEAD");
        let post = Settings::from_config(&c, Some("post")).unwrap();
        assert_eq!(post.method, "POST");
        assert_eq!(post.headers, [("x-a".to_owned(), "module".to_owned())]);
        assert!(!post.fail_if_not_ssl);
        let tls = Settings::from_config(&c, Some("tls")).unwrap();
        assert_eq!(tls.method, "HEAD");
        assert!(tls.fail_if_not_ssl);
        let err = Settings::from_config(&c, Some("http_2xx")).unwrap_err();
        assert!(
            err.contains("\"http_2xx\" is not configured") && err.contains("post, tls"),
            "{err}"
        );
    }

    #[test]
    fn bad_settings_name_the_key() {
        for (key, value) in [
            ("valid_status_codes", "2xxx"),
            ("valid_status_codes", "6xx"),
            ("valid_status_codes", "42"),
            ("valid_http_versions", "HTTP/2"),
            ("method", "GET /"),
            ("follow_redirects", "yes"),
            ("preferred_ip_protocol", "ip5"),
            ("body_size_limit", "0"),
            ("body_size_limit", "10 parsecs"),
            ("body_size_limit", "99999999999GB"),
            ("headers.X-A", "a\r\nb: c"),
            ("headers.Bad Name", "x"),
            ("timeout", "5s"),
            ("x.timeout", "5s"),
            ("headers.", "x"),
        ] {
            let err = Settings::from_config(&config(&[(key, value)]), None).unwrap_err();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
        let err = Settings::from_config(
            &config(&[("fail_if_ssl", "true"), ("fail_if_not_ssl", "true")]),
            None,
        )
        .unwrap_err();
        assert!(err.contains("both"), "{err}");
    }
}
