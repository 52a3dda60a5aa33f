//! Multi-target probes, blackbox-style: `/probe?plugin=NAME&target=T`.
//!
//! A probe runs plugins with a target; a plugin with a `targets` rule is
//! only ever asked about the targets the rule allows, so a probe plugin
//! that may connect to its target cannot be made to reach anything else.
//! The host adds `probe_success` (unless the plugin says it itself) and
//! `probe_duration_seconds`.

use std::net::IpAddr;
use std::time::Duration;

use wasm_exporter_exposition::block::Block;
use wasm_exporter_runtime::collect::target_host;
use wasm_exporter_runtime::grants::Host;
use wasm_exporter_runtime::model::{MetricFamily, MetricType};

/// The sample the host adds to every probe, which plugins may not write.
pub const DURATION: &str = "probe_duration_seconds";

/// Whether the probe succeeded: the host's unless a plugin returns its own.
pub const SUCCESS: &str = "probe_success";

/// The targets a probe plugin may be asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRule(Vec<Allowed>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// An address block: `10.0.0.0/8`, `::1/128`, or one address.
    Net(IpAddr, u8),
    /// One host name.
    Name(String),
    /// Every name under a domain: `*.example.com`.
    Domain(String),
}

impl TargetRule {
    /// Parses a list of addresses, CIDR blocks, names and `*.domain`s.
    pub fn parse(list: &[String]) -> Result<TargetRule, String> {
        let mut allowed = Vec::with_capacity(list.len());
        for item in list {
            let entry = if let Some(domain) = item.strip_prefix("*.") {
                match Host::parse(domain) {
                    Ok(Host::Name(d)) => Allowed::Domain(d),
                    _ => return Err(format!("{item:?} is not *.domain")),
                }
            } else if let Some((ip, bits)) = item.split_once('/') {
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| format!("{item:?}: {ip:?} is not an address"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{item:?}: the prefix length must be 0 to {max}"))?;
                Allowed::Net(ip, bits)
            } else {
                match Host::parse(item).map_err(|e| format!("{item:?}: {e}"))? {
                    Host::Ip(ip) => Allowed::Net(ip, if ip.is_ipv4() { 32 } else { 128 }),
                    Host::Name(name) => Allowed::Name(name),
                }
            };
            allowed.push(entry);
        }
        Ok(TargetRule(allowed))
    }

    /// Whether `target` (a host, `host:port` or URL) may be probed. An
    /// address must lie in a listed block; a name must be listed, or lie
    /// under a listed domain (blocks do not admit names, whose addresses
    /// could change between this check and the connection).
    pub fn allows(&self, target: &str) -> bool {
        match target_host(target) {
            Some(Host::Ip(ip)) => self.0.iter().any(|a| match a {
                Allowed::Net(net, bits) => in_block(ip, *net, *bits),
                _ => false,
            }),
            Some(Host::Name(name)) => self.0.iter().any(|a| match a {
                Allowed::Name(n) => *n == name,
                Allowed::Domain(d) => name
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.')),
                Allowed::Net(..) => false,
            }),
            None => false,
        }
    }
}

/// Whether `ip` lies in `net`/`bits`.
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The host's probe families: `probe_success` (unless `families` has one)
/// and `probe_duration_seconds`.
pub fn families(families: &[Block], up: bool, took: Duration) -> Vec<MetricFamily> {
    let mut out = vec![MetricFamily::single(
        DURATION,
        "How many seconds the probe took.",
        MetricType::Gauge,
        took.as_secs_f64(),
    )];
    if !families.iter().any(|f| f.name == SUCCESS) {
        out.push(MetricFamily::single(
            SUCCESS,
            "Whether the probe succeeded.",
            MetricType::Gauge,
            if up { 1.0 } else { 0.0 },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(list: &[&str]) -> TargetRule {
        TargetRule::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn targets_are_matched_by_block_name_or_domain() {
        let r = rule(&["127.0.0.0/8", "::1", "db.internal", "*.example.com"]);
        assert!(r.allows("127.0.0.1"));
        assert!(r.allows("http://127.9.9.9:8080/x"));
        assert!(r.allows("[::1]:80"));
        assert!(r.allows("db.internal:5432"));
        assert!(r.allows("https://api.example.com/health"));
        assert!(
            !r.allows("example.com"),
            "the domain itself is not under it"
        );
        assert!(!r.allows("evilexample.com"));
        assert!(!r.allows("10.0.0.1"));
        assert!(!r.allows("http://user@127.0.0.1/"));
        assert!(!r.allows("localhost"), "names are not matched by blocks");
        for bad in ["10.0.0.0/33", "*.", "x/8", "bad host"] {
            assert!(TargetRule::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
