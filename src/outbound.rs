//! Requests Tessera makes to URLs that clients registered (back-channel logout, a client's
//! `jwks_uri`), guarded against server-side request forgery as node-oidc-provider does by
//! default: addresses in special-use ranges are refused — checked on the address actually
//! connected to, so a name that resolves to one is refused too — unless
//! `TESSERA_ALLOW_PRIVATE_CALLBACKS=true`; redirects are not followed; time is capped.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A client for outgoing callbacks. `allow_private` admits loopback and private addresses
/// (tests, on-premise deployments).
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .dns_resolver(Arc::new(PublicOnly { allow_private }))
        .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Whether a request to `url` may be sent: http(s), and an IP-literal host outside the
/// special-use ranges (names are checked when resolved, by the client's resolver).
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("{} is not an http(s) URL", url.scheme()));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err("the URL has no host".into()),
    };
    if !allow_private && is_special_use(ip) {
        return Err(format!(
            "{ip} is a loopback, private or other special-use address (set TESSERA_ALLOW_PRIVATE_CALLBACKS=true to allow it)"
        ));
    }
    Ok(())
}

struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|addr| allow_private || !is_special_use(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{} resolves to no public address (set TESSERA_ALLOW_PRIVATE_CALLBACKS=true to allow private ones)",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Loopback, private, link-local, unique-local, shared, documentation, benchmarking,
/// multicast, reserved and unspecified addresses (RFC 6890 and the IANA special-purpose
/// registries): none of them is a public callback.
pub fn is_special_use(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_special_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_special_v4(v4),
            None => is_special_v6(ip),
        },
    }
}

fn is_special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_special_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64
        || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments (incl. Teredo)
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || s[0] == 0x2002 // 6to4
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn special_use_addresses_are_refused_and_public_ones_pass() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_special_use(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!is_special_use(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ip_literal_urls_are_checked_before_sending() {
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(check_url(&url("http://127.0.0.1:9/logout"), false).is_err());
        assert!(check_url(&url("http://[::1]/logout"), false).is_err());
        assert!(check_url(&url("http://127.0.0.1:9/logout"), true).is_ok());
        assert!(check_url(&url("https://rp.example.com/logout"), false).is_ok());
        assert!(check_url(&url("file:///etc/passwd"), true).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_at_connect_time() {
        let http = client(false, Duration::from_secs(2)).unwrap();
        let error = http.get("http://localhost:9/").send().await.unwrap_err();
        assert!(
            format!("{error:?}").contains("no public address"),
            "{error:?}"
        );
    }
}
