//! What every request passes through before a handler: a bounded, timed body read whose
//! refusal the client can always read, and containment of a panicking handler.
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;
use tracing::Instrument;

use crate::audit::RequestMeta;
use crate::oauth::error::OAuthError;
use crate::oauth::{discovery, introspect, revoke, token_endpoint, userinfo};
use crate::state::AppState;
use crate::views::error_page;

use crate::oauth::params::MAX_BODY;
const _: () = assert!(MAX_BODY == 65536, "the 413 description names the limit");
/// A refused body is read and discarded up to this size, so that the client, still sending,
/// is not reset before it reads the 413 (closing a socket with unread data makes the kernel
/// send a reset, which destroys the response in flight). Beyond it the connection is closed.
const MAX_DISCARD: usize = 8 * 1024 * 1024;
/// The whole body must arrive within this time: a slow client cannot hold a handler.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a handler may take: a database that accepts connections but never answers
/// (or any other dependency that hangs) costs a client this much, then a 503, never a hang.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(15);

/// Endpoints that answer in RFC 6749 §5.2 JSON; every other path is a browser page.
fn speaks_json(path: &str) -> bool {
    matches!(
        path,
        token_endpoint::PATH
            | introspect::PATH
            | revoke::PATH
            | userinfo::PATH
            | discovery::JWKS_PATH
    ) || path.starts_with("/.well-known/")
}

enum Refused {
    TooLarge,
    Slow,
    Broken,
}

/// The one middleware in front of every route: the body is buffered (at most `MAX_BODY`,
/// within `BODY_TIMEOUT`) before the handler runs, so handlers and extractors only ever see a
/// complete, bounded body, and an oversized one is drained (bounded) and answered with a 413
/// the client can read; the request's address, user agent and id are made available to audit
/// events (`audit::RequestMeta`); the CORS endpoints get their CORS handling (`oauth::cors`);
/// a handler that overruns `HANDLER_TIMEOUT` becomes a 503 and a panicking one an opaque 500
/// (`server_error` JSON on the protocol endpoints) while the connection keeps serving; and
/// the failure a response carries is logged (`trace::log_failure`), inside the request's
/// span, whose id the response returns as `x-request-id`; and every response gets the
/// security headers (`app::security_headers`) it does not set itself. One middleware, not one
/// per concern: each `from_fn` layer costs a boxed future and a boxed clone of the inner
/// service per request, which the token path measurably felt.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = crate::trace::request_id(&mut request);
    let span = crate::trace::span(&request, &id);
    let mut response = async {
        let response = guarded(&state, request, next).await;
        crate::trace::log_failure(response)
    }
    .instrument(span)
    .await;
    let headers = response.headers_mut();
    if !headers.contains_key(crate::trace::REQUEST_ID) {
        headers.insert(crate::trace::REQUEST_ID, id);
    }
    for (name, value) in crate::app::security_headers(state.settings.https()) {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    response
}

async fn guarded(state: &AppState, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let json = speaks_json(path);
    let cors = crate::oauth::cors::applies(path);
    let request = match admit_body(request, json).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let meta = RequestMeta::of(&request, &state.settings.trusted_proxies);
    // Boxed, so that the handler's future does not swell the guard's (see `admit_body`).
    let work = Box::pin(async {
        if cors {
            crate::oauth::cors::handle(state, request, next).await
        } else {
            next.run(request).await
        }
    });
    let handled = tokio::time::timeout(
        HANDLER_TIMEOUT,
        AssertUnwindSafe(meta.scope(work)).catch_unwind(),
    );
    match handled.await {
        Ok(Ok(response)) => response,
        Err(_) => {
            tracing::error!(
                "a request handler did not finish within {} s",
                HANDLER_TIMEOUT.as_secs()
            );
            let mut response = if json {
                OAuthError::temporarily_unavailable().into_response()
            } else {
                error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-unavailable-title",
                    "error-unavailable",
                )
            };
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::oauth::error::UNAVAILABLE_RETRY_AFTER),
            );
            response
        }
        // The panic message went to stderr through the panic hook.
        Ok(Err(_)) => {
            tracing::error!("a request handler panicked");
            let mut response = if json {
                OAuthError::server_error().into_response()
            } else {
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal-title",
                    "error-internal",
                )
            };
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

async fn admit_body(request: Request, json: bool) -> Result<Request, Response> {
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = request.into_parts();
    let deadline = Instant::now() + BODY_TIMEOUT;
    // Boxed, as is the handler in `guarded`: a future held inline makes every enclosing one
    // that much larger, and each is moved (copied) on every request; the guard's future was
    // 33 kB before these boxes.
    let read = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        Box::pin(discard(body, deadline)).await
    } else {
        Box::pin(tokio::time::timeout_at(
            deadline,
            read_bounded(body, deadline),
        ))
        .await
        .unwrap_or(Err(Refused::Slow))
    };
    let (status, title, description) = match read {
        Ok(bytes) => return Ok(Request::from_parts(parts, Body::from(bytes))),
        Err(Refused::TooLarge) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "error-too-large-title",
            "the request body is larger than 65536 bytes",
        ),
        Err(Refused::Slow) => (
            StatusCode::REQUEST_TIMEOUT,
            "error-too-slow-title",
            "the request body did not arrive in time",
        ),
        Err(Refused::Broken) => (
            StatusCode::BAD_REQUEST,
            "error-form-title",
            "the request body could not be read",
        ),
    };
    Err(refusal(json, status, title, description))
}

async fn read_bounded(body: Body, deadline: Instant) -> Result<Bytes, Refused> {
    let mut stream = body.into_data_stream();
    // Most bodies arrive in one chunk: keep it as it is, copy only from the second one.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    loop {
        // The caller bounds the whole read by the deadline (one timer, not one per chunk).
        let chunk = match stream.next().await {
            None => break,
            Some(Err(_)) => return Err(Refused::Broken),
            Some(Ok(chunk)) => chunk,
        };
        let len = first.as_ref().map_or(0, Bytes::len) + joined.len() + chunk.len();
        if len > MAX_BODY {
            drain(stream, len, deadline).await;
            return Err(Refused::TooLarge);
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(previous) => {
                joined.extend_from_slice(&previous);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

async fn discard(body: Body, deadline: Instant) -> Result<Bytes, Refused> {
    drain(body.into_data_stream(), 0, deadline).await;
    Err(Refused::TooLarge)
}

/// Reads and drops what remains of a refused body, up to `MAX_DISCARD` bytes in all and
/// until `deadline`.
async fn drain(mut stream: axum::body::BodyDataStream, mut read: usize, deadline: Instant) {
    while read <= MAX_DISCARD {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => read += chunk.len(),
            _ => return,
        }
    }
}

fn refusal(json: bool, status: StatusCode, title: &str, description: &'static str) -> Response {
    let mut response = if json {
        OAuthError::invalid_request(description).into_response()
    } else {
        // `title` is a catalog key.
        error_page(status, title, "error-go-back")
    };
    *response.status_mut() = status;
    response
}
