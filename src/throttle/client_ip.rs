//! The client's address: the socket peer, or — only when the peer is a trusted proxy
//! (`TESSERA_TRUSTED_PROXIES`) — the rightmost address in `X-Forwarded-For` that is not itself
//! a trusted proxy. Entries left of that one were written by the client and prove nothing.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::state::AppState;

/// The address brute-force limits are counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Parses `TESSERA_TRUSTED_PROXIES` entries: an address (one host) or a CIDR block.
pub fn parse_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("not an IP address or CIDR block: {value:?}"))
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack socket.
    let ip = canonical(ip);
    proxies.iter().any(|net| net.contains(&ip))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client address of a request from `peer` carrying `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(peer, proxies) {
        return peer;
    }
    // Every X-Forwarded-For field, in order, as one list (RFC 9110 §5.3).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted(ip, proxies) => client = ip,
            Some(ip) => return ip,
            // Garbage at this hop: the last trusted proxy is the best we know.
            None => return client,
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Served without a socket (never in production): every such request shares one address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().expect("value"));
        }
        headers
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let proxies = vec![
            parse_proxy("10.0.0.0/8").expect("net"),
            parse_proxy("192.0.2.1").expect("ip"),
        ];
        let headers = xff(&["198.51.100.7"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers, &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers, &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.1.2.3"), &headers, &[]), ip("10.1.2.3"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = vec![parse_proxy("10.0.0.0/8").expect("net")];
        // The client forged the first entry; our proxies appended the rest.
        let headers = xff(&["1.1.1.1, 198.51.100.7", "10.0.0.5"]);
        assert_eq!(
            client_ip(ip("10.0.0.6"), &headers, &proxies),
            ip("198.51.100.7")
        );
        let ported = xff(&["198.51.100.8:4711"]);
        assert_eq!(
            client_ip(ip("10.0.0.6"), &ported, &proxies),
            ip("198.51.100.8")
        );
        let garbage = xff(&["198.51.100.7, nonsense, 10.0.0.5"]);
        assert_eq!(
            client_ip(ip("10.0.0.6"), &garbage, &proxies),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_ip(ip("10.0.0.6"), &HeaderMap::new(), &proxies),
            ip("10.0.0.6")
        );
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_proxies() {
        let proxies = vec![parse_proxy("127.0.0.1").expect("ip")];
        let headers = xff(&["198.51.100.7"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &headers, &proxies),
            ip("198.51.100.7")
        );
        assert!(parse_proxy("not-an-ip").is_err());
    }
}
