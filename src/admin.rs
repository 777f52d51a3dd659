//! The admin listener (`TESSERA_ADMIN_LISTEN`): `/metrics`, `/healthz` and `/readyz` for
//! Prometheus, orchestrators and load balancers. It is a router of its own on its own
//! address, so none of it is reachable through the public listener, and its requests are
//! not counted in the request metrics.
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;
use crate::storage;

/// How long `/readyz` waits for the database: a probe must answer well before a load
/// balancer's own timeout, and a database this slow is not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The exposition format `/metrics` answers in.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state.db, &state.passwords).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_TEXT),
        )],
        body,
    )
        .into_response()
}

/// 200 while the process serves requests at all: a liveness probe, which must not fail
/// because of the database (restarting the process would not bring that back).
async fn healthz() -> Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

/// 200 when this instance can serve: the database answers within [`READY_TIMEOUT`] and
/// signing keys are loaded; 503 naming what is missing otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    match readiness(&state).await {
        Ok(()) => json(StatusCode::OK, r#"{"status":"ready"}"#),
        Err(Unready::Database) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable","reason":"database"}"#,
        ),
        Err(Unready::Keys) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable","reason":"keys"}"#,
        ),
    }
}

/// What keeps an instance from being ready.
#[derive(Debug, PartialEq, Eq)]
pub enum Unready {
    Database,
    Keys,
}

pub async fn readiness(state: &AppState) -> Result<(), Unready> {
    if state.keys.signing().published().is_empty() {
        return Err(Unready::Keys);
    }
    if !storage::answers(&state.db, READY_TIMEOUT).await {
        return Err(Unready::Database);
    }
    Ok(())
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
