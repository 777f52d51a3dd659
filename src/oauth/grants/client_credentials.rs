//! `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients only, scopes
//! within the client's allowed scopes, no refresh token, no ID token, no database write; the
//! client's roles (in the organization it is restricted to, if any) read when the `roles`
//! scope is asked for.
use super::target;
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::oauth::error::{OAuthError, OAuthResult};
use crate::oauth::params::Params;
use crate::oauth::token_minting::{self, AccessGrant, TokenResponse};
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::types::AuthMethod;
use crate::types::Scopes;

pub async fn handle(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> OAuthResult<TokenResponse> {
    if client.public
        || client.auth_method == AuthMethod::None
        || !client.allows_grant("client_credentials")
    {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the client_credentials grant",
        ));
    }
    let allowed = client.scopes.without("openid").without("offline_access");
    let scope = match params.get("scope") {
        None => allowed,
        Some(requested) => {
            let requested = Scopes::parse(requested)?;
            if !requested.is_subset(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds what the client may request",
                ));
            }
            requested
        }
    };
    let target = target(state, params.get("resource")).await?;
    let scope = target.scope(&scope);
    let authz = crate::authz::for_client(
        &state.db,
        &client.client_id,
        client.organization_id.as_deref(),
        &scope,
    )
    .await?
    .map_err(|why| {
        OAuthError::unauthorized_client("the client may not be issued tokens now").with_detail(why)
    })?;
    let now = state.clock.now();
    let grant = AccessGrant {
        subject: &client.client_id,
        client_id: &client.client_id,
        scope: &scope,
        audience: target.audience,
        family_id: None,
        auth_time: None,
        authz: &authz,
        api_key_id: None,
        lifetime: None,
    };
    let (access_token, jti) = token_minting::access_token_with_jti(state, &grant, now)
        .map_err(crate::error::AppError::from)?;
    audit::record(
        state,
        AuditEvent::new(Kind::TokenIssued)
            .grant_type("client_credentials")
            .client(&client.client_id)
            .target(Target::Jti(jti)),
    );
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.settings.access_token_ttl,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
        issued_token_type: None,
    })
}
