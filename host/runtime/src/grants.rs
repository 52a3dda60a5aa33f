//! What a plugin may reach, as the operator granted it: outgoing HTTP to
//! URL prefixes, TCP (and UDP) to `host:port` pairs, read-only files and
//! directories, environment variables, file-system statistics of mount
//! points, and the target of each probe. Nothing is granted by default.
//!
//! This module parses and checks grants; each module under `capabilities`
//! enforces its kind. Every grant is written as
//! a string in the configuration, and a wrong one is refused with a
//! message saying what is wrong with it.

use std::fmt;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A host: an IP address, or a DNS name (lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A DNS name, lowercase, without a trailing dot.
    Name(String),
}

impl Host {
    /// Parses a host: an IP address (IPv6 in brackets or bare) or a name.
    pub fn parse(s: &str) -> Result<Host, String> {
        let bare = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(s);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let name = s.trim_end_matches('.').to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !label.starts_with('-')
            });
        if valid {
            Ok(Host::Name(name))
        } else {
            Err(format!("{s:?} is not an IP address or a host name"))
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A `host:port` a plugin may connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `host:port` (`[::1]:6379` for IPv6).
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?} has no port (write host:port)"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{s:?}: the port must be a number from 1 to 65535"))?;
        Ok(Endpoint {
            host: Host::parse(host).map_err(|e| format!("{s:?}: {e}"))?,
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A URL prefix a plugin may send HTTP requests to: scheme, host, port and
/// path prefix, each compared on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix {
    /// `http` or `https`.
    pub scheme: String,
    /// The host.
    pub host: Host,
    /// The port (80 or 443 when the URL has none).
    pub port: u16,
    /// The path prefix, starting with `/`.
    pub path: String,
}

impl UrlPrefix {
    /// Parses `http://host[:port][/path]` or `https://...`.
    pub fn parse(s: &str) -> Result<UrlPrefix, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("{s:?} is not a URL (write http://host[:port]/path)"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(format!("{s:?}: only http and https URLs can be granted")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!("{s:?}: user information is not allowed in a grant"));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "{s:?}: a grant is a path prefix, without query or fragment"
            ));
        }
        if has_dot_segment(path) {
            return Err(format!("{s:?}: the path has a . or .. segment"));
        }
        let (host, port) =
            split_authority(authority, default_port).map_err(|e| format!("{s:?}: {e}"))?;
        Ok(UrlPrefix {
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// Whether a request to `scheme://host:port` + `path` falls under this
    /// prefix. The path must equal the prefix, or continue it at a `/`.
    pub fn allows(&self, scheme: &str, host: &Host, port: u16, path: &str) -> bool {
        scheme.eq_ignore_ascii_case(&self.scheme)
            && *host == self.host
            && port == self.port
            && (path == self.path
                || (path.starts_with(&self.path)
                    && (self.path.ends_with('/') || path[self.path.len()..].starts_with('/'))))
    }
}

impl fmt::Display for UrlPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.path
        )
    }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6).
pub fn split_authority(authority: &str, default_port: u16) -> Result<(Host, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the host".to_owned())?;
        (v6, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{p:?} is not a port"))?,
    };
    Ok((Host::parse(host)?, port))
}

/// Whether a URL path has a `.` or `..` segment, raw or percent-encoded.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.replace("%2e", ".").replace("%2E", ".");
        decoded == "." || decoded == ".."
    })
}

/// A host file or directory a plugin may read, and where it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileGrant {
    /// The path on the host.
    pub host: PathBuf,
    /// The path the plugin opens.
    pub guest: String,
    /// Whether it is a directory (its whole tree is readable).
    pub dir: bool,
    /// The host path with its links resolved (`/proc/net/dev` is
    /// `/proc/<pid>/net/dev`), which is what a plugin's opens are compared
    /// with.
    pub real: PathBuf,
}

/// Trees that are never granted whole: a read-only `/proc` lets a plugin
/// read the host's environment and memory through `/proc/self/...`.
pub const FILES_ONLY: [&str; 2] = ["/proc", "/sys"];

