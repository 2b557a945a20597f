//! Which hosts msgperf may load: loopback always, anything else only when
//! `target.allowed_hosts` (or `--allow-host`, or the action's `allow-host`)
//! lists it, so that a copied matrix file never load-tests a system nobody
//! meant to load.
//!
//! The rule, for each host of the target's URLs:
//! - an IP address is allowed when it is loopback (`127.0.0.0/8`, `::1`, or
//!   an IPv4-mapped loopback) or inside a listed CIDR (a listed address is a
//!   `/32` or `/128`);
//! - a name listed by name (case-insensitive, a trailing dot ignored) is
//!   allowed by name, whatever it resolves to: the user named it;
//! - a name that is not listed is allowed only when it resolves and *every*
//!   address it resolves to is loopback or inside a listed CIDR. A name with
//!   one address elsewhere is refused: the client may connect to any of them.
//!
//! Pure: resolution is a function the caller passes (`run` resolves with the
//! system resolver, tests inject theirs).

use std::fmt;
use std::net::IpAddr;

use super::shard::BadValue;

/// One entry of the allow-list: a host name, or an address block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// A host name, lower-cased, without a trailing dot.
    Name(String),
    /// `addr/prefix`; a single address has the full prefix.
    Net {
        /// The block's address (host bits cleared).
        addr: IpAddr,
        /// Prefix length in bits.
        prefix: u8,
    },
}

/// What to write instead of a value that is not a host or a CIDR.
const HOST_HINT: &str = "a host name (`staging.example.com`), an IP address (`10.0.3.7`, `fd00::7`) or a CIDR block (`10.0.0.0/16`, `fd00::/8`), without scheme or port";

impl HostPattern {
    /// Parses a host name, an IP address or a CIDR block; the shared parser
    /// of `target.allowed_hosts`, `--allow-host` and the action's `allow-host`.
    pub fn parse_value(s: &str) -> Result<HostPattern, BadValue> {
        let s = s.trim();
        if let Some((addr, prefix)) = s.split_once('/') {
            let addr: IpAddr = addr
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| BadValue::new(HOST_HINT))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| BadValue::new(format!("a CIDR prefix from 0 to {max}")))?;
            return Ok(HostPattern::Net {
                addr: masked(addr, prefix),
                prefix,
            });
        }
        let bare = s.trim_start_matches('[').trim_end_matches(']');
        if let Ok(addr) = bare.parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(HostPattern::Net { addr, prefix });
        }
        let name = normalize(s);
        if is_host_name(&name) {
            Ok(HostPattern::Name(name))
        } else {
            Err(BadValue::new(HOST_HINT))
        }
    }

    /// True when `ip` is inside this block (never for a name).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            HostPattern::Net { addr, prefix } => {
                let ip = canonical(ip);
                ip.is_ipv4() == addr.is_ipv4() && masked(ip, prefix) == addr
            }
            HostPattern::Name(_) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Net { addr, prefix } => write!(f, "{addr}/{prefix}"),
        }
    }
}

/// A host as written in a URL, for comparing: no brackets, lower case, no
/// trailing dot.
pub fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 characters.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `ip` with every bit after `prefix` cleared.
fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// Loopback: `127.0.0.0/8`, `::1`, and IPv4-mapped `::ffff:127.x.y.z`.
pub fn is_loopback(ip: IpAddr) -> bool {
    canonical(ip).is_loopback()
}

/// Why a host may not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// An address that is neither loopback nor in a listed block.
    NotListed,
    /// A name, not listed, that resolves to this address outside.
    ResolvesOutside(IpAddr),
    /// A name, not listed, that could not be resolved to check it.
    Unresolved(String),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::NotListed => f.write_str("it is not loopback and not in the allowed hosts"),
            Why::ResolvesOutside(ip) => write!(
                f,
                "the name is not in the allowed hosts, and it resolves to {ip}, which is not loopback and not inside an allowed block"
            ),
            Why::Unresolved(e) => write!(
                f,
                "the name is not in the allowed hosts, and it could not be resolved to check that its addresses are loopback ({e})"
            ),
        }
    }
}

/// True when deciding on `host` needs its addresses: a name not listed.
pub fn needs_resolution(host: &str, allowed: &[HostPattern]) -> bool {
    let host = normalize(host);
    host.parse::<IpAddr>().is_err() && !listed_by_name(&host, allowed)
}

fn listed_by_name(host: &str, allowed: &[HostPattern]) -> bool {
    allowed
        .iter()
        .any(|p| matches!(p, HostPattern::Name(name) if *name == host))
}

fn allowed_ip(ip: IpAddr, allowed: &[HostPattern]) -> bool {
    is_loopback(ip) || allowed.iter().any(|p| p.contains(ip))
}

