//! Request tracing: one span per request carrying the matched route and a request id (also
//! returned as `x-request-id`), and the one place where failures are logged — inside that
//! span, so every log line of a request can be found from the id a user reports.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::error::Failure;

/// Request ids: a random prefix per process and a counter, so ids are unique across
/// instances without a random draw per request. An id set by a proxy in front is kept.
#[derive(Clone, Copy, Default)]
struct NextRequestId;

static PREFIX: LazyLock<String> = LazyLock::new(|| crate::secrets::random_token(6));
static COUNTER: AtomicU64 = AtomicU64::new(0);

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", *PREFIX))
            .ok()
            .map(RequestId::new)
    }
}

/// Wraps `router` in the request-id and span layers (failures are logged by `guard::guard`,
/// inside the span, through [`log_failure`]).
pub fn layers(router: Router) -> Router {
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                // Failures are logged by `log_failure`, once, with their cause.
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(NextRequestId))
}

fn span<B>(request: &Request<B>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("-");
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
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
