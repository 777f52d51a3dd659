//! Checking an access token presented back to us (userinfo, introspection): signature by our
//! key, `typ`, issuer, expiry, and that neither it nor its family has been revoked.
use serde_json::{Map, Value};

use super::token_minting::{API_KEY_CLAIM, FAMILY_CLAIM};
use crate::error::AppError;
use crate::jose::jwt;
use crate::state::AppState;
use crate::storage::families;

pub enum Checked {
    Active(Map<String, Value>),
    Inactive(&'static str),
}

/// `caller` is a client already known to exist (the authenticated introspecting client): a
/// token issued to it needs no second look-up; any other token's client must still exist.
pub async fn check(
    state: &AppState,
    token: &str,
    caller: Option<&str>,
) -> Result<Checked, AppError> {
    let claims = match jwt::verify(&state.keys, token, "at+jwt") {
        Ok(claims) => claims,
        Err(_) => {
            return Ok(Checked::Inactive(
                "the access token is malformed or its signature is invalid",
            ))
        }
    };
    let now = state.clock.now();
    let iss_ok = claims.get("iss").and_then(Value::as_str) == Some(state.settings.issuer_str());
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if !iss_ok {
        return Ok(Checked::Inactive("the access token was not issued here"));
    }
    if now >= exp {
        return Ok(Checked::Inactive("the access token has expired"));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if crate::storage::revocations::is_jti_revoked(&state.db, jti).await? {
        return Ok(Checked::Inactive("the access token has been revoked"));
    }
    if let Some(family) = claims.get(FAMILY_CLAIM).and_then(Value::as_str) {
        if !families::is_family_live(&state.db, family).await? {
            return Ok(Checked::Inactive("the access token has been revoked"));
        }
    }
    if let Some(key) = claims.get(API_KEY_CLAIM).and_then(Value::as_str) {
        if !crate::apikeys::is_id_live(state, key).await? {
            return Ok(Checked::Inactive(
                "the API key the access token was exchanged for is revoked or expired",
            ));
        }
    }
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if caller != Some(client_id) && state.clients.get(&state.db, client_id).await?.is_none() {
        return Ok(Checked::Inactive(
            "the client the access token was issued to no longer exists",
        ));
    }
    Ok(Checked::Active(claims))
}
