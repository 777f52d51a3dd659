//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (OAuth 2.0 Security BCP §4.14.2): every use returns a new refresh token; presenting a
//! rotated one revokes the whole family, unless the configured grace period allows the same
//! client one more pair.
use super::audience;
use crate::oauth::error::{OAuthError, OAuthResult};
use crate::oauth::params::{Params, Scopes};
use crate::oauth::tokens::{self, AccessGrant, TokenResponse};
use crate::secrets::token_hash;
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::storage::families::{self, Family, RefreshToken};
use crate::storage::users;

pub async fn handle(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> OAuthResult<TokenResponse> {
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the refresh_token grant",
        ));
    }
    let now = state.clock.now();
    let presented = token_hash(params.require("refresh_token")?);
    let aud = audience(&state.settings, params)?;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let Some((token, family)) = families::find_refresh(&state.db, &presented).await? else {
        return Err(invalid());
    };
    // A token is bound to its client: another client learns nothing about it.
    if token.client_id != client.client_id || family.client_id != client.client_id {
        return Err(invalid());
    }
    if family.revoked_at.is_some() || now >= family.expires_at || now >= token.expires_at {
        return Err(invalid());
    }
    let granted = Scopes::from_stored(&token.scope);
    let scope = match params.get("scope") {
        None => granted.clone(),
        Some(requested) => {
            let requested = Scopes::parse(requested)?;
            if !requested.is_subset(&granted) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may narrow the scope, never widen it",
                ));
            }
            requested
        }
    };
    let user = users::find(&state.db, &family.user_id)
        .await?
        .filter(|u| !u.disabled);
    let Some(user) = user else {
        families::revoke_family(&state.db, &family.id, now).await?;
        return Err(invalid());
    };

    let (new_value, new_hash) = tokens::refresh_token();
    let idle = (now + state.settings.refresh_idle_seconds).min(family.expires_at);
    // The refresh token keeps the full granted scope; only the access token is narrowed.
    let rotated = token.used_at.is_none()
        && families::rotate(&state.db, &token, &new_hash, &token.scope, now, idle).await?;
    if !rotated && !within_grace(state, &token, now).await? {
        tracing::warn!(
            target: "security",
            event = "refresh_token_reuse",
            client_id = %client.client_id,
            family = %family.id,
            "a rotated refresh token was presented again; revoking its family"
        );
        families::revoke_family(&state.db, &family.id, now).await?;
        return Err(invalid());
    }
    if !rotated {
        families::insert_refresh(
            &state.db,
            &new_hash,
            &family.id,
            &client.client_id,
            &token.scope,
            now,
            idle,
        )
        .await?;
    }
    respond(state, client, &family, &user, scope, aud, new_value, now)
}

/// The grace period lets the same client (already checked) re-use a token rotated at most
/// `TESSERA_REFRESH_GRACE_SECONDS` ago — for apps refreshing from several tabs at once.
async fn within_grace(state: &AppState, token: &RefreshToken, now: i64) -> OAuthResult<bool> {
    let grace = state.settings.refresh_grace_seconds;
    if grace == 0 {
        return Ok(false);
    }
    let used_at = match token.used_at {
        Some(t) => Some(t),
        None => families::used_at(&state.db, &token.token_hash).await?,
    };
    Ok(used_at.is_some_and(|t| now - t <= grace))
}

#[allow(clippy::too_many_arguments)]
fn respond(
    state: &AppState,
    client: &Client,
    family: &Family,
    user: &users::User,
    scope: Scopes,
    aud: String,
    refresh_token: String,
    now: i64,
) -> OAuthResult<TokenResponse> {
    let access_token = tokens::access_token(
        state,
        &AccessGrant {
            subject: &user.id,
            client_id: &client.client_id,
            scope: &scope,
            audience: aud,
            family_id: Some(&family.id),
            auth_time: Some(family.auth_time),
        },
        now,
    )
    .map_err(crate::error::AppError::from)?;
    // OIDC Core §12.2 lets a refresh response omit the ID token. We do: the client already
    // holds one for this authentication, and an RS256 signature would double the cost of a
    // refresh.
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.settings.access_token_ttl,
        scope: scope.to_string(),
        refresh_token: Some(refresh_token),
        id_token: None,
    })
}
