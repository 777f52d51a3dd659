//! Request tracing: one span per request carrying the matched route and a request id (also
//! returned as `x-request-id`), and the one place where failures are logged — inside that
//! span, so every log line of a request can be found from the id a user reports. Used by
//! `guard::guard`: a layer of its own per concern would cost each request a boxed clone of
//! the whole inner chain (see `app::router_with`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

use crate::error::Failure;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a random prefix per process and a counter, so ids are unique across
/// instances without a random draw per request.
static PREFIX: LazyLock<String> = LazyLock::new(|| crate::secrets::random_token(6));
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The request's id: the one a proxy in front set, else a new one, put on the request for
/// what reads it later (`audit::RequestMeta`). Called by `guard::guard`, which also returns
/// it as `x-request-id`.
pub fn request_id(request: &mut Request) -> HeaderValue {
    if let Some(id) = request.headers().get(&REQUEST_ID) {
        return id.clone();
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // The prefix is base64url and the counter hex: always a valid header value.
    let id = HeaderValue::try_from(format!("{}-{n:x}", *PREFIX))
        .unwrap_or_else(|_| HeaderValue::from_static("-"));
    request.headers_mut().insert(REQUEST_ID, id.clone());
    id
}

/// The request's span: method, matched route and request id. Costs nearly nothing when the
/// log filter leaves `info` off.
pub fn span(request: &Request, id: &HeaderValue) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("-");
    let id = id.to_str().unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route = %route, request_id = %id)
}

/// Logs the [`Failure`] a response carries: internal faults as errors, refused requests
/// (with the check that refused them) as info. Never logs request or response bodies.
/// Called by `guard::guard` on every response, inside the request's span.
pub fn log_failure(mut response: Response) -> Response {
    if let Some(failure) = response.extensions_mut().remove::<Failure>() {
        let status = response.status().as_u16();
        if failure.internal {
            tracing::error!(status, detail = %failure.detail, "internal error");
        } else {
            tracing::info!(
                status,
                error = failure.code.unwrap_or("-"),
                detail = %failure.detail,
                "request refused"
            );
        }
    }
    response
}
