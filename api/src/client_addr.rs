//! The client's address behind reverse proxies (`IUC_TRUSTED_PROXIES`).
//!
//! The TCP peer is the client unless it is a proxy the operator trusts. Only then are the
//! forwarding headers read, and only as far as trusted hops reach: the chain is walked from the
//! right (the hop nearest to us) and the first address that is not a trusted proxy is the
//! client. Everything left of it was written by that client and may be invented, so it is
//! never looked at. When every hop is trusted, the leftmost is the client.
//!
//! `X-Forwarded-For` is read when present, else `Forwarded` (RFC 7239). Why that order: the
//! common proxies (nginx, HAProxy, cloud load balancers) append to `X-Forwarded-For` and pass
//! any `Forwarded` the client sent through untouched, so preferring `Forwarded` would let
//! clients behind them pick their own address. A proxy that writes only `Forwarded` must drop
//! an incoming `X-Forwarded-For` (the README says so).
//!
//! A hop that is not an address (`for=unknown`, an obfuscated `_hidden`, garbage) cannot be
//! told apart from a client, so the walk stops there and the client is the nearest known hop:
//! such clients share their proxy's rate-limit bucket rather than escaping the limit.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Hops read from the right of a forwarding chain at most: more trusted proxies than this in a
/// row is not a real deployment, and the bound keeps a huge header cheap.
const MAX_HOPS: usize = 32;

/// The proxies whose forwarding headers are believed (empty: none, the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads a comma-separated list of CIDRs (`10.0.0.0/8,::1/128`); a bare address is a
    /// single host. The error names the entry that is not a CIDR.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "IUC_TRUSTED_PROXIES: `{entry}` is not a CIDR (e.g. 10.0.0.0/8 or ::1/128)"
                    )
                })?;
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// The client's address, computed once per request by the request span and stored in the
/// request's extensions for the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client's address: the one the request span stored, or computed from the TCP peer
/// (`ConnectInfo`) and, when that peer is a trusted proxy, the forwarding headers. `None`
/// without connection info (tests driving the router directly).
pub fn client(
    proxies: &TrustedProxies,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Option<IpAddr> {
    if let Some(ClientAddr(known)) = extensions.get::<ClientAddr>() {
        return *known;
    }
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(resolve(proxies, peer, headers))
}

/// The client behind `peer`, after the module's rules.
pub fn resolve(proxies: &TrustedProxies, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    if !proxies.contains(peer) {
        return peer;
    }
    let hops = if headers.contains_key(X_FORWARDED_FOR) {
        forwarded_for_hops(headers)
    } else {
        forwarded_hops(headers)
    };
    walk(proxies, peer, &hops)
}

/// The right-to-left walk over `hops` (left: the original client), from a trusted `peer`.
fn walk(proxies: &TrustedProxies, peer: IpAddr, hops: &[Option<IpAddr>]) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        match hop {
            Some(address) => {
                client = *address;
                if !proxies.contains(*address) {
                    break;
                }
            }
            // Unknown or obfuscated: the nearest known hop stands for it.
            None => break,
        }
    }
    client
}

/// The hops of every `X-Forwarded-For` header, in order; `None` where an entry is not an
/// address.
fn forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    header_lists(headers, &X_FORWARDED_FOR)
        .into_iter()
        .map(parse_node)
        .collect()
}

/// The `for=` hop of every element of every `Forwarded` header, in order; `None` where an
/// element has no `for` or it is not an address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    header_lists(headers, &FORWARDED)
        .into_iter()
        .map(|element| {
            split_quoted(element, ';')
                .into_iter()
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_node(value))
        })
        .collect()
}

/// The comma-separated elements of every value of `name`, in order. A value that is not
/// text makes the whole chain untrustworthy: it becomes one unknown element.
fn header_lists<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| split_quoted(value.to_str().unwrap_or("?"), ','))
        .collect()
}

