//! Token introspection (RFC 7662) for authenticated confidential clients. A token is shown
//! active only to the client it was issued to or to a client named in its `aud`.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Map, Value};

use super::access::{self, Checked};
use super::client_auth;
use super::error::{OAuthError, OAuthResult};
use super::params::FormParams;
use super::token::no_store;
use crate::state::AppState;
use crate::storage::clients::AuthMethod;
use crate::storage::families;

pub const PATH: &str = "/introspect";

pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> OAuthResult<Response> {
    let client =
        client_auth::authenticate(&state, &headers, &params, &state.settings.endpoint(PATH))
            .await?;
    if client.public || client.auth_method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "public clients may not introspect tokens",
        ));
    }
    let token = params.require("token")?;
    let hint = params.get("token_type_hint");
    let found = if hint == Some("refresh_token") {
        match refresh(&state, &client.client_id, token).await? {
            Some(body) => Some(body),
            None => access(&state, &client.client_id, token).await?,
        }
    } else {
        match access(&state, &client.client_id, token).await? {
            Some(body) => Some(body),
            None => refresh(&state, &client.client_id, token).await?,
        }
    };
    let body = match found {
        Some(body) if !body.is_empty() => Value::Object(body),
        _ => inactive(),
    };
    Ok(no_store(Json(body)))
}

fn inactive() -> Value {
    json!({ "active": false })
}

fn may_see(client_id: &str, claims: &Map<String, Value>) -> bool {
    let owner = claims.get("client_id").and_then(Value::as_str) == Some(client_id);
    let audience = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    owner || audience
}

/// Some(body) if `token` is one of our access tokens (active or not); None if not a JWT of ours.
async fn access(
    state: &AppState,
    client_id: &str,
    token: &str,
) -> OAuthResult<Option<Map<String, Value>>> {
    if token.split('.').count() != 3 {
        return Ok(None);
    }
    let Checked::Active(claims) = access::check(state, token, Some(client_id)).await? else {
        return Ok(Some(Map::new()));
    };
    if !may_see(client_id, &claims) {
        return Ok(Some(Map::new()));
    }
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    for name in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "aud",
        "iss",
        "jti",
        "auth_time",
    ] {
        if let Some(value) = claims.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    // Client-credentials tokens have the client as subject; user tokens name a user.
    let user_token = claims.contains_key(super::tokens::FAMILY_CLAIM);
    if let Some(sub) = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|_| user_token)
    {
        match crate::storage::users::find(&state.db, sub).await? {
            Some(user) if !user.disabled => {
                body.insert("username".into(), user.username.into());
            }
            _ => return Ok(Some(Map::new())),
        }
    }
    body.insert("token_type".into(), "Bearer".into());
    Ok(Some(body))
}

async fn refresh(
    state: &AppState,
    client_id: &str,
    token: &str,
) -> OAuthResult<Option<Map<String, Value>>> {
    let hash = crate::secrets::token_hash(token);
    let Some((refresh, family)) = families::find_refresh(&state.db, &hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let live = refresh.used_at.is_none()
        && family.revoked_at.is_none()
        && now < refresh.expires_at
        && now < family.expires_at
        && refresh.client_id == client_id;
    if !live {
        return Ok(Some(Map::new()));
    }
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    body.insert("scope".into(), refresh.scope.into());
    body.insert("client_id".into(), refresh.client_id.into());
    body.insert("sub".into(), family.user_id.into());
    body.insert(
        "exp".into(),
        refresh.expires_at.min(family.expires_at).into(),
    );
    body.insert("iat".into(), refresh.created_at.into());
    body.insert("iss".into(), state.settings.issuer_str().into());
    body.insert("token_type".into(), "refresh_token".into());
    Ok(Some(body))
}
