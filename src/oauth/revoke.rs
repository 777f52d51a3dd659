//! Token revocation (RFC 7009). Revoking a refresh token revokes its family; revoking an
//! access token records its `jti`. Unknown or foreign tokens still get 200 (§2.2).
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::client_auth;
use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::params::FormParams;
use super::refresh_token_format;
use super::token_endpoint::no_store;
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::jose::jwt;
use crate::oauth::token_minting::FAMILY_CLAIM;
use crate::state::AppState;
use crate::storage::families;
use crate::throttle::ClientIp;

pub const PATH: &str = "/revoke";

pub async fn handler(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> Response {
    let response = revoke(&state, &headers, &params, ip).await.into_response();
    super::cors::tag(response, &headers, || {
        client_auth::named_client_id(&headers, &params)
    })
}

async fn revoke(
    state: &AppState,
    headers: &HeaderMap,
    params: &super::params::Params,
    ip: std::net::IpAddr,
) -> OAuthResult<Response> {
    let client =
        client_auth::authenticate(state, headers, params, &state.settings.endpoint(PATH), ip)
            .await?;
    let token = params.require("token")?;
    match params.get("token_type_hint") {
        None | Some("access_token") | Some("refresh_token") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedTokenType,
                "unsupported token_type_hint",
            ))
        }
    }
    let now = state.clock.now();
    if let Some(presented) = refresh_token_format::decode(&state.keys, token) {
        // Any generation of the client's own: revoking an old one still ends the grant.
        let family = families::find_family(&state.db, &presented.family_id).await?;
        if let Some(family) = family.filter(|f| f.client_id == client.client_id) {
            families::revoke_family(&state.db, &family.id, now).await?;
            audit::record(
                state,
                AuditEvent::new(Kind::Revocation)
                    .client(&client.client_id)
                    .user(&family.user_id)
                    .reason("refresh_token")
                    .target(Target::Family(family.id)),
            );
        }
    } else if let Ok(claims) = jwt::verify(&state.keys, token, "at+jwt") {
        let owner =
            claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str());
        let jti = claims.get("jti").and_then(Value::as_str);
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
        if let (true, Some(jti)) = (owner, jti) {
            if exp > now {
                crate::storage::revocations::revoke_jti(&state.db, jti, exp).await?;
                let mut event = AuditEvent::new(Kind::Revocation)
                    .client(&client.client_id)
                    .reason("access_token")
                    .target(Target::Jti(jti.to_string()));
                // A user-bound token (it names its family): its subject is the user.
                let sub = claims.get("sub").and_then(Value::as_str);
                if let (true, Some(sub)) = (claims.contains_key(FAMILY_CLAIM), sub) {
                    event = event.user(sub);
                }
                audit::record(state, event);
            }
        }
    }
    Ok(no_store(().into_response()))
}
