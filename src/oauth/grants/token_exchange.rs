//! `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) for one kind of
//! subject token: an API key (`subject_token_type=urn:tessera:params:oauth:token-type:api_key`),
//! exchanged for a short-lived JWT access token of the key's user or client.
//!
//! Who may exchange: an authenticated confidential client registered with this grant type
//! (`--grant-type urn:ietf:params:oauth:grant-type:token-exchange`), typically the API
//! gateway or resource server a script presents its key to. The token it gets names the key's
//! owner as `sub` and itself as `client_id`; its scope is the key's, or the narrower `scope`
//! asked for (never wider: `invalid_scope`); it lives `TESSERA_ACCESS_TOKEN_TTL` at most and
//! never past the key's expiry, and it stops being active when the key is revoked. A key of
//! an organization gives a token that speaks for it (`org_id`, and with the `roles` scope
//! the roles held there only, `apikeys::authz_of`); a client restricted to an organization
//! may exchange only that organization's keys (`apikeys::may_introspect`).
use super::target;
use crate::apikeys;
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::oauth::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oauth::params::Params;
use crate::oauth::token_minting::{self, AccessGrant, TokenResponse};
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::types::{AuthMethod, Scopes};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of an API key (ours: RFC 8693 §3 lets a server define URIs).
pub const API_KEY_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:api_key";
/// RFC 8693 §3: what is issued.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

pub async fn handle(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> OAuthResult<TokenResponse> {
    if client.public || client.auth_method == AuthMethod::None || !client.allows_grant(GRANT_TYPE) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the token-exchange grant",
        ));
    }
    // RFC 8693 §2.1: delegation needs an actor token; we do impersonation only.
    if params.contains("actor_token") || params.contains("actor_token_type") {
        return Err(OAuthError::invalid_request("actor_token is not supported"));
    }
    if params.require("subject_token_type")? != API_KEY_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(
            "subject_token_type must be urn:tessera:params:oauth:token-type:api_key",
        ));
    }
    if let Some(requested) = params.get("requested_token_type") {
        if requested != ACCESS_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(
                "requested_token_type must be urn:ietf:params:oauth:token-type:access_token",
            ));
        }
    }
    // Checked before the key, so that a refused request says why without a database read.
    let resource = match (params.get("resource"), params.get("audience")) {
        (Some(r), Some(a)) if r != a => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "resource and audience name different targets",
            ))
        }
        (r, a) => r.or(a),
    };
    let target = target(state, resource).await?;
    let requested = params.get("scope").map(Scopes::parse).transpose()?;
    // RFC 8693 §2.2.2: an unacceptable subject token is `invalid_request`.
    let key = match apikeys::check(state, params.require("subject_token")?).await? {
        // A client restricted to one organization exchanges only that organization's keys.
        Some(key) if apikeys::may_introspect(client.organization_id.as_deref(), &key) => key,
        _ => {
            return Err(OAuthError::invalid_request(
                "the subject token is not a live API key",
            ))
        }
    };
    let allowed = Scopes::from_stored(&key.scope);
    let scope = match requested {
        Some(requested) if !requested.is_subset(&allowed) => {
            return Err(OAuthError::invalid_scope(
                "the requested scope exceeds the API key's",
            ))
        }
        Some(requested) => requested,
        None => allowed,
    };
    let scope = target.scope(&scope);
    let now = state.clock.now();
    let lifetime = key
        .expires_at
        .map_or(state.settings.access_token_ttl, |exp| {
            (exp - now).min(state.settings.access_token_ttl)
        });
    // The key's organization (its roles there only) when the roles scope is exchanged.
    let Some(authz) = apikeys::authz_of(state, &key, &scope).await? else {
        return Err(OAuthError::invalid_request(
            "the subject token is not a live API key",
        ));
    };
    let subject = key
        .user_id
        .as_deref()
        .or(key.client_id.as_deref())
        .unwrap_or_default();
    let grant = AccessGrant {
        subject,
        client_id: &client.client_id,
        scope: &scope,
        audience: target.audience.clone(),
        family_id: None,
        auth_time: None,
        api_key_id: Some(&key.id),
        lifetime: Some(lifetime),
        authz: &authz,
    };
    let (access_token, jti) = token_minting::access_token_with_jti(state, &grant, now)
        .map_err(crate::error::AppError::from)?;
    audit::record(
        state,
        apikeys::audit_event(Kind::ApiKeyExchanged, &key).client(&client.client_id),
    );
    let mut issued = AuditEvent::new(Kind::TokenIssued)
        .grant_type(GRANT_TYPE)
        .client(&client.client_id)
        .target(Target::Jti(jti));
    if let Some(user) = &key.user_id {
        issued = issued.user(user);
    }
    audit::record(state, issued);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
    })
}
