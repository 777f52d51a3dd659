//! The UserInfo endpoint (OIDC Core §5.3) as an RFC 6750 protected resource.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::access::{self, Checked};
use super::error::{ErrorCode, OAuthError};
use super::params::{is_form, Params};
use super::token_endpoint::no_store;
use crate::state::AppState;
use crate::storage::users;

pub const PATH: &str = "/userinfo";

pub async fn handler(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match bearer_token(&method, &headers, &body) {
        Ok(token) => token,
        Err((error, present)) => return error.into_bearer_response(present),
    };
    match claims(&state, &token).await {
        Ok((client_id, claims)) => {
            super::cors::tag(no_store(Json(Value::Object(claims))), &headers, || {
                client_id
            })
        }
        Err(error) if error.code == ErrorCode::ServerError => error.into_response(),
        Err(error) => error.into_bearer_response(true),
    }
}

/// RFC 6750 §2.1 (header) or §2.2 (form body); exactly one of them.
fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, (OAuthError, bool)> {
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| {
                (
                    OAuthError::invalid_request("malformed Authorization header"),
                    true,
                )
            })?;
            match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_string())
                }
                _ => {
                    return Err((
                        OAuthError::invalid_request(
                            "the Authorization header must use the Bearer scheme",
                        ),
                        false,
                    ))
                }
            }
        }
    };
    let from_body = if *method == Method::POST && is_form(headers) {
        let params = Params::parse(body).map_err(|e| (e, true))?;
        params.get("access_token").map(str::to_string)
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err((
            OAuthError::invalid_request("present the access token only once"),
            true,
        )),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err((
            OAuthError::invalid_request("an access token is required"),
            false,
        )),
    }
}

/// The user's claims, and the client the access token was issued to (whose CORS origins
/// may read them).
async fn claims(
    state: &AppState,
    token: &str,
) -> Result<(Option<String>, serde_json::Map<String, Value>), OAuthError> {
    let claims = match access::check(state, token, None).await? {
        Checked::Active(claims) => claims,
        Checked::Inactive(reason) => return Err(OAuthError::invalid_token(reason)),
    };
    let scope = crate::types::Scopes::from_stored(
        claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ));
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user = users::find(&state.db, sub).await?.filter(|u| !u.disabled);
    let Some(user) = user else {
        return Err(OAuthError::invalid_token("the user is no longer active"));
    };
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    // Roles and groups as they are now; the organization the token speaks for, if it still
    // holds for this user.
    let organization = claims
        .get(crate::authz::ORG_ID_CLAIM)
        .and_then(Value::as_str);
    // The client's restriction, from the client cache (dropped on every change of it).
    let restricted_to = match client_id.as_deref() {
        Some(id) => state
            .clients
            .get(&state.db, id)
            .await?
            .and_then(|c| c.organization_id.clone()),
        None => None,
    };
    let authz = crate::authz::for_user(
        &state.db,
        restricted_to.as_deref(),
        &user.id,
        organization,
        &scope,
    )
    .await?
    .map_err(OAuthError::invalid_token)?;
    let mut body = super::token_minting::user_claims(&user, &scope);
    authz.write(&state.settings.roles_claim, &mut body);
    Ok((client_id, body))
}
