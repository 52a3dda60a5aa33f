//! The URLs a probe requests: the target (`http://host:port/path`, or
//! `host:port` meaning `http://host:port/`) and the `Location` of each
//! redirect, resolved against the URL that answered (RFC 3986, section 5).

use std::fmt;
use std::net::IpAddr;

/// An `http` or `https` URL, split into what a request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Whether the scheme is `https`.
    pub https: bool,
    /// The host: a name, or an address without brackets.
    pub host: String,
    /// The port as written, if any.
    pub port: Option<u16>,
    /// The request target: the path (at least `/`) and the query, without
    /// the fragment.
    pub path_and_query: String,
}

impl Url {
    /// Parses a probe target; without a scheme it is `http://` + target,
    /// as the blackbox exporter reads it.
    pub fn parse_target(target: &str) -> Result<Url, String> {
        // `host:port` also starts like a scheme; `scheme://` does not.
        if target.contains("://") && scheme_of(target).is_some() {
            Url::parse(target)
        } else {
            Url::parse(&format!("http://{target}"))
        }
    }

    /// Parses an absolute `http` or `https` URL.
    pub fn parse(text: &str) -> Result<Url, String> {
        if text.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(format!("{text:?} has a space or a control character"));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{text:?} is not an absolute URL"))?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(format!(
                "{text:?}: unsupported scheme {scheme:?} (http or https)"
            ));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!("{text:?}: user information is not supported"));
        }
        let (host, port) = split_authority(authority).map_err(|e| format!("{text:?}: {e}"))?;
        let tail = tail.split('#').next().unwrap_or("");
        let path_and_query = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        Ok(Url {
            https,
            host,
            port,
            path_and_query,
        })
    }

    /// The port to connect to: as written, else 80 or 443.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// `host[:port]` as a `Host` header says it (IPv6 in brackets).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// The host as an address, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// This URL with its host replaced by `ip`.
    pub fn with_ip(&self, ip: IpAddr) -> Url {
        Url {
            host: ip.to_string(),
            ..self.clone()
        }
    }

    /// Resolves a `Location` header against this URL. The result must be
    /// `http` or `https`.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let reference = location.trim().split('#').next().unwrap_or("");
        if scheme_of(reference).is_some() {
            return Url::parse(reference);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = reference.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let (base_path, _) = split_query(&self.path_and_query);
        let target = if reference.is_empty() {
            self.path_and_query.clone()
        } else if reference.starts_with('?') {
            format!("{base_path}{reference}")
        } else {
            let (path, query) = split_query(reference);
            let merged = if path.starts_with('/') {
                path.to_owned()
            } else if path.is_empty() {
                base_path.to_owned()
            } else {
                let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
                format!("{dir}{path}")
            };
            format!("{}{query}", remove_dot_segments(&merged))
        };
        Url::parse(&format!("{scheme}://{}{target}", self.authority()))
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.path_and_query)
    }
}

/// Whether a URL reference is absolute (has a scheme), as Go's
/// `URL.IsAbs`.
pub fn has_scheme(reference: &str) -> bool {
    scheme_of(reference.trim()).is_some()
}

/// The scheme of an absolute URL reference (`scheme:`...).
fn scheme_of(reference: &str) -> Option<&str> {
    let (scheme, _) = reference.split_once(':')?;
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    valid.then_some(scheme)
}

/// `path?query` → (`path`, `?query`).
fn split_query(text: &str) -> (&str, &str) {
    text.split_at(text.find('?').unwrap_or(text.len()))
}

/// `host[:port]`, IPv6 in brackets → (host without brackets, port).
fn split_authority(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{v6:?} is not an IPv6 address"));
        }
        match after {
            "" => (v6, None),
            _ => (v6, Some(after.strip_prefix(':').ok_or("junk after ]")?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if !host.contains(':')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(format!("{host:?} is not a host name or address"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{p:?} is not a port"))?,
        ),
    };
    Ok((host.to_owned(), port))
}

/// RFC 3986 `remove_dot_segments`.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    output.push("");
                }
            }
            ".." => {
                if output.len() > 1 {
                    output.pop();
                }
                if last {
                    output.push("");
                }
            }
            s => output.push(s),
        }
    }
    let joined = output.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse_target(s).unwrap()
    }

    #[test]
    fn targets_without_a_scheme_are_http() {
        let u = url("127.0.0.1:8080");
        assert!(!u.https);
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", Some(8080)));
        assert_eq!(u.path_and_query, "/");
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/");
        assert_eq!(url("example.com/x?y=1#frag").path_and_query, "/x?y=1");
        assert_eq!(url("example.com?y=1").path_and_query, "/?y=1");
        let u = url("HTTPS://[::1]:8443/health");
        assert!(u.https);
        assert_eq!((u.host.as_str(), u.port_or_default()), ("::1", 8443));
        assert_eq!(u.authority(), "[::1]:8443");
        assert_eq!(url("https://example.com").port_or_default(), 443);
        assert_eq!(url("example.com").port_or_default(), 80);
    }

    #[test]
    fn bad_targets_are_refused() {
        for bad in [
            "http://",
            "http://user@host/",
            "http://host:0/",
            "http://host:99999/",
            "http://[::1/",
            "http://[zz]/",
            "http://host:80x/",
            "http://ho st/",
            "http://host/\r\nX: y",
            "ftp://host/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
        assert!(Url::parse_target("ftp://host/").is_err());
    }

    #[test]
    fn locations_resolve_like_rfc_3986() {
        let base = url("http://a:1/b/c/d;p?q");
        let cases = [
            ("g", "http://a:1/b/c/g"),
            ("./g", "http://a:1/b/c/g"),
            ("g/", "http://a:1/b/c/g/"),
            ("/g", "http://a:1/g"),
            ("//g", "http://g/"),
            ("?y", "http://a:1/b/c/d;p?y"),
            ("g?y", "http://a:1/b/c/g?y"),
            ("#s", "http://a:1/b/c/d;p?q"),
            ("", "http://a:1/b/c/d;p?q"),
            (".", "http://a:1/b/c/"),
            ("..", "http://a:1/b/"),
            ("../g", "http://a:1/b/g"),
            ("../../../g", "http://a:1/g"),
            ("/./g/../h", "http://a:1/h"),
            ("https://other/x", "https://other/x"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                base.join(reference).unwrap().to_string(),
                expected,
                "{reference}"
            );
        }
        assert!(base.join("mailto:x@y").is_err());
        assert!(base.join("https://").is_err());
    }
}
