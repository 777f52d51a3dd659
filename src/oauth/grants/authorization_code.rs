//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3).
use super::target;
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::oauth::error::{OAuthError, OAuthResult};
use crate::oauth::params::{CodeVerifier, Params};
use crate::oauth::refresh_token_format;
use crate::oauth::token_minting::{self, AccessGrant, IdTokenInput, TokenResponse};
use crate::secrets::token_hash;
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::storage::{codes, families};
use crate::types::Scopes;

pub async fn handle(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> OAuthResult<TokenResponse> {
    if !client.allows_grant("authorization_code") {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the authorization_code grant",
        ));
    }
    let now = state.clock.now();
    let code_hash = token_hash(params.require("code")?);
    let target = target(state, params.get("resource")).await?;
    let Some((code, user)) = codes::find_with_user(&state.db, &code_hash).await? else {
        return Err(OAuthError::invalid_grant(
            "the authorization code is invalid",
        ));
    };
    if code.used_at.is_some() {
        return Err(replayed(state, &code_hash, now).await);
    }
    if code.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    match params.get("redirect_uri") {
        Some(uri) if uri != code.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
        None if client.redirect_uris.len() != 1 => {
            return Err(OAuthError::invalid_request(
                "missing parameter redirect_uri",
            ))
        }
        _ => {}
    }
    check_pkce(code.code_challenge.as_deref(), params.get("code_verifier"))?;

    let scope = Scopes::from_stored(&code.scope);
    let settings = &state.settings;
    let lifetime = if scope.contains("offline_access") {
        settings.refresh_absolute_seconds
    } else {
        settings.session_seconds
    };
    let idle = now + settings.refresh_idle_seconds;
    let Some(family_id) = codes::redeem(&state.db, &code, now, now + lifetime, idle).await? else {
        return Err(replayed(state, &code_hash, now).await);
    };
    let Some(user) = user.filter(|u| !u.disabled) else {
        families::revoke_family(&state.db, &family_id, now).await?;
        return Err(OAuthError::invalid_grant("the user is no longer active"));
    };
    let authz = match crate::authz::for_user(
        &state.db,
        client.organization_id.as_deref(),
        &user.id,
        code.organization_id.as_deref(),
        &scope,
    )
    .await?
    {
        Ok(authz) => authz,
        Err(why) => {
            families::revoke_family(&state.db, &family_id, now).await?;
            return Err(OAuthError::invalid_grant(
                "the user may no longer sign in for this organization",
            )
            .with_detail(why));
        }
    };

    let token_scope = target.scope(&scope);
    let access_token = token_minting::access_token(
        state,
        &AccessGrant {
            subject: &user.id,
            client_id: &client.client_id,
            scope: &token_scope,
            audience: target.audience.clone(),
            family_id: Some(&family_id),
            api_key_id: None,
            lifetime: None,
            auth_time: Some(code.auth_time),
            authz: &authz,
        },
        now,
    )
    .map_err(crate::error::AppError::from)?;
    audit::record(
        state,
        AuditEvent::new(Kind::TokenIssued)
            .grant_type("authorization_code")
            .client(&client.client_id)
            .user(&user.id)
            .target(Target::Family(family_id.clone())),
    );
    let refresh_token = client
        .allows_grant("refresh_token")
        .then(|| refresh_token_format::encode(&state.keys, &family_id, 1));
    let id_token = if scope.contains("openid") {
        let input = IdTokenInput {
            user: &user,
            client_id: &client.client_id,
            alg: client.id_token_alg,
            scope: &scope,
            nonce: code.nonce.as_deref(),
            auth_time: code.auth_time,
            amr: &code.amr,
            idp: code.idp.as_deref(),
            access_token: &access_token,
            sid: code.sid.as_deref(),
            authz: &authz,
        };
        Some(token_minting::id_token(state, &input, now).map_err(crate::error::AppError::from)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_ttl,
        scope: token_scope.to_string(),
        refresh_token,
        id_token,
        issued_token_type: None,
    })
}

/// RFC 7636 §4.6; a verifier without a challenge is refused too (downgrade protection).
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> OAuthResult<()> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier given but no code_challenge was sent",
        )),
        (Some(challenge), Some(verifier)) => {
            if CodeVerifier::parse(verifier)?.matches(challenge) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
        }
    }
}

async fn replayed(state: &AppState, code_hash: &str, now: i64) -> OAuthError {
    tracing::warn!(target: "security", event = "authorization_code_replay", "a used authorization code was presented again; revoking what it issued");
    if let Err(e) = codes::revoke_issued(&state.db, code_hash, now).await {
        return e.into();
    }
    OAuthError::invalid_grant("the authorization code was already used")
}
