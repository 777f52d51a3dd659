//! The request an event happens in: client address, user agent, request id. A middleware
//! puts them in a task-local for the request's handler, so any function deep in a grant can
//! record an event without every signature taking them.
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;

use super::Text;

/// Where a request came from, for the events its handler records. Cheap to capture (header
/// values are reference-counted) on every request, most of which record none.
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

/// The request an event happened in, as the event holds it: copies of the texts (inline
/// when short), so that a queued event keeps no header, and with it no connection's read
/// buffer, alive until the writer gets to it.
#[derive(Clone, Debug, Default)]
pub struct EventMeta {
    pub ip: Option<Text>,
    pub user_agent: Option<Text>,
    pub request_id: Option<Text>,
}

impl EventMeta {
    /// The request being handled on this task; empty outside a request (CLI, background
    /// tasks).
    pub fn current() -> EventMeta {
        CURRENT.try_with(EventMeta::of).unwrap_or_default()
    }

    fn of(request: &RequestMeta) -> EventMeta {
        EventMeta {
            ip: request.ip.map(ip_text),
            user_agent: request.user_agent.as_ref().map(header_text),
            request_id: request.request_id.as_ref().map(header_text),
        }
    }
}

/// A header value as recorded (`clean`); most are visible ASCII, read without a lossy copy.
fn header_text(value: &HeaderValue) -> Text {
    match value.to_str() {
        Ok(text) => super::clean(text),
        Err(_) => super::clean(&String::from_utf8_lossy(value.as_bytes())),
    }
}

/// An address as `Display` writes it. An IPv4 address, the one on every issued token's
/// event, is written octet by octet: `Ipv4Addr`'s `Display` goes through the formatting
/// machinery four times, which cost more than the rest of the event's row.
fn ip_text(ip: IpAddr) -> Text {
    let IpAddr::V4(v4) = ip else {
        return compact_str::format_compact!("{ip}");
    };
    let mut text = Text::default();
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

    /// The client address of the request being handled on this task, if any.
    pub fn current_ip() -> Option<IpAddr> {
        CURRENT.try_with(|meta| meta.ip).ok().flatten()
    }

    /// Runs `work` (the rest of the request) with this meta available to
    /// [`EventMeta::current`]; called by `guard::guard` around every handler.
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