impl FileGrant {
    /// A grant of `host`, seen by the plugin at `guest` (the same path when
    /// `None`). Both must be absolute and plain (no `..`); a directory
    /// under `/proc` or `/sys` is refused.
    pub fn new(host: &str, guest: Option<&str>) -> Result<FileGrant, String> {
        let guest = guest.unwrap_or(host);
        for (what, path) in [("host", host), ("guest", guest)] {
            if !Path::new(path).is_absolute() {
                return Err(format!("{what} path {path:?} must be absolute"));
            }
            if Path::new(path)
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
            {
                return Err(format!("{what} path {path:?} must not have . or .. in it"));
            }
        }
        let host_path = PathBuf::from(host);
        let dir = host_path.is_dir();
        if dir && FILES_ONLY.iter().any(|tree| host_path.starts_with(tree)) {
            return Err(format!(
                "{host:?} is a directory under {}: grant the files a plugin needs, \
                 not the tree (a plugin could read the host's environment and memory \
                 through /proc/self)",
                FILES_ONLY
                    .iter()
                    .find(|tree| host_path.starts_with(tree))
                    .expect("matched above")
            ));
        }
        if host_path.parent().is_none() {
            return Err(format!("{host:?}: the root directory cannot be granted"));
        }
        // A file is reached through its directory, by its own name.
        if !dir && Path::new(guest).file_name() != host_path.file_name() {
            return Err(format!(
                "the file {host:?} cannot be seen under another name ({guest:?}): \
                 keep its name, or grant its directory"
            ));
        }
        // A process's own files are its environment, memory and open files:
        // the host's, or another process's.
        if let Ok(rest) = host_path.strip_prefix("/proc")
            && let Some(first) = rest.components().next()
        {
            let first = first.as_os_str().to_string_lossy();
            if first == "self"
                || first == "thread-self"
                || first.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!(
                    "{host:?}: the files of a process (/proc/self, /proc/<pid>) are never granted"
                ));
            }
        }
        Ok(FileGrant {
            real: std::fs::canonicalize(&host_path).unwrap_or_else(|_| host_path.clone()),
            host: host_path,
            guest: guest.trim_end_matches('/').to_owned(),
            dir,
        })
    }
}

/// Everything one plugin is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// URL prefixes for outgoing HTTP.
    pub http: Vec<UrlPrefix>,
    /// `host:port` pairs for TCP connections (a name here may be looked up).
    pub tcp: Vec<Endpoint>,
    /// `host:port` pairs for UDP datagrams.
    pub udp: Vec<Endpoint>,
    /// Read-only files and directories.
    pub files: Vec<FileGrant>,
    /// Environment variables, by name, with the host's values.
    pub env: Vec<String>,
    /// Mount points whose file-system statistics may be read.
    pub statfs: Vec<PathBuf>,
    /// Whether the target of each probe may be looked up and connected to
    /// (on any port), once the plugin's `targets` rule allowed it.
    pub probe_target: bool,
}

impl Grants {
    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        *self == Grants::default()
    }

    /// The capabilities granted, by name, for logs and the landing page.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.http.iter().map(|g| format!("http {g}")));
        out.extend(self.tcp.iter().map(|g| format!("tcp {g}")));
        out.extend(self.udp.iter().map(|g| format!("udp {g}")));
        out.extend(self.files.iter().map(|g| {
            let kind = if g.dir { "dir" } else { "file" };
            if g.host.as_os_str() == g.guest.as_str() {
                format!("{kind} {}", g.guest)
            } else {
                format!("{kind} {} at {}", g.host.display(), g.guest)
            }
        }));
        out.extend(self.env.iter().map(|g| format!("env {g}")));
        out.extend(
            self.statfs
                .iter()
                .map(|g| format!("statfs {}", g.display())),
        );
        if self.probe_target {
            out.push("probe target".into());
        }
        out
    }
}

/// A capability a plugin can be refused: the label values of
/// `wasm_exporter_plugin_denied_total{capability}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// An outgoing HTTP request.
    Http,
    /// A TCP connection (or a listening socket, never granted).
    Tcp,
    /// A UDP socket or datagram.
    Udp,
    /// A name lookup.
    Dns,
    /// Opening, listing or inspecting a file.
    Files,
    /// File-system statistics of a path.
    Statfs,
}

