//! The request an event happens in: client address, user agent, request id. A middleware
//! puts them in a task-local for the request's handler, so any function deep in a grant can
//! record an event without every signature taking them.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;

/// Where a request came from. Cheap to capture: header values are reference-counted.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The socket peer's address (a proxy's, when behind one).
    pub ip: Option<std::net::IpAddr>,
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
        self.user_agent
            .as_ref()
            .map(|v| super::clean(&String::from_utf8_lossy(v.as_bytes())))
    }

    pub(super) fn request_id_str(&self) -> Option<String> {
        self.request_id
            .as_ref()
            .map(|v| super::clean(&String::from_utf8_lossy(v.as_bytes())))
    }
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