/// Splits `text` at `separator` outside double-quoted strings (RFC 7239 values may quote).
fn split_quoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`, any of them in double quotes; `None` for anything else (`unknown`,
/// `_hidden`, garbage).
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .trim();
    let address = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        text.parse::<IpAddr>()
            .ok()
            .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
    };
    address.map(|a| a.to_canonical())
}

/// A port as RFC 7239 allows it: digits, or an obfuscated `_token`.
fn is_port(text: &str) -> bool {
    !text.is_empty()
        && (text.bytes().all(|b| b.is_ascii_digit())
            || (text.starts_with('_')
                && text[1..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse("10.0.0.0/8, ::1/128, 2001:db8:ffff::/48").unwrap()
    }

    #[test]
    fn cidrs_parse_and_invalid_ones_are_named() {
        let p = proxies();
        assert!(p.contains(ip("10.1.2.3")));
        assert!(p.contains(ip("::1")));
        assert!(p.contains(ip("::ffff:10.0.0.7")), "IPv4-mapped IPv6");
        assert!(!p.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("192.0.2.7")
                .unwrap()
                .contains(ip("192.0.2.7"))
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "example.org",
            "::1/129",
            "10.0.0.0/8,,x",
        ] {
            let error = TrustedProxies::parse(bad).unwrap_err();
            assert!(error.contains("is not a CIDR"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        assert_eq!(
            resolve(&proxies(), ip("203.0.113.9"), &h),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(&TrustedProxies::default(), ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies();
        let cases = [
            // A client's own invention on the left is never reached.
            ("6.6.6.6, 198.51.100.4", "198.51.100.4"),
            ("6.6.6.6, 198.51.100.4, 10.0.0.2, 10.9.9.9", "198.51.100.4"),
            // Every hop trusted: the leftmost.
            ("10.0.0.3, 10.0.0.2", "10.0.0.3"),
            // Ports, IPv6 with and without brackets, mapped addresses.
            ("198.51.100.4:5555", "198.51.100.4"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]:4711, ::1", "2001:db8::1"),
            ("::ffff:198.51.100.4", "198.51.100.4"),
            // Malformed entries stop the walk at the nearest known hop.
            ("198.51.100.4, garbage, 10.0.0.2", "10.0.0.2"),
            ("198.51.100.4, , 10.0.0.2", "10.0.0.2"),
            ("999.1.1.1", "10.0.0.1"),
            ("", "10.0.0.1"),
        ];
        for (xff, expected) in cases {
            let h = headers(&[("x-forwarded-for", xff)]);
            assert_eq!(resolve(&p, ip("10.0.0.1"), &h), ip(expected), "{xff}");
        }
        // Several headers are one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.4"),
            ("x-forwarded-for", "10.0.0.5"),
        ]);
        assert_eq!(resolve(&p, ip("10.0.0.1"), &h), ip("198.51.100.4"));
        // No header: the trusted peer itself.
        assert_eq!(
            resolve(&p, ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_is_read_with_quotes_ipv6_ports_and_obfuscation() {
        let p = proxies();
        let cases = [
            ("for=198.51.100.4", "198.51.100.4"),
            ("For=\"198.51.100.4:80\";proto=https", "198.51.100.4"),
            ("for=\"[2001:db8::1]:4711\"", "2001:db8::1"),
            (
                "for=\"[2001:db8::1]\", for=10.0.0.2;by=10.0.0.1",
                "2001:db8::1",
            ),
            (
                "for=6.6.6.6, for=198.51.100.4;proto=http, for=\"[::1]\"",
                "198.51.100.4",
            ),
            ("proto=https;for=198.51.100.4;host=\"a,b\"", "198.51.100.4"),
            // Obfuscated or unknown: the nearest known hop.
            ("for=unknown, for=10.0.0.2", "10.0.0.2"),
            ("for=_hidden", "10.0.0.1"),
            ("for=\"[2001:db8::1]:_port\"", "2001:db8::1"),
            ("for=\"[2001:db8::1]:x y\"", "10.0.0.1"),
            ("proto=https", "10.0.0.1"),
        ];
        for (forwarded, expected) in cases {
            let h = headers(&[("forwarded", forwarded)]);
            assert_eq!(resolve(&p, ip("10.0.0.1"), &h), ip(expected), "{forwarded}");
        }
        // X-Forwarded-For wins over Forwarded (see the module's documentation).
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(resolve(&p, ip("10.0.0.1"), &h), ip("198.51.100.4"));
    }

    #[test]
    fn a_long_chain_of_trusted_hops_is_cut() {
        let chain = vec!["10.0.0.9"; 10_000].join(",");
        let h = headers(&[("x-forwarded-for", &chain)]);
        assert_eq!(resolve(&proxies(), ip("10.0.0.1"), &h), ip("10.0.0.9"));
    }
}
