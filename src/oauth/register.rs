//! `/register` (RFC 7591 dynamic client registration) and `/register/{client_id}` (RFC 7592
//! client configuration). Thin: the rules are in `crate::clients::registration`.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::error::{ErrorCode, OAuthError};
use super::token_endpoint::no_store;
use crate::audit::{self, AuditEvent, Kind};
use crate::clients::registration::{self, RegistrationError};
use crate::clients::{rfc7591, ClientError};
use crate::error::AppError;
use crate::state::AppState;

pub const PATH: &str = "/register";

/// The routes; `app::router` merges them.
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, post(create)).route(
        "/register/{client_id}",
        get(read).put(replace).delete(delete),
    )
}

/// The client's RFC 7592 configuration URL.
fn client_uri(state: &AppState, client_id: &str) -> String {
    state.settings.endpoint(&format!("{PATH}/{client_id}"))
}

/// RFC 6750 §2.1: the token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn error_response(error: RegistrationError) -> Response {
    match error {
        RegistrationError::Off => {
            (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
        }
        RegistrationError::RateLimited => {
            let mut response = OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                RegistrationError::RateLimited.to_string(),
            )
            .into_response();
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
            response
        }
        RegistrationError::Unauthorized(reason) => {
            OAuthError::invalid_token(reason).into_bearer_response(true)
        }
        RegistrationError::Client(error) => {
            let code = match error.rfc7591_code() {
                Some("invalid_redirect_uri") => ErrorCode::InvalidRedirectUri,
                Some(_) => ErrorCode::InvalidClientMetadata,
                None => return server_error(error),
            };
            OAuthError::new(code, error.to_string()).into_response()
        }
    }
}

/// Internal failures: opaque, logged once.
fn server_error(error: ClientError) -> Response {
    match error {
        ClientError::Storage(e) => OAuthError::from(e),
        other => OAuthError::from(AppError::Internal(other.to_string())),
    }
    .into_response()
}

/// The body, or `invalid_client_metadata` when it is too large or unreadable (never axum's
/// plain-text rejection).
type Body = Result<Bytes, BytesRejection>;

fn read_body(body: Body) -> Result<Bytes, OAuthError> {
    body.map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidClientMetadata,
            "the request body is too large or unreadable",
        )
    })
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let now = state.clock.now();
    let result = registration::register(
        &state.db,
        &state.keys.client_secret_key,
        state.settings.registration,
        &state.registrations,
        bearer(&headers),
        &body,
        now,
    )
    .await;
    let registered = match result {
        Ok(registered) => registered,
        Err(error) => return error_response(error),
    };
    let client = &registered.client;
    let mut value = rfc7591::client_to_json(client);
    value["registration_access_token"] = json!(registered.registration_access_token);
    value["registration_client_uri"] = json!(client_uri(&state, &client.client_id));
    if let Some(secret) = &registered.client_secret {
        value["client_secret"] = json!(secret);
        value["client_secret_expires_at"] = json!(0);
    }
    tracing::info!(client_id = %client.client_id, "client registered over RFC 7591");
    audit::record(
        &state,
        AuditEvent::new(Kind::ClientRegistered)
            .client(&client.client_id)
            .reason("rfc7591"),
    );
    (StatusCode::CREATED, no_store(Json(value))).into_response()
}

async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registration::authorize(&state.db, &client_id, bearer(&headers)).await {
        Ok(client) => {
            let mut value = rfc7591::client_to_json(&client);
            value["registration_client_uri"] = json!(client_uri(&state, &client.client_id));
            no_store(Json(value))
        }
        Err(error) => error_response(error),
    }
}

async fn replace(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let now = state.clock.now();
    let result = registration::replace(
        &state.db,
        &state.keys.client_secret_key,
        &client_id,
        bearer(&headers),
        &body,
        now,
    )
    .await;
    match result {
        Ok((client, secret)) => {
            // This instance drops its copy now; the others within a poll.
            state.clients.clear();
            audit::record(
                &state,
                AuditEvent::new(Kind::ClientUpdated)
                    .client(&client.client_id)
                    .reason("rfc7592"),
            );
            let mut value = rfc7591::client_to_json(&client);
            value["registration_client_uri"] = json!(client_uri(&state, &client.client_id));
            if let Some(secret) = secret {
                value["client_secret"] = json!(secret);
                value["client_secret_expires_at"] = json!(0);
            }
            no_store(Json(value))
        }
        Err(error) => error_response(error),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    match registration::delete(&state.db, &client_id, bearer(&headers), now).await {
        Ok(()) => {
            state.clients.clear();
            audit::record(
                &state,
                AuditEvent::new(Kind::ClientDeleted)
                    .client(&client_id)
                    .reason("rfc7592"),
            );
            no_store(StatusCode::NO_CONTENT)
        }
        Err(error) => error_response(error),
    }
}
