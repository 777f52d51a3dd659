//! What every request passes through before a handler: a bounded, timed body read whose
//! refusal the client can always read, and containment of a panicking handler.
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

use crate::oauth::error::OAuthError;
use crate::oauth::{discovery, introspect, revoke, token_endpoint, userinfo};
use crate::views::error_page;

use crate::oauth::params::MAX_BODY;
const _: () = assert!(MAX_BODY == 65536, "the 413 description names the limit");
/// A refused body is read and discarded up to this size, so that the client, still sending,
/// is not reset before it reads the 413 (closing a socket with unread data makes the kernel
/// send a reset, which destroys the response in flight). Beyond it the connection is closed.
const MAX_DISCARD: usize = 8 * 1024 * 1024;
/// The whole body must arrive within this time: a slow client cannot hold a handler.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Buffers the request body (at most `MAX_BODY`, within `BODY_TIMEOUT`) before the handler
/// runs, so handlers and extractors only ever see a complete, bounded body. An oversized
/// body is drained (bounded) and answered with a 413 the client can read.
pub async fn limit_body(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let json = speaks_json(request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = request.into_parts();
    let deadline = Instant::now() + BODY_TIMEOUT;
    let read = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        discard(body, deadline).await
    } else {
        read_bounded(body, deadline).await
    };
    match read {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(Refused::TooLarge) => refusal(
            json,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request is too large",
            "the request body is larger than 65536 bytes",
        ),
        Err(Refused::Slow) => refusal(
            json,
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long",
            "the request body did not arrive in time",
        ),
        Err(Refused::Broken) => refusal(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "the request body could not be read",
        ),
    }
}

async fn read_bounded(body: Body, deadline: Instant) -> Result<Bytes, Refused> {
    let mut stream = body.into_data_stream();
    // Most bodies arrive in one chunk: keep it as it is, copy only from the second one.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(Refused::Slow),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(Refused::Broken),
            Ok(Some(Ok(chunk))) => chunk,
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
        error_page(status, title, "Go back to the application and try again.")
    };
    *response.status_mut() = status;
    response
}

/// A panicking handler becomes an opaque 500 (JSON `server_error` on the protocol endpoints)
/// and the connection keeps serving. The panic message went to stderr through the panic hook.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    let json = speaks_json(request.uri().path());
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a request handler panicked");
            let mut response = if json {
                OAuthError::server_error().into_response()
            } else {
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Please try again.",
                )
            };
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}