/// Decides whether `host` (as written in a URL) may be loaded; `resolve` is
/// called only when [`needs_resolution`] says so, and gives every address
/// of the name.
pub fn check(
    host: &str,
    allowed: &[HostPattern],
    resolve: impl FnOnce(&str) -> Result<Vec<IpAddr>, String>,
) -> Result<(), Why> {
    let host = normalize(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if allowed_ip(ip, allowed) {
            Ok(())
        } else {
            Err(Why::NotListed)
        };
    }
    if listed_by_name(&host, allowed) {
        return Ok(());
    }
    let addrs = resolve(&host).map_err(Why::Unresolved)?;
    if addrs.is_empty() {
        return Err(Why::Unresolved("no address".into()));
    }
    match addrs.into_iter().find(|ip| !allowed_ip(*ip, allowed)) {
        Some(outside) => Err(Why::ResolvesOutside(outside)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<HostPattern> {
        entries
            .iter()
            .map(|e| HostPattern::parse_value(e).unwrap())
            .collect()
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn no_dns(_: &str) -> Result<Vec<IpAddr>, String> {
        panic!("no resolution expected")
    }

    #[test]
    fn entries_parse_as_names_addresses_or_blocks() {
        assert_eq!(
            HostPattern::parse_value(" Staging.Example.COM. ").unwrap(),
            HostPattern::Name("staging.example.com".into())
        );
        assert_eq!(
            HostPattern::parse_value("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            HostPattern::parse_value("[fd00::7]").unwrap().to_string(),
            "fd00::7/128"
        );
        assert_eq!(
            HostPattern::parse_value("0.0.0.0/0").unwrap().to_string(),
            "0.0.0.0/0"
        );
        for bad in [
            "",
            "https://staging.example.com",
            "staging.example.com:8000",
            "*.example.com",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0.0/x",
            "a..b",
        ] {
            let e = HostPattern::parse_value(bad).unwrap_err();
            assert!(
                e.expected.contains("CIDR"),
                "{bad:?} should be refused: {e}"
            );
        }
    }

    #[test]
    fn blocks_match_v4_and_v6_and_mapped_addresses() {
        let l = list(&["10.20.0.0/16", "fd00:1::/32", "192.0.2.7"]);
        for (ip, inside) in [
            ("10.20.255.1", true),
            ("10.21.0.1", false),
            ("::ffff:10.20.0.9", true),
            ("fd00:1:abcd::1", true),
            ("fd00:2::1", false),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(l.iter().any(|p| p.contains(ip)), inside, "{ip}");
        }
    }

    #[test]
    fn loopback_is_always_allowed_and_other_addresses_need_a_block() {
        for host in ["127.0.0.1", "127.9.9.9", "[::1]", "::ffff:127.0.0.1"] {
            assert_eq!(check(host, &[], no_dns), Ok(()), "{host}");
        }
        assert_eq!(check("10.0.0.5", &[], no_dns), Err(Why::NotListed));
        assert_eq!(check("0.0.0.0", &[], no_dns), Err(Why::NotListed));
        assert_eq!(check("10.0.0.5", &list(&["10.0.0.0/24"]), no_dns), Ok(()));
        assert_eq!(check("[fd00::5]", &list(&["fd00::/8"]), no_dns), Ok(()));
        assert_eq!(
            check("[fe80::5]", &list(&["fd00::/8"]), no_dns),
            Err(Why::NotListed)
        );
    }

    #[test]
    fn a_listed_name_is_allowed_without_resolving_it() {
        let l = list(&["staging.example.com"]);
        assert!(!needs_resolution("STAGING.example.com.", &l));
        assert_eq!(check("STAGING.example.com.", &l, no_dns), Ok(()));
    }

    #[test]
    fn an_unlisted_name_needs_every_address_loopback_or_in_a_block() {
        let dns = |answer: &'static [&'static str]| {
            move |_: &str| -> Result<Vec<IpAddr>, String> { Ok(ips(answer)) }
        };
        // `localhost` as most systems answer it: both loopbacks.
        assert!(needs_resolution("localhost", &[]));
        assert_eq!(check("localhost", &[], dns(&["127.0.0.1", "::1"])), Ok(()));
        // One address outside is enough to refuse.
        assert_eq!(
            check("api.test", &[], dns(&["127.0.0.1", "203.0.113.9"])),
            Err(Why::ResolvesOutside("203.0.113.9".parse().unwrap()))
        );
        let blocks = list(&["203.0.113.0/24", "2001:db8::/32"]);
        assert_eq!(
            check("api.test", &blocks, dns(&["203.0.113.9", "2001:db8::9"])),
            Ok(())
        );
        assert_eq!(
            check("api.test", &blocks, dns(&["203.0.113.9", "2001:db9::9"])),
            Err(Why::ResolvesOutside("2001:db9::9".parse().unwrap()))
        );
        assert_eq!(
            check("api.test", &[], |_| Err("no such host".into())),
            Err(Why::Unresolved("no such host".into()))
        );
        assert_eq!(
            check("api.test", &[], dns(&[])),
            Err(Why::Unresolved("no address".into()))
        );
    }
}
