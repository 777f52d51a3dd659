//! The request an event happens in: client address, user agent, request id. A middleware
//! puts them in a task-local for the request's handler, so any function deep in a grant can
//! record an event without every signature taking them.
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;

/// Where a request came from. Cheap to capture: header values are reference-counted.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The socket peer's address (a proxy's, when behind one).
    pub ip: Option<IpAddr>,
    pub user_agent: Option<HeaderValue>,
    pub request_id: Option<HeaderValue>,
}

tokio::task_local! {
    static CURRENT: RequestMeta;
}

impl RequestMeta {
    /// The request being handled on this task; empty outside a request (CLI, background
    /// tasks).
    pub fn current() -> RequestMeta {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }

    pub(super) fn user_agent_str(&self) -> Option<String> {
        self.user_agent.as_ref().map(header_text)
    }

    pub(super) fn request_id_str(&self) -> Option<String> {
        self.request_id.as_ref().map(header_text)
    }

    pub(super) fn ip_str(&self) -> Option<String> {
        self.ip.map(ip_text)
    }
}

/// A header value as recorded (`clean`); most are visible ASCII, read without a lossy copy.
fn header_text(value: &HeaderValue) -> String {
    match value.to_str() {
        Ok(text) => super::clean(text),
        Err(_) => super::clean(&String::from_utf8_lossy(value.as_bytes())),
    }
}

/// An address as `Display` writes it. An IPv4 address, the one on every issued token's
/// event, is written octet by octet: `Ipv4Addr`'s `Display` goes through the formatting
/// machinery four times, which cost more than the rest of the event's row.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

impl RequestMeta {
    /// The meta of `request`. The address is the client's as `throttle::client_ip` reads it
    /// (`X-Forwarded-For` only from a trusted proxy); the request id is the one set by the
    /// guard (`trace::request_id`) before this is read.
    pub fn of(request: &Request, trusted_proxies: &[ipnet::IpNet]) -> RequestMeta {
        RequestMeta {
            ip: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| {
                    crate::throttle::client_ip::client_ip(
                        c.0.ip(),
                        request.headers(),
                        trusted_proxies,
                    )
                }),
            user_agent: request
                .headers()
                .get(axum::http::header::USER_AGENT)
                .cloned(),
            request_id: request.headers().get("x-request-id").cloned(),
        }
    }

    /// Runs `work` (the rest of the request) with this meta available to
    /// [`RequestMeta::current`]; called by `guard::guard` around every handler.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for a in [0u8, 1, 9, 10, 42, 99, 100, 127, 199, 200, 255] {
            for b in [0u8, 7, 10, 100, 255] {
                let ip = IpAddr::from([a, b, 255 - b, a / 2]);
                assert_eq!(ip_text(ip), ip.to_string());
            }
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(IpAddr::from([0u8; 16]));
        assert_eq!(ip_text(v6), "2001:db8::1");
    }
}