impl Capability {
    /// Every capability, in label order.
    pub const ALL: [Capability; 6] = [
        Capability::Http,
        Capability::Tcp,
        Capability::Udp,
        Capability::Dns,
        Capability::Files,
        Capability::Statfs,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Http => "http",
            Capability::Tcp => "tcp",
            Capability::Udp => "udp",
            Capability::Dns => "dns",
            Capability::Files => "files",
            Capability::Statfs => "statfs",
        }
    }

    /// Index into [`Capability::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How often a plugin was refused each capability, across its scrapes.
#[derive(Debug, Default)]
pub struct Denials([AtomicU64; Capability::ALL.len()]);

impl Denials {
    /// Counts one refusal.
    pub fn count(&self, capability: Capability) {
        self.0[capability.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Refusals of `capability` so far.
    pub fn get(&self, capability: Capability) -> u64 {
        self.0[capability.index()].load(Ordering::Relaxed)
    }
}

/// Checks an environment variable name.
pub fn env_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not an environment variable name"))
    }
}

/// Checks a mount point for `statfs`.
pub fn statfs_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if !p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("{s:?} must be an absolute path without .."));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_prefixes_compare_scheme_host_port_and_path_segments() {
        let g = UrlPrefix::parse("http://127.0.0.1:8080/stub_status").unwrap();
        let ip = Host::parse("127.0.0.1").unwrap();
        assert!(g.allows("http", &ip, 8080, "/stub_status"));
        assert!(g.allows("http", &ip, 8080, "/stub_status/x"));
        assert!(!g.allows("http", &ip, 8080, "/stub_status_other"));
        assert!(!g.allows("https", &ip, 8080, "/stub_status"));
        assert!(!g.allows("http", &ip, 8081, "/stub_status"));
        let api = UrlPrefix::parse("https://API.example.com/v1/").unwrap();
        assert_eq!(api.port, 443);
        let host = Host::parse("api.example.com").unwrap();
        assert!(api.allows("https", &host, 443, "/v1/items"));
        assert!(!api.allows("https", &host, 443, "/v2"));
        for bad in [
            "ftp://x/",
            "http://user@x/",
            "http://x/a/../b",
            "http://x/%2e%2e/b",
            "http://x/?q",
            "x:80",
        ] {
            assert!(UrlPrefix::parse(bad).is_err(), "{bad}");
        }
        assert!(has_dot_segment("/a/%2E%2e/b"));
        assert!(!has_dot_segment("/a/..b/c"));
    }

    #[test]
    fn endpoints_need_a_port_and_a_valid_host() {
        assert_eq!(
            Endpoint::parse("[::1]:6379").unwrap().to_string(),
            "[::1]:6379"
        );
        assert_eq!(
            Endpoint::parse("Redis.Local:6379").unwrap().host,
            Host::Name("redis.local".into())
        );
        for bad in ["redis", "redis:0", "redis:x", "bad host:1", ":80"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proc_and_sys_are_granted_file_by_file_only() {
        assert!(FileGrant::new("/proc", None).is_err());
        assert!(FileGrant::new("/proc/self", None).is_err());
        assert!(FileGrant::new("/sys/class/net", None).is_err());
        let f = FileGrant::new("/proc/loadavg", None).unwrap();
        assert!(!f.dir);
        assert!(FileGrant::new("relative", None).is_err());
        assert!(FileGrant::new("/etc/../proc", None).is_err());
        assert!(FileGrant::new("/proc/self/environ", None).is_err());
        assert!(FileGrant::new("/proc/1/environ", None).is_err());
        assert!(FileGrant::new("/proc/net/dev", None).is_ok());
        let d = FileGrant::new("/tmp", Some("/data")).unwrap();
        assert!(d.dir);
        assert_eq!(d.guest, "/data");
        // A file keeps its name wherever it is seen.
        assert!(FileGrant::new("/proc/loadavg", Some("/host/proc/loadavg")).is_ok());
        let renamed = FileGrant::new("/proc/loadavg", Some("/load")).unwrap_err();
        assert!(renamed.contains("keep its name"), "{renamed}");
    }
}
