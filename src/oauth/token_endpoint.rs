//! The token endpoint (RFC 6749 §3.2): parse the form, authenticate the client, dispatch on
//! `grant_type`.
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::client_auth;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::grants;
use super::params::FormParams;
use crate::state::AppState;
use crate::throttle::ClientIp;

pub const PATH: &str = "/token";

pub async fn handler(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    let response = grant(&state, &headers, &params, ip).await.into_response();
    super::cors::tag(response, &headers, || {
        client_auth::named_client_id(&headers, &params)
    })
}

async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &super::params::Params,
    ip: std::net::IpAddr,
) -> OAuthResult<Response> {
    let grant_type = params.require("grant_type")?.to_string();
    let audience = state.settings.endpoint(PATH);
    let client = Box::pin(client_auth::authenticate(
        state, headers, params, &audience, ip,
    ))
    .await?;
    let response = match grant_type.as_str() {
        "authorization_code" => {
            Box::pin(grants::authorization_code::handle(state, &client, params)).await?
        }
        "refresh_token" => Box::pin(grants::refresh_token::handle(state, &client, params)).await?,
        "client_credentials" => {
            Box::pin(grants::client_credentials::handle(state, &client, params)).await?
        }
        grants::token_exchange::GRANT_TYPE => {
            Box::pin(grants::token_exchange::handle(state, &client, params)).await?
        }
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            ))
        }
    };
    state.metrics.token_issued(&grant_type);
    Ok(no_store(Json(response)))
}

/// RFC 6749 §5.1: token responses must not be cached.
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
